import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readStoredEvents } from '../support/storedData.js'
import { freePort, makeTempDir, runTacit, startServerProcess } from '../support/tacitProcess.js'

describe('tacit serve, as a new user meets it', () => {
  const dir = makeTempDir()
  afterAll(() => dir.remove())

  it('creates the demo app on first start and prints a curl that stores an event when pasted as printed', async () => {
    const server = await startServerProcess({ dataDir: dir.path })
    try {
      const output = server.output()
      expect(output).toContain('created the app "demo"')
      const curl = /^\s*(curl .*)$/m.exec(output)?.[1]
      expect(curl).toBeDefined()
      // Replay exactly what the printed command sends: curl -X POST '<url>' -H '<header>' --data-binary '<body>'.
      const quoted = [...curl!.matchAll(/'([^']*)'/g)].map((match) => match[1]!)
      expect(curl).toMatch(/^curl -X POST '[^']+' -H '[^']+' --data-binary '[^']+'$/)
      const [url, header, body] = quoted as [string, string, string]
      const [name, value] = header.split(/:\s*/) as [string, string]
      const response = await fetch(url, { method: 'POST', headers: { [name]: value, 'user-agent': 'curl/8.5.0' }, body })
      expect(response.status).toBe(202)
      expect(await response.json()).toEqual({ accepted: 1, dropped: {} })
      expect(readStoredEvents(dir.path)).toHaveLength(1)
    } finally {
      await server.stop()
    }
    const again = await startServerProcess({ dataDir: dir.path })
    await again.stop()
    expect(again.output()).not.toContain('created the app')
  })

  it('reads its port, host and data directory from flags or TACIT_* variables', async () => {
    const other = makeTempDir()
    const port = await freePort()
    try {
      const server = await startServerProcess({
        dataDir: other.path,
        configFromEnv: true,
        env: { TACIT_PORT: String(port), TACIT_HOST: '127.0.0.1', TACIT_DATA_DIR: other.path },
      })
      expect(server.port).toBe(port)
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
      await server.stop()
      expect(existsSync(join(other.path, 'tacit.db'))).toBe(true)
    } finally {
      other.remove()
    }
  })

  it('says in one sentence what is wrong with its configuration, without a stack trace', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['serve', '--port', 'eighty'], {}, /port "eighty" is not a number/],
      [['serve'], { TACIT_PORT: '70000' }, /port "70000"/],
      [['serve', '--sync', 'sometimes'], {}, /sync mode "sometimes"/],
      [['serve', '--log-level', 'loud'], {}, /log level "loud"/],
      [['serve'], { TACIT_TRUSTED_PROXIES: '10.0.0.0/8,everyone' }, /trusted proxy "everyone" is not an IP address/],
      [['serve', '--trusted-proxies', '10.0.0.0/33'], {}, /trusted proxy "10.0.0.0\/33"/],
      [['serve', '--forwarded-header', 'x-real-ip'], {}, /forwarded header "x-real-ip" is not x-forwarded-for or forwarded/],
      [['serve', '--colour'], {}, /Unknown option '--colour'/],
      [['serf'], {}, /unknown command "serf"/],
      // Several nodes need both shared parts, or visitors' sessions would split between nodes.
      [['serve'], { TACIT_CLUSTER: '1', TACIT_DATABASE_URL: 'postgres://tacit:pw@127.0.0.1:1/tacit' }, /TACIT_CLUSTER=1 needs TACIT_REDIS_URL/],
      [['serve'], { TACIT_CLUSTER: '1', TACIT_REDIS_URL: 'redis://127.0.0.1:1' }, /TACIT_CLUSTER=1 needs TACIT_DATABASE_URL/],
      [['serve'], { TACIT_DATABASE_URL: 'mysql://root@db/tacit' }, /TACIT_DATABASE_URL must start with postgres:\/\//],
      // A database that cannot be reached: which one (never its password), and why.
      [['serve'], { TACIT_DATABASE_URL: 'postgres://tacit:s3cret@127.0.0.1:1/tacit' }, /Cannot open the PostgreSQL database postgres:\/\/127\.0\.0\.1:1\/tacit: .*ECONNREFUSED/],
    ]
    for (const [args, env, message] of cases) {
      const result = await runTacit(args, { dataDir: dir.path, env })
      expect(result.code, args.join(' ')).toBe(1)
      expect(result.stderr).toMatch(message)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(result.stderr).not.toMatch(/\n\s+at /)
      expect(result.stderr).not.toContain('s3cret')
    }
  })

  it('refuses a port already in use with one sentence', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const result = await runTacit(['serve', '--port', String(port), '--log-level', 'silent'], { dataDir: dir.path })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/port is already in use/)
      expect(result.stderr).not.toMatch(/\n\s+at /)
    } finally {
      blocker.close()
    }
  })
})

import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../../../server/test/support/tacitProcess.js'
import { runNode, type NodeRun } from '../support/runNode.js'

/**
 * @tacit/node in real child processes against a real Tacit server (the built CLI, on a temp data dir), read
 * back with `tacit export` and `tacit stats` as an operator would. Fixtures load the built dist through the
 * package's own name (Node resolves a package's self-reference through its `exports` map), and the consumer
 * tests from a separate project that has the package in node_modules.
 */

const PACKAGE = resolve(import.meta.dirname, '../..')
const FIXTURES = join(PACKAGE, 'test/fixtures')
const ROOT = resolve(PACKAGE, '../..')
// Planted in every child's environment and argv: none of it may reach the server.
const PLANTED_ENV = `planted-env-${randomUUID()}`
const PLANTED_ARG = `--planted-arg-${randomUUID()}`

interface Stored {
  type: string
  error: { message: string; type?: string; stack?: string; handled?: boolean; source?: string }
  context?: { case?: string; consumer?: string }
  [field: string]: unknown
}

describe('@tacit/node in real processes', () => {
  let dir: ReturnType<typeof makeTempDir>
  let server: ServerProcess
  let token: string
  let originsToken: string
  let closedPort: number
  let blackhole: Server
  const sockets = new Set<Socket>()

  beforeAll(async () => {
    execFileSync(process.execPath, [join(PACKAGE, 'scripts/build.mjs')], { stdio: 'pipe' })
    dir = makeTempDir('tacit-node-sdk-')
    const app = await runTacit(['app', 'create', 'node-sdk', '--json'], { dataDir: dir.path })
    token = (JSON.parse(app.stdout) as { token: string }).token
    const restricted = await runTacit(['app', 'create', 'node-sdk-origins', '--origin', 'https://api.example', '--json'], { dataDir: dir.path })
    originsToken = (JSON.parse(restricted.stdout) as { token: string }).token
    server = await startServerProcess({ dataDir: dir.path })
    // A port nothing listens on (connection refused), and a server that accepts connections and never answers.
    const probe = createServer()
    closedPort = await listen(probe)
    await new Promise((done) => probe.close(done))
    blackhole = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => undefined)
    })
    await listen(blackhole)
  })

  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    blackhole?.close()
    await server?.stop()
    dir?.remove()
  })

  let runs = 0
  /** Runs a fixture; its events carry `context.case === id`. */
  async function run(
    fixture: string,
    options: { endpoint?: string; token?: string; env?: Record<string, string>; nodeArgs?: string[]; noSdk?: boolean; cwd?: string } = {},
  ): Promise<NodeRun & { id: string }> {
    const id = `case-${++runs}-${randomUUID()}`
    const result = await runNode([...(options.nodeArgs ?? []), join(options.cwd ?? FIXTURES, fixture), PLANTED_ARG], {
      cwd: options.cwd,
      env: {
        TACIT_TEST_TOKEN: options.token ?? token,
        TACIT_TEST_ENDPOINT: options.endpoint ?? server.url,
        TACIT_TEST_CASE: id,
        TACIT_TEST_PLANTED: PLANTED_ENV,
        ...(options.noSdk ? { TACIT_TEST_NO_SDK: '1' } : {}),
        ...options.env,
      },
    })
    return { ...result, id }
  }

  async function exported(app = 'node-sdk'): Promise<Stored[]> {
    const result = await runTacit(['export', app], { dataDir: dir.path })
    expect(result.code).toBe(0)
    return result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Stored)
  }

  async function storedFor(id: string, app?: string): Promise<Stored[]> {
    return (await exported(app)).filter((event) => event.context?.case === id)
  }

  /** How a process ended, as its user sees it (warnings name the PID, which differs between runs). */
  const ending = (result: NodeRun) => ({
    code: result.code,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr.replace(/\(node:\d+\)/g, '(node:PID)'),
  })

  const summary = (event: Stored) => [event.error.message, event.error.type, event.error.handled, event.error.source]

  describe('ends every process exactly as it would have ended without the SDK, and the errors arrive', () => {
    const cases: Array<{ name: string; fixture: string; nodeArgs?: string[]; code: number; events: unknown[][] }> = [
      {
        name: 'an uncaught exception (exit code 1, the error on stderr), with an error reported just before it',
        fixture: 'uncaught.mjs',
        code: 1,
        events: [
          ['queued before the crash', 'Error', true, 'custom'],
          ['card processor unavailable', 'TypeError', false, 'source'],
        ],
      },
      {
        name: 'an unhandled rejection (raised as an uncaught exception by default)',
        fixture: 'rejection.mjs',
        code: 1,
        events: [['inventory service refused the connection', 'Error', false, 'source']],
      },
      {
        name: 'an unhandled rejection under --unhandled-rejections=warn (a warning, no crash)',
        fixture: 'rejection.mjs',
        nodeArgs: ['--unhandled-rejections=warn'],
        code: 0,
        events: [['inventory service refused the connection', 'Error', false, 'source']],
      },
      {
        name: 'an unhandled rejection with a value that is not an Error',
        fixture: 'rejectionValue.mjs',
        code: 1,
        events: [['Unhandled promise rejection: quota exceeded for tenant', undefined, false, 'source']],
      },
      {
        name: 'the same under --unhandled-rejections=warn',
        fixture: 'rejectionValue.mjs',
        nodeArgs: ['--unhandled-rejections=warn'],
        code: 0,
        events: [['Unhandled promise rejection: quota exceeded for tenant', undefined, false, 'source']],
      },
      {
        name: 'an unhandled rejection the application listens for (no crash, reported once)',
        fixture: 'rejectionWithListener.mjs',
        code: 0,
        events: [['rejected while the app listens', 'Error', false, 'source']],
      },
      {
        name: 'an uncaught exception the application handles itself (it keeps running)',
        fixture: 'ownHandler.mjs',
        code: 0,
        events: [['thrown into an app that handles it', 'Error', false, 'source']],
      },
      {
        name: 'process.exit(3) right after a capture',
        fixture: 'exitCall.mjs',
        code: 3,
        events: [['reported just before process.exit', 'Error', true, 'custom']],
      },
      {
        name: 'a natural end with an event queued for a minute (the SDK does not keep the process alive)',
        fixture: 'idle.mjs',
        code: 0,
        events: [['queued when the work ran out', 'Error', true, 'custom']],
      },
    ]

    for (const c of cases) {
      it(c.name, async () => {
        const without = await run(c.fixture, { nodeArgs: c.nodeArgs, noSdk: true })
        const withSdk = await run(c.fixture, { nodeArgs: c.nodeArgs })
        expect(withSdk.code).toBe(c.code)
        expect(ending(withSdk)).toEqual(ending(without))
        // Within a few seconds: the idle fixture's batch interval is a minute, the shutdown budget 2 s.
        expect(withSdk.ms).toBeLessThan(5000)
        const events = await storedFor(withSdk.id)
        expect(events.map(summary)).toEqual(c.events)
        for (const event of events) {
          expect(event).toMatchObject({ type: 'error', service: 'checkout-api', env: 'test', release: '1.0.0' })
          // A rejected value that is not an Error has no stack of its own.
          if (event.error.type) expect(event.error.stack).toContain(`fixtures/${c.fixture}`)
          else expect(event.error.stack).toBeUndefined()
        }
        expect(await storedFor(without.id)).toEqual([])
      })
    }

    it('prints an uncaught error the way Node does: its source line, then the stack', async () => {
      const result = await run('uncaught.mjs')
      expect(result.stderr).toMatch(/uncaught\.mjs:7\n {2}throw new TypeError\('card processor unavailable'\)\n {2}\^\n\nTypeError: card processor unavailable\n {4}at Timeout\.chargeCard/)
      expect(result.stderr).toContain(`Node.js ${process.version}`)
    })
  })

  describe('with the server down', () => {
    it('a crash still ends at once as Node ends it, when nothing listens on the port', async () => {
      const endpoint = `http://127.0.0.1:${closedPort}`
      const without = await run('uncaught.mjs', { endpoint, noSdk: true })
      const result = await run('uncaught.mjs', { endpoint })
      expect(ending(result)).toEqual(ending(without))
      expect(result.ms).toBeLessThan(3000)
    })

    it('a natural end and an explicit flush do not wait on a refused connection', async () => {
      const endpoint = `http://127.0.0.1:${closedPort}`
      const idle = await run('idle.mjs', { endpoint })
      expect([idle.code, idle.stderr]).toEqual([0, ''])
      expect(idle.ms).toBeLessThan(3000)
      const flushed = await run('handled.mjs', { endpoint, env: { TACIT_TEST_FLUSH_MS: '1000' } })
      expect([flushed.code, flushed.stdout.trim(), flushed.stderr]).toEqual([0, '{"flushed":false}', ''])
      // flush(1000), then one attempt as the loop runs dry, refused at once.
      expect(flushed.ms).toBeLessThan(3500)
    })

    it('a server that accepts connections and never answers holds the process no longer than the timeouts', async () => {
      const endpoint = `http://127.0.0.1:${(blackhole.address() as { port: number }).port}`
      const env = { TACIT_TEST_SHUTDOWN_MS: '1000', TACIT_TEST_FLUSH_MS: '1000' }
      const crash = await run('uncaught.mjs', { endpoint, env })
      expect(ending(crash)).toEqual(ending(await run('uncaught.mjs', { endpoint, env, noSdk: true })))
      expect(crash.ms).toBeGreaterThanOrEqual(1000)
      expect(crash.ms).toBeLessThan(4000)
      const idle = await run('idle.mjs', { endpoint, env })
      expect([idle.code, idle.stderr]).toEqual([0, ''])
      expect(idle.ms).toBeLessThan(4000)
      // flush(1000) gives up; the attempt as the loop runs dry gives up after shutdownTimeoutMs.
      const flushed = await run('handled.mjs', { endpoint, env })
      expect([flushed.code, flushed.stdout.trim()]).toEqual([0, '{"flushed":false}'])
      expect(flushed.ms).toBeLessThan(5000)
    })
  })

  describe('Origin', () => {
    it('is sent when configured, so apps that restrict origins accept the events', async () => {
      const allowed = await run('handled.mjs', { token: originsToken, env: { TACIT_TEST_ORIGIN: 'https://api.example' } })
      expect([allowed.code, allowed.stdout.trim()]).toEqual([0, '{"flushed":true}'])
      expect(await storedFor(allowed.id, 'node-sdk-origins')).toHaveLength(2)
      // The proof that the header is really sent: an origin the app does not list is refused (403).
      const refused = await run('handled.mjs', { token: originsToken, env: { TACIT_TEST_ORIGIN: 'https://elsewhere.example' } })
      expect(refused.code).toBe(0)
      expect(await storedFor(refused.id, 'node-sdk-origins')).toEqual([])
    })
  })

  describe('consumers of the built package', () => {
    let project: ReturnType<typeof makeTempDir>

    beforeAll(() => {
      project = makeTempDir('tacit-node-consumer-')
      writeFileSync(join(project.path, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
      mkdirSync(join(project.path, 'node_modules/@tacit'), { recursive: true })
      symlinkSync(PACKAGE, join(project.path, 'node_modules/@tacit/node'), 'dir')
      for (const file of ['handled.cjs', 'handled.mjs']) cpSync(join(FIXTURES, file), join(project.path, file))
    })
    afterAll(() => project?.remove())

    for (const [file, consumer] of [['handled.cjs', 'cjs'], ['handled.mjs', 'esm']] as const) {
      it(`works for a ${consumer === 'cjs' ? 'CommonJS consumer (require)' : 'ESM consumer (import)'}`, async () => {
        const result = await run(file, { cwd: project.path })
        expect([result.code, result.stdout.trim(), result.stderr]).toEqual([0, '{"flushed":true}', ''])
        const events = await storedFor(result.id)
        expect(events.map(summary)).toEqual([
          ['quantity out of range', 'RangeError', true, 'custom'],
          ['inventory sync finished with warnings', undefined, true, 'logger'],
        ])
        expect(events.every((event) => event.context?.consumer === consumer)).toBe(true)
      })
    }

    it('gives require and import the same API, and types to both under nodenext', async () => {
      const same = await runNode(
        ['-e', "const c = require('@tacit/node'); import('@tacit/node').then((m) => console.log(JSON.stringify([Object.keys(c).sort(), Object.keys(m).sort()])))"],
        { cwd: project.path },
      )
      const [cjs, esm] = JSON.parse(same.stdout) as [string[], string[]]
      expect(cjs).toEqual(['captureException', 'captureMessage', 'close', 'flush', 'init'])
      expect(esm).toEqual(cjs)

      const source = (kind: string) => `
        ${kind === 'cts' ? "import tacit = require('@tacit/node')" : "import * as tacit from '@tacit/node'"}
        const client: tacit.TacitNodeClient = tacit.init({ token: 'tc_x', endpoint: 'https://tacit.example', beforeSend: (event: tacit.TacitErrorEvent) => (event.error.handled ? event : null) })
        client.captureException(new Error('x'), { order: 1 })
        const done: Promise<boolean> = client.flush(1000)
        void done
        // @ts-expect-error: options are typed
        tacit.init({ token: 'tc_x', endpoint: 'https://tacit.example', captureUncaught: 'yes' })
      `
      writeFileSync(join(project.path, 'consumer.cts'), source('cts'))
      writeFileSync(join(project.path, 'consumer.mts'), source('mts'))
      writeFileSync(
        join(project.path, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: [], skipLibCheck: false }, files: ['consumer.cts', 'consumer.mts'] }),
      )
      const tsc = await runNode([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project.path], { cwd: project.path })
      expect(tsc.stdout + tsc.stderr).toBe('')
      expect(tsc.code).toBe(0)
    })
  })

  describe('what the server stores', () => {
    it('passes the bot filter: nothing of the suite was dropped', async () => {
      const stats = await runTacit(['stats', 'node-sdk', '--days', '2', '--json'], { dataDir: dir.path })
      const days = (JSON.parse(stats.stdout) as { days: Array<{ accepted: Record<string, number>; dropped: Record<string, number>; dropped_total: number }> }).days
      expect(days.reduce((sum, day) => sum + day.dropped_total, 0)).toBe(0)
      expect(days.flatMap((day) => Object.keys(day.dropped))).toEqual([])
      const accepted = days.reduce((sum, day) => sum + (day.accepted.error ?? 0), 0)
      expect(accepted).toBe((await exported()).length)
      expect(accepted).toBeGreaterThanOrEqual(10)
    })

    it('carries nothing about the host beyond what the application sends: no hostname, environment or argv', async () => {
      const events = [...(await exported()), ...(await exported('node-sdk-origins'))]
      const text = JSON.stringify(events)
      expect(text).not.toContain(PLANTED_ENV)
      expect(text).not.toContain(PLANTED_ARG)
      // A short or generic hostname could appear by chance; a machine's usual one cannot.
      if (hostname().length >= 6) expect(text).not.toContain(hostname())
      const serverOwned = ['received_at', 'device', 'session', 'geo', 'issue']
      for (const event of events) {
        expect(Object.keys(event).filter((key) => !serverOwned.includes(key)).sort()).toEqual(['context', 'env', 'error', 'release', 'service', 'ts', 'type'])
        expect(Object.keys(event.context!).sort()).toEqual(expect.arrayContaining(['case']))
        expect(Object.keys(event.context!).every((key) => ['case', 'consumer'].includes(key))).toBe(true)
      }
    })
  })
})

function listen(server: Server): Promise<number> {
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done((server.address() as { port: number }).port)))
}

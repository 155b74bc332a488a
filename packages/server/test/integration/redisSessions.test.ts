import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { startRedisServer } from '../support/startTestRedis.js'
import { freePort, ingest, makeTempDir, runTacit, startServerProcess } from '../support/tacitProcess.js'

/**
 * `tacit serve` with TACIT_REDIS_URL (issue 7): visitor sessions live in Redis, so a restarted node (or another
 * one) keeps giving a visitor the same session; a Redis that writes to disk, or none at all, stops the start with
 * the reason; a Redis that goes away (it holds the rate limits too) answers ingest with 503 and Retry-After, storing nothing. The shared test
 * Redis serves the first case; the others start a redis-server of their own (writing to disk, going away).
 */
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const view = (id: string) => JSON.stringify({ type: 'view', view: { id, url: 'https://shop.example/' } })

async function sessionsOf(dataDir: string): Promise<string[]> {
  const exported = await runTacit(['export', 'demo'], { dataDir })
  return [...new Set(exported.stdout.trim().split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { session?: { id: string } }).session?.id))].filter(
    (id): id is string => id !== undefined,
  )
}

describe('tacit serve with TACIT_REDIS_URL', () => {
  const redisUrl = inject('redisUrl')
  const dirs: Array<{ remove(): void }> = []
  afterAll(async () => {
    for (const dir of dirs) dir.remove()
    // The server uses the default key prefix: leave the shared test Redis as it was.
    const redis = new Redis(redisUrl)
    const keys = [...(await redis.keys('tacit:sessions:*')), ...(await redis.keys('tacit:limits:*'))]
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })

  it('keeps a visitor in one session across a restart, with nothing of the session keys in the database', async () => {
    const dir = makeTempDir('tacit-redis-sessions-')
    dirs.push(dir)
    const env = { TACIT_REDIS_URL: redisUrl }
    let server = await startServerProcess({ dataDir: dir.path, env })
    const token = server.demoToken!
    expect((await ingest(server.url, token, view('before'), { 'content-type': 'text/plain', 'user-agent': CHROME })).status).toBe(202)
    expect(await server.stop()).toBe(0)
    server = await startServerProcess({ dataDir: dir.path, env })
    expect((await ingest(server.url, token, view('after'), { 'content-type': 'text/plain', 'user-agent': CHROME })).status).toBe(202)
    expect(await server.stop()).toBe(0)
    // The in-process store would have started a second session after the restart.
    expect(await sessionsOf(dir.path)).toHaveLength(1)
    // The salt and the visitor key are in Redis, and nothing of them in SQLite.
    const redis = new Redis(redisUrl)
    try {
      expect((await redis.keys('tacit:sessions:entry:*')).length).toBe(1)
      const [salt] = await redis.keys('tacit:sessions:salt:*')
      const saltBytes = (await redis.getBuffer(salt!))!
      const { readFileSync, readdirSync } = await import('node:fs')
      for (const file of readdirSync(dir.path)) expect(readFileSync(join(dir.path, file)).includes(saltBytes)).toBe(false)
    } finally {
      await redis.quit()
    }
  })

  it('refuses to start on a Redis that writes to disk, on an unreachable one and on a bad URL, saying why', async () => {
    const dir = makeTempDir('tacit-redis-refused-')
    dirs.push(dir)
    const port = await freePort()
    const persistent = await startRedisServer(port, ['--save', '60 1', '--appendonly', 'no'])
    try {
      await expect(startServerProcess({ dataDir: dir.path, env: { TACIT_REDIS_URL: `redis://127.0.0.1:${port}` } })).rejects.toThrow(/writes to disk \(save "60 1"/)
    } finally {
      await persistent.stop()
    }
    await expect(startServerProcess({ dataDir: dir.path, env: { TACIT_REDIS_URL: `redis://127.0.0.1:${port}` } })).rejects.toThrow(/TACIT_REDIS_URL: .*ECONNREFUSED/)
    await expect(startServerProcess({ dataDir: dir.path, env: { TACIT_REDIS_URL: 'http://127.0.0.1:6379' } })).rejects.toThrow(/must start with redis:\/\/ or rediss:\/\//)
  })

  it('answers ingest with 503 and Retry-After while Redis is away, stores nothing, and recovers when it is back', async () => {
    const dir = makeTempDir('tacit-redis-away-')
    dirs.push(dir)
    const port = await freePort()
    let redis = await startRedisServer(port, ['--save', '', '--appendonly', 'no'])
    const server = await startServerProcess({ dataDir: dir.path, env: { TACIT_REDIS_URL: `redis://127.0.0.1:${port}` } })
    try {
      const send = (id: string) => ingest(server.url, server.demoToken, view(id), { 'content-type': 'text/plain', 'user-agent': CHROME })
      expect((await send('up')).status).toBe(202)
      await redis.stop()
      const away = await send('away')
      expect(away.status).toBe(503)
      expect(away.headers.get('retry-after')).toBe('5')
      expect(away.body).toMatchObject({ error: 'unavailable' })
      // Logged by message only: nothing of the visitor (address, User-Agent) or their key reaches the log.
      // (The log is written asynchronously: wait for the line.)
      // The rate limits, also in Redis, are checked first.
      await expect.poll(() => server.output(), { timeout: 5000 }).toContain('the rate limits could not be checked')
      expect(server.output()).not.toContain(CHROME)
      expect(server.output()).not.toMatch(/tacit:sessions:(entry|salt)|tacit:limits:(ip|secret)/)
      redis = await startRedisServer(port, ['--save', '', '--appendonly', 'no'])
      await expect.poll(async () => (await send('back')).status, { timeout: 15_000, interval: 250 }).toBe(202)
    } finally {
      await server.stop()
      await redis.stop()
    }
    const exported = await runTacit(['export', 'demo'], { dataDir: dir.path })
    expect(exported.stdout).not.toContain('"away"')
    expect(exported.stdout).toContain('"up"')
  })
})

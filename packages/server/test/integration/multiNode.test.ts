import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresStore, postgresTool } from '../../src/store/postgres/createPostgresStore.js'
import { startRedisServer } from '../support/startTestRedis.js'
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/roundRobinProxy.js'
import { freePort, makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'
import { createTempPostgresDatabase, type TempPostgresDatabase } from '../support/tempPostgresDatabase.js'

/**
 * Issue 7's multi-node test: two `tacit serve` processes on one PostgreSQL database and one Redis
 * (TACIT_CLUSTER=1), behind a round-robin proxy, get the browser SDK's traffic shape from many visitors. One
 * visitor is one session whichever node their requests reach; the counts equal a single node's on SQLite for
 * the same traffic; retention and purge run once for the cluster; and a node killed mid-load loses no event
 * it (or its peer) acknowledged.
 */
const VISITORS = 12
const ROUNDS = 4
const DAY_MS = 86_400_000

interface Visitor {
  ip: string
  userAgent: string
}
const visitors: Visitor[] = Array.from({ length: VISITORS }, (_, v) => ({
  ip: `198.51.100.${v + 10}`,
  // Different browsers and versions: the session key is the address and the User-Agent together.
  userAgent: `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + (v % 7)}.0.0.0 Safari/537.36`,
}))

/**
 * What the browser SDK sends for one page of one visitor: the view (version 1), then in a later request its
 * final version with the actions, a vital and maybe an error of that page.
 */
function pageRequests(v: number, round: number): string[] {
  const view = { id: `v${v}-r${round}`, url: `https://shop.example/${round % 2 ? 'cart' : 'products'}?visitor=${v}`, referrer: 'https://search.example/' }
  const first = [{ type: 'view', view: { ...view, version: 1 } }]
  const last: object[] = [
    { type: 'view', view: { ...view, version: 2, time_spent: 1500 + v * 10 } },
    { type: 'action', action: { type: 'click', name: `buy-${v}-${round}` }, view },
    { type: 'action', action: { type: 'click', name: `more-${v}-${round}` }, view },
    { type: 'vital', vital: { name: 'LCP', value: 900 + 37 * v + round }, view },
  ]
  if ((v + round) % 3 === 0) last.push({ type: 'error', error: { type: 'TypeError', message: `checkout failed at step ${round % 2}` }, view })
  return [first, last].map((events) => events.map((event) => JSON.stringify(event)).join('\n'))
}

async function send(url: string, token: string, body: string, visitor: Visitor, attempts = 20): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    let status = 0
    try {
      const response = await fetch(`${url}/api/v1/ingest?token=${token}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain', 'user-agent': visitor.userAgent, 'x-test-client': visitor.ip, 'x-forwarded-for': visitor.ip },
      })
      await response.arrayBuffer()
      status = response.status
    } catch {
      status = 0
    }
    // As the SDK: a 202 is final, anything else is retried a bounded number of times.
    if (status === 202 || attempt >= attempts) return status
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Every visitor's pages, visitors in parallel, each visitor's requests in order (as one browser tab sends them). */
async function driveTraffic(url: string, token: string): Promise<void> {
  await Promise.all(
    visitors.map(async (visitor, v) => {
      for (let round = 0; round < ROUNDS; round++) {
        for (const body of pageRequests(v, round)) expect(await send(url, token, body, visitor)).toBe(202)
      }
    }),
  )
}

interface Exported {
  type: string
  session?: { id: string }
  view?: { id: string; version?: number }
  action?: { name: string }
  custom?: { name: string }
}

async function exportAll(env: Record<string, string>, dataDir?: string, extra: string[] = []): Promise<Exported[]> {
  const result = await runTacit(['export', 'demo', ...extra], { env, dataDir })
  expect(result.stderr).toBe('')
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Exported)
}

/** Counts that do not depend on which random session ids were drawn. */
function summarize(events: Exported[]) {
  const byType: Record<string, number> = {}
  const sessionsOfVisitor = new Map<number, Set<string>>()
  for (const event of events) {
    byType[event.type] = (byType[event.type] ?? 0) + 1
    const visitor = /^v(\d+)-/.exec(event.view?.id ?? '')?.[1]
    if (visitor !== undefined && event.session) {
      const sessions = sessionsOfVisitor.get(Number(visitor)) ?? new Set()
      sessions.add(event.session.id)
      sessionsOfVisitor.set(Number(visitor), sessions)
    }
  }
  const sessions = new Set(events.flatMap((event) => (event.session ? [event.session.id] : [])))
  return {
    byType,
    sessions: sessions.size,
    sessionsPerVisitor: [...sessionsOfVisitor.values()].map((set) => set.size),
    viewVersions: events.filter((event) => event.type === 'view').map((event) => event.view?.version),
  }
}

async function issueSummary(env: Record<string, string>, dataDir?: string) {
  const result = await runTacit(['issues', 'demo', '--json'], { env, dataDir })
  expect(result.code).toBe(0)
  const issues = JSON.parse(result.stdout) as Array<{ title: string; count: number; sessions: number }>
  // Grouping ignores the step number, and an issue's title is its first event's: whichever visitor came first.
  return issues.map(({ title, count, sessions }) => ({ title: title.replace(/\d+$/, 'N'), count, sessions })).sort((a, b) => a.title.localeCompare(b.title))
}

describe('two tacit nodes on PostgreSQL and Redis behind a round-robin proxy', () => {
  let database: TempPostgresDatabase
  let redis: Awaited<ReturnType<typeof startRedisServer>>
  let nodes: ServerProcess[] = []
  let proxy: RoundRobinProxy
  let env: Record<string, string>
  let token: string
  const dirs: Array<{ remove(): void }> = []

  beforeAll(async () => {
    database = await createTempPostgresDatabase()
    redis = await startRedisServer(await freePort(), ['--save', '', '--appendonly', 'no'])
    env = {
      TACIT_DATABASE_URL: database.url,
      TACIT_REDIS_URL: redis.url,
      TACIT_CLUSTER: '1',
      TACIT_TRUSTED_PROXIES: '127.0.0.1',
    }
    // Started at the same moment on an empty database: they race to migrate and to create the demo app.
    nodes = await Promise.all(
      [0, 1].map(() => {
        const dir = makeTempDir('tacit-node-')
        dirs.push(dir)
        return startServerProcess({ dataDir: dir.path, env })
      }),
    )
    const tokens = nodes.map((node) => node.demoToken).filter((t): t is string => t !== undefined)
    expect(tokens).toHaveLength(1)
    token = tokens[0]!
    proxy = await startRoundRobinProxy(
      nodes.map((node) => node.url),
      { clientAddress: (headers) => String(headers['x-test-client'] ?? '127.0.0.1') },
    )
  }, 120_000)

  afterAll(async () => {
    await proxy?.close()
    for (const node of nodes) await node.stop()
    await redis?.stop()
    await database?.drop()
    for (const dir of dirs) dir.remove()
  })

  it('gives each visitor one session across nodes, and stores what one node on SQLite stores for the same traffic', async () => {
    await driveTraffic(proxy.url, token)
    expect(proxy.counts().forwarded.every((n) => n >= (VISITORS * ROUNDS * 2) / 2 - 1)).toBe(true)
    const cluster = summarize(await exportAll(env))
    expect(cluster.sessionsPerVisitor).toEqual(visitors.map(() => 1))
    expect(cluster.sessions).toBe(VISITORS)

    // The same traffic to one node on its embedded SQLite (the default), directly.
    const single = makeTempDir('tacit-single-')
    dirs.push(single)
    const node = await startServerProcess({ dataDir: single.path, args: ['--trusted-proxies', '127.0.0.1'] })
    try {
      await driveTraffic(node.url, node.demoToken!)
    } finally {
      await node.stop()
    }
    const alone = summarize(await exportAll({}, single.path))
    expect(cluster).toEqual(alone)
    expect(cluster.byType).toEqual({ view: VISITORS * ROUNDS, action: 2 * VISITORS * ROUNDS, vital: VISITORS * ROUNDS, error: expect.any(Number) })
    expect(cluster.viewVersions.every((version) => version === 2)).toBe(true)
    expect(await issueSummary(env)).toEqual(await issueSummary({}, single.path))
  })

  it('keeps the salts and visitor keys in Redis only: nothing of them, nor of the visitors, reaches PostgreSQL', async () => {
    const client = new Redis(redis.url)
    let secrets: string[]
    try {
      const salts = await Promise.all((await client.keys('tacit:sessions:salt:*')).map(async (key) => (await client.getBuffer(key))!))
      const limitSecrets = await Promise.all((await client.keys('tacit:limits:secret:*')).map(async (key) => (await client.getBuffer(key))!))
      const visitorKeys = (await client.keys('tacit:sessions:entry:*')).map((key) => key.split(':').at(-1)!)
      expect(salts.length).toBeGreaterThan(0)
      expect(visitorKeys.length).toBe(VISITORS)
      secrets = [...salts, ...limitSecrets].flatMap((bytes) => [bytes.toString('hex'), bytes.toString('base64')]).concat(visitorKeys)
    } finally {
      await client.quit()
    }
    // Every row of every table, as text.
    const { stdout } = await promisify(execFile)(postgresTool('pg_dump'), ['--data-only', '--format=plain', `--dbname=${database.url}`], { maxBuffer: 256 * 1024 * 1024 })
    expect(stdout).toContain('checkout failed') // the dump holds the stored events
    for (const secret of secrets) expect(stdout).not.toContain(secret)
    for (const visitor of visitors) {
      expect(stdout).not.toContain(visitor.ip)
      expect(stdout).not.toContain(visitor.userAgent)
    }
  })

  it('applies retention and a purge once for the whole cluster', async () => {
    // Events some node stored 90 days ago (beyond every default retention), written as a node writes them.
    const store = await openPostgresStore({ url: database.url, poolSize: 2 })
    const now = Date.now()
    try {
      const app = (await store.findAppByName('demo'))!
      const old = Array.from({ length: 30 }, (_, i) => ({ type: 'custom', custom: { name: `old-${i}` }, ts: now - 90 * DAY_MS, received_at: now - 90 * DAY_MS }))
      expect(await store.writeBatches([{ appId: app.id, day: new Date(now - 90 * DAY_MS).toISOString().slice(0, 10), events: old as never, dropped: {} }])).toEqual([
        undefined,
      ])
    } finally {
      await store.close()
    }
    const before = (await exportAll(env)).length
    const report = JSON.parse((await runTacit(['retention', 'run', '--json'], { env })).stdout) as { total: number }
    expect(report.total).toBe(30)
    const after = await exportAll(env)
    expect(after.length).toBe(before - 30)
    expect(after.some((event) => event.custom?.name.startsWith('old-'))).toBe(false)
    // Run again (as the other node's hourly job would): nothing left to delete, nothing counted twice.
    expect(JSON.parse((await runTacit(['retention', 'run', '--json'], { env })).stdout)).toMatchObject({ total: 0 })

    // A backup of the cluster's database is a pg_dump archive, taken while the nodes run.
    const backupDir = makeTempDir('tacit-cluster-backup-')
    dirs.push(backupDir)
    const backup = await runTacit(['backup', join(backupDir.path, 'tacit.dump'), '--json'], { env })
    expect(backup.stderr).toBe('')
    expect((JSON.parse(backup.stdout) as { bytes: number }).bytes).toBeGreaterThan(10_000)
    expect(backup.stdout).not.toContain(database.url)

    const purge = await runTacit(['app', 'purge', 'demo', '--yes', '--json'], { env })
    expect(purge.code).toBe(0)
    expect(await exportAll(env)).toEqual([])
    expect(await exportAll(env, undefined, ['--type', 'session'])).toEqual([])
    expect(await issueSummary(env)).toEqual([])
  })

  it('loses no acknowledged event when a node is killed mid-load', async () => {
    const acknowledged: string[] = []
    let sent = 0
    let stop = false
    const worker = async (w: number) => {
      const visitor = visitors[w % VISITORS]!
      for (let i = 0; !stop; i++) {
        const names = Array.from({ length: 5 }, (_, k) => `k-${w}-${i}-${k}`)
        sent += 1
        const body = names.map((name) => JSON.stringify({ type: 'custom', custom: { name } })).join('\n')
        // One attempt: what counts is that every 202 is kept, whatever the other answers were.
        if ((await send(proxy.url, token, body, visitor, 1)) === 202) acknowledged.push(...names)
      }
    }
    const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)))
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await nodes[1]!.kill()
    await new Promise((resolve) => setTimeout(resolve, 1500))
    stop = true
    await load
    expect(proxy.counts().failed).toBeGreaterThan(0) // the dead node's share failed, so the kill was mid-load
    expect(acknowledged.length).toBeGreaterThan(100)
    const stored = new Set((await exportAll(env, undefined, ['--type', 'custom'])).map((event) => event.custom?.name))
    const lost = acknowledged.filter((name) => !stored.has(name))
    expect(lost).toEqual([])
    expect(sent).toBeGreaterThan(acknowledged.length / 5)
  })
})

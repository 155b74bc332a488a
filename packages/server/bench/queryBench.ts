import Database from 'better-sqlite3'
import Fastify from 'fastify'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { generateSecretKey, hashSecretKey, secretKeyHint } from '../src/keys/secretKey.js'
import { analyticsRoutes } from '../src/http/analyticsRoutes.js'
import { exploreRoutes } from '../src/http/exploreRoutes.js'
import { issueApiRoutes } from '../src/http/issueApiRoutes.js'
import { sessionRoutes } from '../src/http/sessionRoutes.js'
import { cryptoRandom } from '../src/randomSource.js'
import pg from 'pg'
import { openPostgresStore } from '../src/store/postgres/createPostgresStore.js'
import { POSTGRES_MIGRATIONS } from '../src/store/postgres/migrations.js'
import { createSqliteStore } from '../src/store/sqlite/createSqliteStore.js'
import type { IngestBatch, Store } from '../src/store/Store.js'
import { MIGRATIONS } from '../src/store/sqlite/migrations.js'
import { ROLLUP_SHARE } from '../src/analytics/startRollupJob.js'
import { ensurePostgresInstalled, startPostgresServer, type PostgresServer } from '../test/support/startTestPostgres.js'
import { freePort } from '../test/support/tacitProcess.js'
import { GENERATOR_VERSION, generateBatches } from './generateEvents.js'

/**
 * `npm run bench:query` (issue 6, "Speed"): the dashboard's queries over 10 M synthetic events on SQLite, each
 * timed through its HTTP route against the 250 ms budget (DESIGN.md §5). The data (bench/generateEvents.ts, 30 days)
 * is written through the store as ingest writes it, the rollups refreshed, and the database kept under .bench/,
 * keyed by generator version, schema version and size, so later runs only time the queries.
 *
 * `npm run bench:query -- --store postgres` does the same on PostgreSQL (issue 7): a PostgreSQL 15 cluster the
 * benchmark starts itself and keeps under .bench/ with its data, stopped (by PID) at the end.
 *
 * TACIT_BENCH_EVENTS sets the size (default 10 000 000); TACIT_BENCH_RUNS the runs per query (default 7).
 * Prints one `BENCH query {...}` line per query.
 */
const EVENTS = Number(process.env.TACIT_BENCH_EVENTS ?? 10_000_000)
const RUNS = Number(process.env.TACIT_BENCH_RUNS ?? 7)
const BUDGET_MS = 250
const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
/** Fixed, so the cached database matches the queries: the data ends at this hour. */
const END = Date.UTC(2026, 10, 1, 12)

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const STORE = storeFlag(process.argv.slice(2))

/** The database under test: how to open it as a Store, and the two raw statements the benchmark needs. */
interface BenchDatabase {
  /** Where it is kept between runs. */
  dir: string
  open(): Promise<Store>
  longestSessionSince(appId: number, since: number): Promise<string>
  /** Marks hours for rebuilding as ingest would. */
  markHours(appId: number, hours: number[]): Promise<void>
  /** Once the data is written: what a server's background maintenance would have done by the time it is queried. */
  settle(): Promise<void>
  close(): Promise<void>
}

function storeFlag(args: string[]): 'sqlite' | 'postgres' {
  const index = args.indexOf('--store')
  const value = index >= 0 ? args[index + 1] : 'sqlite'
  if (value !== 'sqlite' && value !== 'postgres') throw new Error(`--store ${value ?? ''}: use sqlite or postgres.`)
  return value
}

/** Keyed by the schema too: a database written before a migration changed would not match the code. */
function sqliteDatabase(): BenchDatabase {
  const schema = MIGRATIONS.at(-1)?.version ?? 0
  const dir = join(root, '.bench', `query-v${GENERATOR_VERSION}-s${schema}-${EVENTS}`)
  const path = join(dir, 'tacit.db')
  return {
    dir,
    async open() {
      return createSqliteStore({ path })
    },
    async longestSessionSince(appId, since) {
      const db = new Database(path, { readonly: true })
      try {
        return db
          .prepare('SELECT session_id FROM sessions WHERE app_id = ? AND start_ts >= ? ORDER BY end_ts - start_ts DESC LIMIT 1')
          .pluck()
          .get(appId, since) as string
      } finally {
        db.close()
      }
    },
    async markHours(appId, hours) {
      const db = new Database(path)
      const mark = db.prepare('INSERT INTO rollup_dirty (app_id, hour) VALUES (?, ?) ON CONFLICT (app_id, hour) DO UPDATE SET seq = seq + 1')
      for (const hour of hours) mark.run(appId, hour)
      db.close()
    },
    async settle() {},
    async close() {},
  }
}

/**
 * A PostgreSQL 15 cluster kept under .bench/ (its data directory holds the database), started on a free port
 * for the run. Durable settings as a production server would have them; 1 GB of shared buffers, a quarter of a
 * small database server's memory.
 */
async function postgresDatabase(): Promise<BenchDatabase> {
  const schema = POSTGRES_MIGRATIONS.at(-1)?.version ?? 0
  const dir = join(root, '.bench', `query-pg-v${GENERATOR_VERSION}-s${schema}-${EVENTS}`)
  ensurePostgresInstalled()
  const server: PostgresServer = await startPostgresServer(await freePort(), { shared_buffers: '1GB', max_wal_size: '4GB', work_mem: '32MB' }, dir)
  const admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
  const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = 'tacit_bench'")).rowCount! > 0
  if (!exists) await admin.query('CREATE DATABASE tacit_bench')
  await admin.end()
  const url = server.url.replace(/\/postgres$/, '/tacit_bench')
  const withClient = async <T>(use: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      return await use(client)
    } finally {
      await client.end()
    }
  }
  return {
    dir,
    open: () => openPostgresStore({ url }),
    longestSessionSince: (appId, since) =>
      withClient(async (client) => {
        const { rows } = await client.query('SELECT session_id FROM sessions WHERE app_id = $1 AND start_ts >= $2 ORDER BY end_ts - start_ts DESC LIMIT 1', [appId, since])
        return (rows[0] as { session_id: string }).session_id
      }),
    markHours: (appId, hours) =>
      withClient(async (client) => {
        await client.query(
          'INSERT INTO rollup_dirty (app_id, hour) SELECT $1, unnest($2::bigint[]) ON CONFLICT (app_id, hour) DO UPDATE SET seq = rollup_dirty.seq + 1',
          [appId, hours],
        )
      }),
    // Autovacuum analyzes tables that changed this much within a minute; a benchmark that writes and then queries at
    // once would otherwise meet plans made without statistics.
    settle: () => withClient(async (client) => void (await client.query('ANALYZE'))),
    close: () => server.stop(),
  }
}

function log(text: string): void {
  process.stderr.write(`${text}\n`)
}

async function generate(database: BenchDatabase, marker: string): Promise<void> {
  if (STORE === 'sqlite') {
    rmSync(database.dir, { recursive: true, force: true })
    mkdirSync(database.dir, { recursive: true })
  }
  const store = await database.open()
  const app = await store.createApp({ name: 'bench', createdAt: END - 31 * DAY_MS, settings: {} })
  const started = performance.now()
  let written = 0
  let group: IngestBatch[] = []
  let lastReport = 0
  const flush = async () => {
    const results = await store.writeBatches(group)
    if (results.some((r) => r !== undefined)) throw results.find((r) => r !== undefined)!
    for (const batch of group) written += batch.events.length
    group = []
    if (process.stderr.isTTY && performance.now() - lastReport > 1000) {
      lastReport = performance.now()
      process.stderr.write(`\rwriting events: ${written.toLocaleString('en')} of ${EVENTS.toLocaleString('en')}`)
    }
  }
  for (const batch of generateBatches({ appId: app.id, seed: 42, events: EVENTS, end: END, days: 30 })) {
    group.push(batch)
    if (group.length >= 100) await flush()
  }
  await flush()
  const writeSeconds = (performance.now() - started) / 1000
  log(`\nwrote ${written.toLocaleString('en')} events in ${writeSeconds.toFixed(0)} s`)
  const rollupStarted = performance.now()
  // Long after the data, so every day's rows are built as they would be in a running server.
  const { hours } = await store.analytics.refreshRollups({ now: END + 2 * DAY_MS })
  const rollupSeconds = (performance.now() - rollupStarted) / 1000
  log(`rolled up ${hours} hours in ${rollupSeconds.toFixed(0)} s`)
  await store.close()
  await database.settle()
  writeFileSync(marker, JSON.stringify({ events: written, appId: app.id, writeSeconds, rollupSeconds, hours }))
}

async function main(): Promise<void> {
  const database = STORE === 'postgres' ? await postgresDatabase() : sqliteDatabase()
  try {
    await benchmark(database)
  } finally {
    await database.close()
  }
}

async function benchmark(database: BenchDatabase): Promise<void> {
  const marker = join(database.dir, 'complete.json')
  if (!existsSync(marker)) {
    // A PostgreSQL database left half-written by an interrupted run is refused rather than added to.
    if (STORE === 'postgres') {
      const store = await database.open()
      const apps = await store.listApps()
      await store.close()
      if (apps.length > 0) throw new Error(`${database.dir} holds an incomplete database from an interrupted run: remove the directory and run again.`)
    }
    log(`generating ${EVENTS.toLocaleString('en')} events on ${STORE} into ${database.dir} (kept for later runs)`)
    await generate(database, marker)
  }
  const info = JSON.parse(readFileSync(marker, 'utf8')) as { events: number; appId: number; writeSeconds: number; rollupSeconds: number }
  const store = await database.open()
  const key = generateSecretKey('api', cryptoRandom)
  await store.secretKeys.create({ kind: 'api', appId: null, hash: hashSecretKey(key), hint: secretKeyHint(key), label: 'bench', createdAt: Date.now() })
  const clock = { now: () => END }
  const http = Fastify()
  const deps = { store, clock, stackResolver: { resolveStack: async () => [] } }
  await http.register(async (scope) => analyticsRoutes(scope, deps))
  await http.register(async (scope) => issueApiRoutes(scope, deps))
  // Only what these routes use of HttpDeps.
  const dataDeps = deps as unknown as Parameters<typeof sessionRoutes>[1]
  await http.register(async (scope) => sessionRoutes(scope, dataDeps))
  await http.register(async (scope) => exploreRoutes(scope, dataDeps))
  const iso = (ms: number) => new Date(ms).toISOString()
  const range = (days: number) => `from=${iso(END - days * DAY_MS)}&to=${iso(END)}`
  const queries: Array<[string, string]> = []
  for (const [label, days] of [['24h', 1], ['7d', 7], ['30d', 30]] as const) {
    for (const view of ['overview', 'performance'] as const) {
      queries.push([`${view} ${label}`, `/api/v1/apps/bench/${view}?${range(days)}`])
      queries.push([`${view} ${label} country=US`, `/api/v1/apps/bench/${view}?${range(days)}&country=US`])
      queries.push([`${view} ${label} page=/cart`, `/api/v1/apps/bench/${view}?${range(days)}&page=%2Fcart`])
    }
  }
  queries.push(['performance 30d by=country', `/api/v1/apps/bench/performance?${range(30)}&by=country`])
  queries.push(['issues', '/api/v1/apps/bench/issues'])
  queries.push(['issues sort=count', '/api/v1/apps/bench/issues?sort=count'])
  queries.push(['sessions 24h', `/api/v1/apps/bench/sessions?${range(1)}`])
  queries.push(['sessions 7d country=DE', `/api/v1/apps/bench/sessions?${range(7)}&country=DE`])
  // The longest session of the last day: its timeline walks the time index over the whole span (migration 14).
  const longest = await database.longestSessionSince(info.appId, END - DAY_MS)
  queries.push(['session timeline (longest of 24h)', `/api/v1/apps/bench/sessions/${longest}`])
  queries.push(['explore 24h views by country', `/api/v1/apps/bench/explore?type=view&${range(1)}&group_by=geo.country`])
  queries.push(['explore 24h errors where browser', `/api/v1/apps/bench/explore?type=error&${range(1)}&where=device.browser%3AChrome`])
  log(`${info.events.toLocaleString('en')} events on ${STORE}; ${RUNS} runs per query; budget ${BUDGET_MS} ms`)
  let failed = 0
  for (const [name, url] of queries) {
    const times: number[] = []
    let bytes = 0
    // One untimed run first: the figures are for a warm page cache, as a dashboard in use has.
    await http.inject({ url, headers: { authorization: `Bearer ${key}` } })
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now()
      const response = await http.inject({ url, headers: { authorization: `Bearer ${key}` } })
      times.push(performance.now() - started)
      if (response.statusCode !== 200) throw new Error(`${name}: HTTP ${response.statusCode} ${response.body.slice(0, 200)}`)
      bytes = response.body.length
    }
    times.sort((a, b) => a - b)
    const p50 = times[Math.floor(times.length / 2)]!
    const max = times.at(-1)!
    const ok = max < BUDGET_MS
    if (!ok) failed++
    console.log(`BENCH query ${JSON.stringify({ name, store: STORE, events: info.events, runs: RUNS, p50_ms: round(p50), max_ms: round(max), budget_ms: BUDGET_MS, ok, response_bytes: bytes })}`)
  }
  await http.close()
  await measureRebuild(database, store, info.appId)
  await store.close()
  if (failed > 0) log(`${failed} of ${queries.length} queries over the ${BUDGET_MS} ms budget`)
}

/**
 * What the rollup job costs a running server: the last hours are marked as ingest would mark them and rebuilt,
 * while the event loop's delay is sampled — the longest time ingest would have waited for its turn. Once as fast
 * as it goes (the last 24 hours), once paced like the server's job (the last 2 hours at ROLLUP_SHARE).
 */
async function measureRebuild(database: BenchDatabase, store: Store, appId: number): Promise<void> {
  for (const [label, hours, share] of [['rollup', 24, 1], ['rollup_paced', 2, ROLLUP_SHARE]] as const) {
    const lastHour = Math.floor(END / HOUR_MS) * HOUR_MS
    await database.markHours(appId, Array.from({ length: hours }, (_, i) => lastHour - (i + 1) * HOUR_MS))
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    const started = performance.now()
    const result = await store.analytics.refreshRollups({ now: END, share })
    const seconds = (performance.now() - started) / 1000
    delay.disable()
    const ms = (ns: number) => round(ns / 1e6)
    console.log(`BENCH ${label} ${JSON.stringify({ store: STORE, share, hours_rebuilt: result.hours, seconds: round(seconds), loop_delay_max_ms: ms(delay.max), loop_delay_p99_ms: ms(delay.percentile(99)) })}`)
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}

main().catch((error: unknown) => {
  log(`bench:query failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})

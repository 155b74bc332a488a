import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { ensurePostgresInstalled, startPostgresServer } from '../test/support/startTestPostgres.js'
import { ensureRedisInstalled, startRedisServer } from '../test/support/startTestRedis.js'
import { freePort } from '../test/support/tacitProcess.js'

/**
 * The backing services of the ingest benchmark's PostgreSQL and multi-node runs (bench/ingestBench.ts):
 * a throwaway PostgreSQL 15 and Redis started by the benchmark, as the test suites start theirs, but with a
 * production server's durability rather than the tests' shortcuts.
 */

/**
 * Durable, as a production server runs: every acknowledged event is on disk (fsync, synchronous_commit,
 * full_page_writes are PostgreSQL's defaults, spelled out because the test server turns them off).
 */
export const BENCH_POSTGRES_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '512MB',
  max_connections: '100',
}

export interface BenchDatabase {
  name: string
  /** postgres://… of this database, for TACIT_DATABASE_URL. */
  url: string
}

export interface BenchPostgres {
  /** postgres://…/postgres: the superuser's maintenance database. */
  adminUrl: string
  /** The cluster's directory (its data in data/). */
  dir: string
  /** A fresh, empty database with these settings (ALTER DATABASE … SET), after a checkpoint of the cluster. */
  createDatabase(prefix: string, settings?: Record<string, string>): Promise<BenchDatabase>
  /** Drops a database, closing whatever connections are still open to it. */
  dropDatabase(database: BenchDatabase): Promise<void>
  /** The current WAL insert position, to measure how much WAL a run writes (walBytesSince). */
  walPosition(): Promise<string>
  walBytesSince(position: string): Promise<number>
  /** CPU seconds of the postmaster and all its processes (backends, walwriter, checkpointer, autovacuum…). */
  cpuSeconds(): number
  /** Stops the server and removes its cluster, or keeps it (stopped) to look at. */
  stop(options?: { keep?: boolean }): Promise<void>
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  ensurePostgresInstalled()
  const server = await startPostgresServer(await freePort(), { ...BENCH_POSTGRES_SETTINGS })
  const postmasterPid = Number(readFileSync(join(server.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
  const admin = new pg.Client({ connectionString: server.url })
  try {
    await admin.connect()
  } catch (error) {
    await server.stop()
    throw error
  }
  const scalar = async (sql: string, params: unknown[] = []): Promise<string> => {
    const { rows } = await admin.query<{ value: string }>(sql, params)
    return String(rows[0]?.value)
  }
  return {
    adminUrl: server.url,
    dir: server.dir,
    async createDatabase(prefix, settings = {}) {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_')
      // As the PostgreSQL suites create theirs (test/support/tempPostgresDatabase.ts): a linguistic collation,
      // as production databases usually have, which makes text keys cost what they cost there.
      await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
      for (const [key, value] of Object.entries(settings)) await admin.query(`ALTER DATABASE ${name} SET ${key} = '${value.replace(/'/g, "''")}'`)
      // Each run starts with no dirty pages of the previous one left to write out in its measured seconds.
      await admin.query('CHECKPOINT')
      const url = new URL(server.url)
      url.pathname = `/${name}`
      return { name, url: url.toString() }
    },
    async dropDatabase(database) {
      await admin.query(`DROP DATABASE IF EXISTS ${database.name} WITH (FORCE)`)
    },
    walPosition: () => scalar('SELECT pg_current_wal_insert_lsn()::text AS value'),
    walBytesSince: async (position) => Number(await scalar('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn) AS value', [position])),
    cpuSeconds: () => processTreeCpuSeconds(postmasterPid),
    async stop(options) {
      await admin.end().catch(() => undefined)
      await (options?.keep ? server.pause() : server.stop())
    },
  }
}

export interface BenchRedis {
  url: string
  cpuSeconds(): number
  stop(): Promise<void>
}

/** A redis-server that keeps nothing on disk, as production must run it for visitor sessions (DESIGN.md P3). */
export async function startBenchRedis(): Promise<BenchRedis> {
  ensureRedisInstalled()
  const before = new Set(childPids(process.pid))
  const server = await startRedisServer(await freePort(), ['--save', '', '--appendonly', 'no'])
  // startRedisServer does not say its PID: it is the one new redis-server child of this process.
  const pid = childPids(process.pid).find((p) => !before.has(p) && processName(p) === 'redis-server')
  if (pid === undefined) {
    await server.stop()
    throw new Error('redis-server started, but its process was not found among the benchmark\'s children')
  }
  return { url: server.url, cpuSeconds: () => processCpuSeconds(pid), stop: () => server.stop() }
}

/** utime + stime of a process and all its threads, from /proc/<pid>/stat (fields 14 and 15, in ticks of 1/100 s). */
export function processCpuSeconds(pid: number): number {
  const fields = statFields(pid)
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * A process's CPU and its children's: its own time, the time of its children that have exited (cutime and
 * cstime, fields 16 and 17, so backends that end during a run still count), and that of those still running.
 */
export function processTreeCpuSeconds(pid: number): number {
  const withExited = (fields: string[]) => (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100
  let total = withExited(statFields(pid))
  for (const child of childPids(pid)) {
    try {
      total += withExited(statFields(child))
    } catch {
      // Exited between the listing and the read: its time is in the parent's cutime once reaped.
    }
  }
  return total
}

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return ''
  }
}

function childPids(parent: number): number[] {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (Number(statFields(Number(entry))[1]) === parent) children.push(Number(entry))
    } catch {
      // Gone already.
    }
  }
  return children
}

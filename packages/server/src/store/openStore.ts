import { join } from 'node:path'
import { openPostgresStore } from './postgres/createPostgresStore.js'
import { createSqliteStore, type SqliteStoreOptions } from './sqlite/createSqliteStore.js'
import type { Store } from './Store.js'

export const DATABASE_FILE = 'tacit.db'

export interface OpenedStore {
  store: Store
  /** For logs and messages: the SQLite file's path, or the PostgreSQL server and database without credentials. */
  database: string
  /** The SQLite file; undefined on PostgreSQL. */
  databasePath: string | undefined
  /** How many ingest groups to commit at once (createBatchWriter's concurrency). */
  writers: number
}

/**
 * Groups committing at once on PostgreSQL (of the pool's 10 connections; the rest serve the rollup job, retention
 * and the API). Two, measured with `BENCH_SCENARIOS=batched npm run bench:ingest -- --store postgres` on the 2-core
 * reference machine (means of 4 to 6 alternated runs; single runs vary by ±15 %): one writer 5.8k events/s (p99
 * 57 ms), two 6.8k (p99 56 ms), four 4.9k (p99 84 ms). Before the writer locked the rows every group of an app
 * shares at the end of its transaction (createPostgresEventWriter.ts, writeGroup), one made 5.5k and four 3.8k
 * (p99 147 ms). Groups still queue for those rows (sessions, issues, the day's counts, rollup marks) at the end of
 * their transactions, and on two cores more writers mostly make smaller groups, which cost more per event.
 */
const POSTGRES_WRITERS = 2

/**
 * The one place that picks the adapter: PostgreSQL when a database URL is configured (TACIT_DATABASE_URL),
 * else SQLite in the data directory (the embedded default).
 */
export async function openStore(options: {
  databaseUrl: string | undefined
  dataDir: string
  sqlite?: Omit<SqliteStoreOptions, 'path'>
  /** PostgreSQL connections this process keeps at most. */
  poolSize?: number
}): Promise<OpenedStore> {
  if (options.databaseUrl) {
    const store = await openPostgresStore({ url: options.databaseUrl, poolSize: options.poolSize })
    return { store, database: describeDatabaseUrl(options.databaseUrl), databasePath: undefined, writers: POSTGRES_WRITERS }
  }
  const databasePath = join(options.dataDir, DATABASE_FILE)
  return { store: createSqliteStore({ ...options.sqlite, path: databasePath }), database: databasePath, databasePath, writers: 1 }
}

/** postgres://host:port/database: never the user name or password (logs are kept; DESIGN.md §3). */
export function describeDatabaseUrl(value: string): string {
  const url = new URL(value)
  return `${url.protocol}//${url.host}${url.pathname}`
}

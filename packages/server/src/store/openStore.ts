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
 * PostgreSQL commits wait on round trips and the disk, during which other connections can write: a few
 * groups in flight at once (of the pool's 10 connections, the rest serve the rollup job, retention and the API).
 * SQLite has one writer, on this thread.
 */
const POSTGRES_WRITERS = 4

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

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { dataDirFrom, databaseUrlFrom } from '../config.js'
import { DATABASE_FILE, describeDatabaseUrl, openStore } from '../store/openStore.js'
import { NewerSchemaError } from '../store/sqlite/createSqliteStore.js'
import type { Store } from '../store/Store.js'
import { CliError } from './cliCommand.js'

export interface CliStore {
  store: Store
  dataDir: string
  /** The SQLite file; undefined when TACIT_DATABASE_URL names a PostgreSQL database. */
  databasePath: string | undefined
  /** For messages: the SQLite file, or the PostgreSQL server and database without credentials. */
  database: string
}

/**
 * A CLI command shares the database with a server that may be running: no background checkpoints (the
 * server does those), and a generous busy timeout so a command waits out an ingest commit instead of failing.
 */
const CLI_BUSY_TIMEOUT_MS = 10_000

/**
 * Opens the store — PostgreSQL when TACIT_DATABASE_URL is set, as for the server; else SQLite in the data
 * directory (--data-dir, else TACIT_DATA_DIR, else ./data) —, runs `use`, and closes it whatever happens. Only
 * commands that create something may start a new SQLite database; the others say so rather than leave an empty
 * one behind in a mistyped directory.
 */
export async function openCliStore<T>(
  dataDirFlag: string | boolean | string[] | undefined,
  options: { create?: boolean },
  use: (opened: CliStore) => Promise<T>,
): Promise<T> {
  const dataDir = dataDirFrom(typeof dataDirFlag === 'string' ? dataDirFlag : undefined)
  const databaseUrl = databaseUrlFrom()
  if (!databaseUrl && !options.create && !existsSync(join(dataDir, DATABASE_FILE))) {
    throw new CliError(`There is no Tacit database in ${dataDir}: start the server once or pass --data-dir.`)
  }
  const { store, database, databasePath } = await openStore({ databaseUrl, dataDir, sqlite: { busyTimeoutMs: CLI_BUSY_TIMEOUT_MS }, poolSize: 2 }).catch(
    (error: unknown) => {
      if (!databaseUrl || error instanceof NewerSchemaError) throw error
      throw new CliError(`Cannot open the PostgreSQL database ${describeDatabaseUrl(databaseUrl)}: ${error instanceof Error ? error.message : String(error)}`)
    },
  )
  try {
    return await use({ store, dataDir, databasePath, database })
  } finally {
    await store.close()
  }
}

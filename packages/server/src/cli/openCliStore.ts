import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { dataDirFrom } from '../config.js'
import type { Store } from '../store/Store.js'
import { createSqliteStore } from '../store/sqlite/createSqliteStore.js'
import { CliError } from './cliCommand.js'

export interface CliStore {
  store: Store
  dataDir: string
  databasePath: string
}

export const DATABASE_FILE = 'tacit.db'

/**
 * A CLI command shares the database with a server that may be running: no background checkpoints (the
 * server does those), and a generous busy timeout so a command waits out an ingest commit instead of failing.
 */
const CLI_BUSY_TIMEOUT_MS = 10_000

/**
 * Opens the store in the data directory (--data-dir, else TACIT_DATA_DIR, else ./data), runs `use`, and closes
 * it whatever happens. Only commands that create something may start a new database; the others say so
 * rather than leave an empty one behind in a mistyped directory.
 */
export async function openCliStore<T>(
  dataDirFlag: string | boolean | string[] | undefined,
  options: { create?: boolean },
  use: (opened: CliStore) => Promise<T>,
): Promise<T> {
  const dataDir = dataDirFrom(typeof dataDirFlag === 'string' ? dataDirFlag : undefined)
  const databasePath = join(dataDir, DATABASE_FILE)
  if (!options.create && !existsSync(databasePath)) {
    throw new CliError(`There is no Tacit database in ${dataDir}: start the server once or pass --data-dir.`)
  }
  const store = createSqliteStore({ path: databasePath, busyTimeoutMs: CLI_BUSY_TIMEOUT_MS })
  try {
    return await use({ store, dataDir, databasePath })
  } finally {
    await store.close()
  }
}

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/createSqliteStore.js'
import type { Store } from '../../src/store/Store.js'

export interface TempSqliteStore {
  store: Store
  dir: string
  path: string
  /** Closes the store (again, harmlessly, if the test closed it) and removes the directory. */
  cleanup(): Promise<void>
}

/** A real SQLite store in a fresh directory under the OS temp dir. */
export async function createTempSqliteStore(options: Omit<SqliteStoreOptions, 'path'> = {}): Promise<TempSqliteStore> {
  const dir = await mkdtemp(join(tmpdir(), 'tacit-store-'))
  const path = join(dir, 'tacit.db')
  const store = createSqliteStore({ ...options, path })
  return {
    store,
    dir,
    path,
    async cleanup() {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

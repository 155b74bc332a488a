import { openPostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/createPostgresStore.js'
import type { Store } from '../../src/store/Store.js'
import { createTempPostgresDatabase } from '../support/tempPostgresDatabase.js'

export interface TempPostgresStore {
  store: Store
  /** postgres://… of its database. */
  url: string
  /** Closes the store (again, harmlessly, if the test closed it) and drops the database. */
  cleanup(): Promise<void>
}

/** A real PostgreSQL store in a fresh database on the test run's server (test/support/startTestPostgres.ts). */
export async function createTempPostgresStore(options: Omit<PostgresStoreOptions, 'url'> = {}): Promise<TempPostgresStore> {
  const database = await createTempPostgresDatabase()
  const store = await openPostgresStore({ ...options, url: database.url }).catch(async (error: unknown) => {
    await database.drop()
    throw error
  })
  return {
    store,
    url: database.url,
    async cleanup() {
      await store.close()
      await database.drop()
    },
  }
}

export interface TempPostgresNodes extends TempPostgresStore {
  /** A second store on the same database: another Tacit node. */
  other: Store
  /** Closes both stores and drops the database. */
  cleanup(): Promise<void>
}

/** Two stores on one fresh database: two Tacit nodes, each with its own pool. */
export async function createTempPostgresNodes(): Promise<TempPostgresNodes> {
  const temp = await createTempPostgresStore()
  const other = await openPostgresStore({ url: temp.url }).catch(async (error: unknown) => {
    await temp.cleanup()
    throw error
  })
  return {
    ...temp,
    other,
    async cleanup() {
      await other.close()
      await temp.cleanup()
    },
  }
}

import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../src/store/postgres/createPostgresStore.js'
import { openPostgresPool, type PgDatabase } from '../../src/store/postgres/openPostgresPool.js'
import { StoreUnavailableError } from '../../src/store/Store.js'
import { freePort } from '../support/tacitProcess.js'
import { createTempPostgresDatabase, type TempPostgresDatabase } from '../support/tempPostgresDatabase.js'

/**
 * The server ends a connection the store holds between two statements, as it does to every connection when it
 * shuts down or restarts (issue 7). pg-pool listens for errors on idle connections only: before the store
 * listened on the connections it checks out, the 'error' event killed the process (vitest reports it as an
 * unhandled error), and every node died when PostgreSQL restarted under load.
 */
describe('PostgreSQL connections lost while checked out', () => {
  let database: TempPostgresDatabase
  let db: PgDatabase
  let admin: PgDatabase
  beforeEach(async () => {
    database = await createTempPostgresDatabase()
    db = openPostgresPool({ url: database.url, max: 3, applicationName: 'tacit-under-test' })
    admin = openPostgresPool({ url: database.url, max: 1, applicationName: 'tacit-admin' })
  })
  afterEach(async () => {
    await db.close()
    await admin.close()
    await database.drop()
  })

  /** Ends the store's backends as a fast shutdown does (the client gets FATAL 57P01); the store's own pool is named 'tacit'. */
  async function terminateStoreConnections(): Promise<number> {
    const rows = await admin.query<{ ended: boolean }>(
      "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('tacit-under-test', 'tacit')",
    )
    // The client hears of it on its socket, a moment later.
    await sleep(200)
    return rows.filter((row) => row.ended).length
  }

  it('fails the transaction as unavailable, closes that connection and serves the next statement', async () => {
    const failed = db
      .transaction(async (tx) => {
        await tx.query('SELECT 1')
        expect(await terminateStoreConnections()).toBe(1)
        await tx.query('SELECT 2')
      })
      .catch((error: unknown) => error)
    expect(await failed).toBeInstanceOf(StoreUnavailableError)
    expect(db.pool.totalCount).toBe(0)
    expect(await db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }])
  })

  it('fails the next statement of a checked-out connection and closes it on release', async () => {
    const connection = await db.connect()
    await connection.query('SELECT 1')
    await terminateStoreConnections()
    await expect(connection.query('SELECT 1')).rejects.toBeInstanceOf(StoreUnavailableError)
    connection.release()
    expect(db.pool.totalCount).toBe(0)
    expect(await db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }])
  })

  it('closes a connection lost while it waited in the pool and makes a new one', async () => {
    await db.query('SELECT 1')
    expect(db.pool.idleCount).toBe(1)
    await terminateStoreConnections()
    expect(db.pool.totalCount).toBe(0)
    expect(await db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }])
  })

  it('says unavailable, within the connect timeout, when nothing listens', async () => {
    const nowhere = openPostgresPool({ url: `postgres://postgres@127.0.0.1:${await freePort()}/none`, max: 1 })
    try {
      await expect(nowhere.transaction(async () => undefined)).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(nowhere.query('SELECT 1')).rejects.toBeInstanceOf(StoreUnavailableError)
    } finally {
      await nowhere.close()
    }
  })

  it('keeps a statement error as it is: it is not the connection', async () => {
    await expect(db.query('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/)
    await expect(db.query('SELECT * FROM no_such_table')).rejects.not.toBeInstanceOf(StoreUnavailableError)
  })

  it('finishes an exclusive job whose lock connection was lost, and runs the next one', async () => {
    const store = await openPostgresStore({ url: database.url, poolSize: 3 })
    try {
      const result = await store.runExclusive('retention', async () => {
        // The job's own statements use other connections; the one holding the lock only waits meanwhile.
        await terminateStoreConnections()
        return 'done'
      })
      expect(result).toBe('done')
      expect(await store.runExclusive('retention', async () => 'again')).toBe('again')
    } finally {
      await store.close()
    }
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../src/store/postgres/createPostgresStore.js'
import type { Store } from '../../src/store/Store.js'
import { createTempPostgresDatabase, type TempPostgresDatabase } from '../support/tempPostgresDatabase.js'

/**
 * What several Tacit nodes on one PostgreSQL database rely on beyond the store contract: schema migrations and
 * periodic jobs that happen once, whichever nodes start or run them at the same time.
 */
describe('PostgreSQL store shared by several nodes', () => {
  let database: TempPostgresDatabase
  const stores: Store[] = []
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
    await database.drop()
  })
  async function nodes(count: number): Promise<Store[]> {
    database = await createTempPostgresDatabase()
    // Opened at once: every node migrates on start, and only one may create the schema.
    const opened = await Promise.all(Array.from({ length: count }, () => openPostgresStore({ url: database.url, poolSize: 3 })))
    stores.push(...opened)
    return opened
  }

  it('migrates once when nodes start at the same moment', async () => {
    const [a, b, c] = await nodes(3)
    const shop = await a!.createApp({ name: 'shop', createdAt: 0, settings: {} })
    expect(await b!.getApp(shop.id)).toEqual(shop)
    expect(await c!.findAppByName('SHOP')).toEqual(shop)
  })

  it('runs a job on one node at a time; the others skip it, and other jobs run meanwhile', async () => {
    const [a, b] = await nodes(2)
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let entered!: () => void
    const started = new Promise<void>((resolve) => (entered = resolve))
    const first = a!.runExclusive('retention', async () => {
      entered()
      await held
      return 'a ran'
    })
    await started
    expect(await b!.runExclusive('retention', async () => 'b ran')).toBeUndefined()
    expect(await a!.runExclusive('retention', async () => 'a again')).toBeUndefined()
    expect(await b!.runExclusive('alerts', async () => 'b ran alerts')).toBe('b ran alerts')
    release()
    expect(await first).toBe('a ran')
    // Released when the job ends, or fails.
    await expect(b!.runExclusive('retention', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await a!.runExclusive('retention', async () => 'a after b')).toBe('a after b')
  })
})

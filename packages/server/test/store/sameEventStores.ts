import { expect } from 'vitest'
import { generateBatches } from '../../bench/generateEvents.js'
import type { IngestBatch, Store } from '../../src/store/Store.js'
import { createTempPostgresStore } from './tempPostgresStore.js'
import { createTempSqliteStore } from './tempSqliteStore.js'

/** Writes the batches 50 at a time, each of which the store must accept. */
export async function writeAll(store: Store, batches: IngestBatch[]): Promise<void> {
  for (let i = 0; i < batches.length; i += 50) expect(await store.writeBatches(batches.slice(i, i + 50))).toEqual(batches.slice(i, i + 50).map(() => undefined))
}

export interface SameEventStores {
  sqlite: Store
  postgres: Store
  /** The apps' ids, the same in both stores. */
  shop: number
  blog: number
  /** Closes both stores and removes their data. */
  cleanup(): Promise<void>
}

/**
 * A SQLite and a PostgreSQL store holding the same events, for comparing their answers: two apps, shop and blog,
 * with traffic generated over the `days` before `end` (bench/generateEvents.ts), then the batches `more` adds.
 */
export async function createSameEventStores(options: {
  end: number
  days: number
  shop: { seed: number; events: number }
  blog: { seed: number; events: number }
  more?: (apps: { shop: number; blog: number }) => IngestBatch[]
}): Promise<SameEventStores> {
  const { end, days } = options
  const sqlite = await createTempSqliteStore()
  const postgres = await createTempPostgresStore().catch(async (error: unknown) => {
    await sqlite.cleanup()
    throw error
  })
  const cleanup = async () => {
    await sqlite.cleanup()
    await postgres.cleanup()
  }
  try {
    let shop = 0
    let blog = 0
    for (const { store } of [sqlite, postgres]) {
      shop = (await store.createApp({ name: 'shop', createdAt: 0, settings: {} })).id
      blog = (await store.createApp({ name: 'blog', createdAt: 0, settings: {} })).id
      await writeAll(store, [...generateBatches({ appId: shop, ...options.shop, end, days })])
      await writeAll(store, [...generateBatches({ appId: blog, ...options.blog, end, days })])
      if (options.more) await writeAll(store, options.more({ shop, blog }))
    }
    return { sqlite: sqlite.store, postgres: postgres.store, shop, blog, cleanup }
  } catch (error) {
    await cleanup()
    throw error
  }
}

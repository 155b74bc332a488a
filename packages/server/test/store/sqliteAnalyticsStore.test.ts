import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { generateBatches } from '../../bench/generateEvents.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import { expectedOverview, expectedPerformance, rounded } from './analyticsOracle.js'
import { describeAnalyticsStoreContract } from './analyticsStoreContract.js'
import { createTempSqliteStore } from './tempSqliteStore.js'

describeAnalyticsStoreContract('sqlite', async () => createTempSqliteStore())

const DAY_MS = 86_400_000
const END = Date.UTC(2026, 10, 20, 15)

describe('SQLite rollups: migration 15', () => {
  it('marks every hour rolled up before page slices existed, so the job rebuilds it and page filters count it', async () => {
    const temp = await createTempSqliteStore()
    try {
      const appId = (await temp.store.createApp({ name: 'shop', createdAt: 0, settings: {} })).id
      const batches = [...generateBatches({ appId, seed: 3, events: 1500, end: END, days: 2 })]
      for (let i = 0; i < batches.length; i += 50) await temp.store.writeBatches(batches.slice(i, i + 50))
      await temp.store.analytics.refreshRollups({ now: END + 3 * DAY_MS })
      await temp.store.close()

      // As a database rolled up before migration 15: no page slices, no marks, schema version 14.
      const raw = new Database(temp.path)
      raw.prepare("DELETE FROM rollup_slices WHERE fdim = 'page'").run()
      expect(raw.prepare('SELECT count(*) FROM rollup_dirty').pluck().get()).toBe(0)
      const hours = raw.prepare('SELECT count(DISTINCT t) FROM rollup_views WHERE span = 3600000').pluck().get() as number
      // Migration 16's columns, so that it can run again on reopening.
      for (const column of ['entry_ts', 'entry_id', 'entry_page', 'env', 'exit_ts', 'exit_id', 'exit_page']) raw.exec(`ALTER TABLE sessions DROP COLUMN ${column}`)
      raw.pragma('user_version = 14')
      raw.close()

      const store = createSqliteStore({ path: temp.path })
      try {
        const q = { appId, from: END - 2 * DAY_MS, to: END, bucket: 'day' as const, filters: { page: '/' } }
        const reopened = new Database(temp.path, { readonly: true })
        expect(reopened.prepare('SELECT count(*) FROM rollup_dirty').pluck().get()).toBeGreaterThanOrEqual(hours)
        reopened.close()
        const refreshed = await store.analytics.refreshRollups({ now: END + 3 * DAY_MS })
        expect(refreshed.hours).toBeGreaterThanOrEqual(hours)
        expect(rounded(await store.analytics.overview(q))).toEqual(rounded(await expectedOverview(store, q)))
        expect(rounded(await store.analytics.performance({ ...q, by: 'country' }))).toEqual(rounded(await expectedPerformance(store, { ...q, by: 'country' })))
        expect((await store.analytics.overview(q)).totals.views).toBeGreaterThan(0)
      } finally {
        await store.close()
      }
    } finally {
      await temp.cleanup()
    }
  })
})

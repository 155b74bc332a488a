import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { generateBatches } from '../../bench/generateEvents.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { ANALYTICS_FILTERS, PERFORMANCE_BREAKDOWNS, type AnalyticsQuery } from '../../src/store/AnalyticsStore.js'
import { expectedOverview, rounded } from './analyticsOracle.js'
import { describeAnalyticsStoreContract } from './analyticsStoreContract.js'
import { createSameEventStores, writeAll, type SameEventStores } from './sameEventStores.js'
import { createTempPostgresNodes, createTempPostgresStore, type TempPostgresNodes } from './tempPostgresStore.js'

describeAnalyticsStoreContract('postgres', async () => createTempPostgresStore())

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
const END = Date.UTC(2026, 10, 20, 15)
/** The rollup job's advisory lock space (createPostgresAnalyticsStore.ts). */
const ROLLUP_LOCK = 0x7461_6372

describe('PostgreSQL rollups: several nodes on one database', () => {
  let temp: TempPostgresNodes
  let raw: pg.Client
  let apps: number[]
  const dirty = async () => (await raw.query<{ n: string }>('SELECT count(*) AS n FROM rollup_dirty')).rows[0]!.n

  beforeEach(async () => {
    temp = await createTempPostgresNodes()
    raw = new pg.Client({ connectionString: temp.url })
    await raw.connect()
    apps = []
    for (const [name, seed] of [['shop', 11], ['blog', 12], ['docs', 13]] as const) {
      const appId = (await temp.store.createApp({ name, createdAt: 0, settings: {} })).id
      apps.push(appId)
      await writeAll(temp.store, [...generateBatches({ appId, seed, events: 1200, end: END, days: 2 })])
    }
  })
  afterEach(async () => {
    await raw.end()
    await temp.cleanup()
  })

  it("purges one app's rollups and marks, and no other app's", async () => {
    const now = END + 3 * DAY_MS
    await temp.store.analytics.refreshRollups({ now })
    await writeAll(temp.store, [{ appId: apps[0]!, day: '2026-11-20', events: [{ type: 'error', ts: END - HOUR_MS, received_at: END, error: { message: 'late' } }], dropped: {} }])
    const q = (appId: number): AnalyticsQuery => ({ appId, from: END - 2 * DAY_MS, to: END, bucket: 'day', filters: {} })
    const kept = await temp.store.analytics.overview(q(apps[1]!))
    expect(await temp.store.analytics.purgeApp(apps[0]!)).toBeGreaterThan(100)
    const tables = ['rollup_views', 'rollup_sessions', 'rollup_sources', 'rollup_resources', 'rollup_long_tasks', 'rollup_slices', 'rollup_dirty', 'rollup_dirty_days']
    for (const table of tables) expect((await raw.query(`SELECT 1 FROM ${table} WHERE app_id = $1 LIMIT 1`, [apps[0]])).rows, table).toEqual([])
    expect(await temp.store.analytics.overview(q(apps[1]!))).toEqual(kept)
    expect(kept.totals.views).toBeGreaterThan(0)
  })

  it('rebuilds each marked hour once when two nodes refresh at the same time, and answers exactly', async () => {
    const marked = Number(await dirty())
    expect(marked).toBeGreaterThan(48)
    const now = END + 3 * DAY_MS
    const [a, b] = await Promise.all([temp.store.analytics.refreshRollups({ now }), temp.other.analytics.refreshRollups({ now })])
    // An app is rebuilt by one node at a time: the other skips it for that run. Whatever the split, nothing is
    // done twice and nothing is left, once the node that lost every race runs again.
    expect(a.hours + b.hours).toBeLessThanOrEqual(marked)
    const rest = await temp.other.analytics.refreshRollups({ now })
    expect(a.hours + b.hours + rest.hours).toBe(marked)
    expect(await dirty()).toBe('0')
    for (const appId of apps) {
      const q: AnalyticsQuery = { appId, from: END - 2 * DAY_MS, to: END, bucket: 'day', filters: {} }
      expect(rounded(await temp.other.analytics.overview(q))).toEqual(rounded(await expectedOverview(temp.store, q)))
    }
  })

  it('skips, and leaves marked, an app whose rollups another node is rebuilding', async () => {
    // Another node holds the lock of the first app.
    await raw.query('SELECT pg_advisory_lock($1, $2)', [ROLLUP_LOCK, apps[0]])
    const now = END + 3 * DAY_MS
    const first = await temp.store.analytics.refreshRollups({ now })
    expect(first.hours).toBeGreaterThan(0)
    const left = await raw.query<{ app_id: string }>('SELECT DISTINCT app_id FROM rollup_dirty')
    expect(left.rows.map((row) => Number(row.app_id))).toEqual([apps[0]])
    // Once that node is done, the next run rebuilds the app.
    await raw.query('SELECT pg_advisory_unlock($1, $2)', [ROLLUP_LOCK, apps[0]])
    expect((await temp.store.analytics.refreshRollups({ now })).hours).toBeGreaterThan(0)
    expect(await dirty()).toBe('0')
    expect(await temp.store.analytics.refreshRollups({ now })).toEqual({ hours: 0, days: 0 })
  })

  it('keeps the mark of a commit that lands while the hour is being written', async () => {
    const now = END + 3 * DAY_MS
    await temp.store.analytics.refreshRollups({ now })
    const hour = END - 5 * HOUR_MS
    const late: StoredEvent = { type: 'error', ts: hour + 1, received_at: END, error: { message: 'late' } }
    await writeAll(temp.store, [{ appId: apps[0]!, day: '2026-11-20', events: [late], dropped: {} }])
    // An ingest commit to the same hour is under way: it has bumped the mark's seq and not committed yet.
    await raw.query('BEGIN')
    await raw.query('UPDATE rollup_dirty SET seq = seq + 1 WHERE app_id = $1 AND hour = $2', [apps[0], hour])
    const running = temp.store.analytics.refreshRollups({ now })
    // The rebuild reaches the clearing of the mark and waits for the ingest transaction …
    const watcher = new pg.Client({ connectionString: temp.url })
    await watcher.connect()
    try {
      for (let waited = 0; waited < 10_000; waited += 20) {
        const { rows } = await watcher.query<{ query: string }>("SELECT query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
        if (rows.some((row) => row.query.startsWith('DELETE FROM rollup_dirty'))) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    } finally {
      await watcher.end()
    }
    // … which commits: the mark it bumped stays, so the next run rebuilds the hour again.
    await raw.query('COMMIT')
    expect((await running).hours).toBe(1)
    expect((await raw.query('SELECT seq FROM rollup_dirty WHERE app_id = $1 AND hour = $2', [apps[0], hour])).rows).toEqual([{ seq: '1' }])
    expect(await temp.store.analytics.refreshRollups({ now })).toEqual({ hours: 1, days: 1 })
    expect(await dirty()).toBe('0')
  })
})

/**
 * The same events in SQLite and PostgreSQL give the same dashboard, number for number: both adapters build and
 * read the rollups with the same code (store/rollups/), so any difference is a difference in what the
 * databases return.
 */
describe('PostgreSQL rollups answer exactly as SQLite’s', () => {
  let stores: SameEventStores
  beforeEach(async () => {
    stores = await createSameEventStores({ end: END, days: 4, shop: { seed: 21, events: 8000 }, blog: { seed: 22, events: 600 } })
  })
  afterEach(async () => stores.cleanup())

  async function expectSameAnswers(): Promise<void> {
    const base: AnalyticsQuery = { appId: stores.shop, from: END - 4 * DAY_MS, to: END, bucket: 'day', filters: {} }
    const top = (await stores.sqlite.analytics.overview(base)).top
    const first = (entries: Array<{ key: string | null }>) => entries.find((e) => e.key !== null)?.key ?? ''
    const values: Record<(typeof ANALYTICS_FILTERS)[number], string> = {
      page: first(top.pages),
      country: first(top.countries),
      browser: first(top.browsers),
      os: first(top.oses),
      device: first(top.devices),
      release: '2026.1.0',
      env: 'staging',
    }
    const queries: AnalyticsQuery[] = [
      base,
      { ...base, appId: stores.blog },
      { ...base, from: END - DAY_MS, bucket: 'hour' },
      { ...base, from: Math.floor((END - 2.5 * DAY_MS) / HOUR_MS) * HOUR_MS },
      ...ANALYTICS_FILTERS.map((key) => ({ ...base, filters: { [key]: values[key] } })),
      { ...base, filters: { page: values.page, country: values.country } },
      { ...base, filters: { device: values.device, browser: values.browser }, bucket: 'hour' as const, from: END - 2 * DAY_MS },
      { ...base, filters: { env: 'production', release: '2026.1.0', os: values.os } },
      { ...base, filters: { country: 'ZZ' } },
    ]
    for (const q of queries) {
      expect(await stores.postgres.analytics.overview(q), JSON.stringify(q)).toEqual(await stores.sqlite.analytics.overview(q))
      for (const by of PERFORMANCE_BREAKDOWNS) {
        expect(await stores.postgres.analytics.performance({ ...q, by }), `${JSON.stringify(q)} by ${by}`).toEqual(await stores.sqlite.analytics.performance({ ...q, by }))
      }
    }
  }

  it('gives identical overviews and performance views for every range, bucket, filter and breakdown', async () => {
    const midnight = Math.floor(END / DAY_MS) * DAY_MS
    // Early on the last day: the day before is not settled, so its hourly rows are read.
    for (const store of [stores.sqlite, stores.postgres]) await store.analytics.refreshRollups({ now: midnight + HOUR_MS / 2 })
    await expectSameAnswers()
    // Then every day built.
    const results = []
    for (const store of [stores.sqlite, stores.postgres]) results.push(await store.analytics.refreshRollups({ now: END + 3 * DAY_MS }))
    expect(results[1]).toEqual(results[0])
    await expectSameAnswers()
    // Retention, with the day that straddles the limit rebuilt.
    const cutoff = END - 3 * DAY_MS + 5 * HOUR_MS
    for (const family of ['views', 'sessions', 'resources', 'long_tasks'] as const) {
      expect(await stores.postgres.analytics.deleteRollupsBefore({ appId: stores.shop, family, before: cutoff })).toBe(await stores.sqlite.analytics.deleteRollupsBefore({ appId: stores.shop, family, before: cutoff }))
    }
    await expectSameAnswers()
  })
})

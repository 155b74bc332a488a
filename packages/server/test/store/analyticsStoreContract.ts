import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { generateBatches } from '../../bench/generateEvents.js'
import { HISTOGRAM_RELATIVE_ERROR, percentile, addToHistogram, type Histogram } from '../../src/analytics/histogram.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import type { AnalyticsQuery, PerformanceBreakdown } from '../../src/store/AnalyticsStore.js'
import type { IngestBatch, Store } from '../../src/store/Store.js'
import { expectedOverview, expectedPerformance, rounded } from './analyticsOracle.js'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** Hour-aligned, not day-aligned: ranges cut days. */
const END = Date.UTC(2026, 10, 20, 15)

export interface AnalyticsStoreHarness {
  store: Store
  cleanup(): Promise<void>
}

/**
 * The contract of store.analytics (AnalyticsStore.ts): after refreshRollups, the overview and performance
 * numbers are exactly those of a scan of the raw events (analyticsOracle.ts), for any range, bucket and filter;
 * they follow late events and view updates once refreshed; retention and purges take rollups with the data.
 */
export function describeAnalyticsStoreContract(label: string, create: () => Promise<AnalyticsStoreHarness>): void {
  describe(`AnalyticsStore contract (${label})`, () => {
    let harness: AnalyticsStoreHarness
    let store: Store
    let appId: number
    let otherAppId: number

    beforeEach(async () => {
      harness = await create()
      store = harness.store
      appId = (await store.createApp({ name: 'shop', createdAt: 0, settings: {} })).id
      otherAppId = (await store.createApp({ name: 'blog', createdAt: 0, settings: {} })).id
      await write([...generateBatches({ appId, seed: 7, events: 6000, end: END, days: 3 })])
      await write([...generateBatches({ appId: otherAppId, seed: 8, events: 500, end: END, days: 3 })])
    })
    afterEach(async () => harness.cleanup())

    async function write(batches: IngestBatch[]): Promise<void> {
      for (let i = 0; i < batches.length; i += 50) {
        const results = await store.writeBatches(batches.slice(i, i + 50))
        expect(results.every((r) => r === undefined)).toBe(true)
      }
    }

    /** Long after the data: every day is complete, so daily rows are built too. */
    const refresh = (now = END + 3 * DAY_MS) => store.analytics.refreshRollups({ now })
    const query = (overrides: Partial<AnalyticsQuery> = {}): AnalyticsQuery => ({ appId, from: END - 3 * DAY_MS, to: END, bucket: 'day', filters: {}, ...overrides })

    async function expectExact(q: AnalyticsQuery, by: PerformanceBreakdown = 'page'): Promise<void> {
      expect(rounded(await store.analytics.overview(q))).toEqual(rounded(await expectedOverview(store, q)))
      expect(rounded(await store.analytics.performance({ ...q, by }))).toEqual(rounded(await expectedPerformance(store, { ...q, by })))
    }

    it('answers exactly like a scan of the raw events, by day, by hour, over partial days and with filters', async () => {
      const { hours } = await refresh()
      expect(hours).toBeGreaterThan(48)
      const overview = await store.analytics.overview(query())
      expect(overview.totals.views).toBeGreaterThan(300)
      expect(overview.totals.sessions).toBeGreaterThan(100)
      expect(overview.top.referrers.length).toBeGreaterThan(2)
      await expectExact(query())
      await expectExact(query({ from: END - DAY_MS, bucket: 'hour' }))
      // Starts at 05:00 two days back and ends at 15:00: hourly rows at both ends, daily rows between.
      await expectExact(query({ from: Math.floor((END - 2.5 * DAY_MS) / HOUR_MS) * HOUR_MS }))
      await expectExact(query({ filters: { country: 'US' } }), 'browser')
      await expectExact(query({ filters: { page: '/' } }), 'country')
      await expectExact(query({ filters: { device: 'mobile', browser: 'Safari' }, bucket: 'hour', from: END - 2 * DAY_MS }), 'device')
      await expectExact(query({ filters: { env: 'staging', release: '2026.1.0' } }))
      // A page with another filter: the full-dimension rows, not the page slices.
      await expectExact(query({ filters: { page: '/', country: 'US' } }), 'browser')
      // A value nothing has: zeros and empty lists, not an error.
      const none = await store.analytics.overview(query({ filters: { country: 'ZZ' } }))
      expect(none.totals).toMatchObject({ sessions: 0, views: 0, error_rate: null, crash_free_rate: null, view_duration_p50_ms: null })
      await expectExact(query({ appId: otherAppId }))
    })

    it('reads the hourly rows of days not rebuilt yet: exact while the last days settle', async () => {
      // 00:30 on the last day: the day before ended less than an hour ago, so it is not built yet.
      const midnight = Math.floor(END / DAY_MS) * DAY_MS
      const early = await refresh(midnight + HOUR_MS / 2)
      expect(early.days).toBeGreaterThan(0)
      const wholeDays = query({ from: midnight - 3 * DAY_MS, to: midnight })
      await expectExact(wholeDays)
      await expectExact({ ...wholeDays, filters: { country: 'US' } }, 'country')
      await expectExact({ ...wholeDays, filters: { page: '/cart' } })
      // A late event in a built day: its hour is rebuilt, and so is the day, being complete.
      const late: StoredEvent = { type: 'error', ts: midnight - 2 * DAY_MS + HOUR_MS, received_at: END, error: { message: 'late' } }
      await write([{ appId, day: '2026-11-20', events: [late], dropped: {} }])
      expect(await refresh(midnight + HOUR_MS / 2)).toEqual({ hours: 1, days: 1 })
      await expectExact(wholeDays)
      expect((await refresh()).days).toBeGreaterThan(0)
      await expectExact(query())
    })

    it('rebuilds an hour in steps without holding the write lock, and keeps its mark when ingest touches it meanwhile', async () => {
      await refresh()
      // More events in one hour than one read step holds (250), so the rebuild yields between steps.
      const hour = Math.floor((END - 5 * HOUR_MS) / HOUR_MS) * HOUR_MS
      const burst: StoredEvent[] = Array.from({ length: 4500 }, (_, i) => ({ type: 'action', ts: hour + (i % 3_600_000), received_at: END, action: { type: 'click', name: 'buy' } }) as StoredEvent)
      await write([{ appId, day: '2026-11-22', events: burst, dropped: {} }])
      const running = refresh()
      // While the rebuild reads the hour step by step, a commit lands in the same hour: nothing waits on the rebuild.
      await write([{ appId, day: '2026-11-22', events: [{ type: 'error', ts: hour + 1, received_at: END, error: { message: 'meanwhile' } }], dropped: {} }])
      expect((await running).hours).toBeGreaterThan(0)
      // The hour stayed marked (its rows may miss the commit above), so the next run rebuilds it and is exact.
      expect((await refresh()).hours).toBe(1)
      await expectExact(query())
      await expectExact(query({ from: END - DAY_MS, bucket: 'hour' }))
    })

    it('stops a refresh between steps when asked, writing nothing half-read and keeping the marks', async () => {
      await refresh()
      const hour = Math.floor((END - 7 * HOUR_MS) / HOUR_MS) * HOUR_MS
      const burst: StoredEvent[] = Array.from({ length: 3000 }, (_, i) => ({ type: 'action', ts: hour + i, received_at: END, action: { type: 'click', name: 'buy' } }) as StoredEvent)
      await write([{ appId, day: '2026-11-22', events: burst, dropped: {} }])
      const stopping = new AbortController()
      const running = store.analytics.refreshRollups({ now: END + 3 * DAY_MS, signal: stopping.signal })
      stopping.abort()
      expect(await running).toEqual({ hours: 0, days: 0 })
      // The hour is still marked: the next refresh rebuilds it, and the answers are exact.
      expect((await refresh()).hours).toBe(1)
      await expectExact(query())
    })

    it('is idempotent: a second refresh has nothing to do and changes nothing', async () => {
      await refresh()
      const before = await store.analytics.overview(query())
      expect(await refresh()).toEqual({ hours: 0, days: 0 })
      expect(await store.analytics.overview(query())).toEqual(before)
    })

    it('follows view updates, late events and sessions that grow into later hours once refreshed', async () => {
      await refresh()
      const events: StoredEvent[] = []
      for await (const e of store.readEvents({ appId, types: ['view'], since: END - 2 * DAY_MS })) events.push(e)
      const view = events.find((e) => e.type === 'view' && e.session && e.view.time_spent !== undefined)!
      if (view.type !== 'view') throw new Error('unreachable')
      // A later version of the view (time spent grows) …
      const updated: StoredEvent = { ...view, view: { ...view.view, version: 9, time_spent: 9_999_999 }, received_at: END }
      // … a late error in an hour long refreshed, in the same session …
      const late: StoredEvent = { type: 'error', ts: view.ts + 1, received_at: END, session: view.session!, geo: view.geo!, device: view.device!, view: { id: view.view.id, url: view.view.url }, error: { message: 'late' } }
      // … and a view of that session much later, which makes it end elsewhere.
      const later: StoredEvent = { type: 'view', ts: END - HOUR_MS, received_at: END, session: view.session!, geo: view.geo!, device: view.device!, view: { id: 'late-view', url: 'https://shop.example.com/thank-you' } }
      await write([{ appId, day: '2026-11-20', events: [updated, late, later], dropped: {} }])
      const stale = await store.analytics.overview(query())
      expect(stale.totals.errors).toBe((await expectedOverview(store, query())).totals.errors - 1)
      expect((await refresh()).hours).toBeGreaterThanOrEqual(2)
      await expectExact(query())
    })

    it('keeps percentiles within the stated relative error of the exact ones', async () => {
      await refresh()
      const values: number[] = []
      for await (const e of store.readEvents({ appId, types: ['vital'] })) if (e.type === 'vital' && e.vital.name === 'LCP') values.push(e.vital.value)
      values.sort((a, b) => a - b)
      const exact = values[Math.ceil(0.75 * values.length) - 1]!
      const { vitals } = await store.analytics.performance({ ...query({ from: END - 10 * DAY_MS }), by: 'page' })
      expect(vitals.LCP.count).toBe(values.length)
      expect(Math.abs(vitals.LCP.p75! - exact) / exact).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR + 1e-9)
      const h: Histogram = {}
      for (const v of values) addToHistogram(h, v)
      expect(vitals.LCP.p75).toBe(percentile(h, 0.75))
    })

    it('retention deletes rollups older than a limit and rebuilds the day that straddles it', async () => {
      await refresh()
      const cutoff = END - 2 * DAY_MS + 3 * HOUR_MS
      expect(await store.analytics.deleteRollupsBefore({ appId, family: 'views', before: cutoff })).toBeGreaterThan(0)
      expect(await store.analytics.deleteRollupsBefore({ appId, family: 'sessions', before: cutoff })).toBeGreaterThan(0)
      // What is left is what the raw events from the cutoff on give, by day as by hour.
      const expected = await expectedOverview(store, query({ from: cutoff }))
      const left = await store.analytics.overview(query())
      expect(left.totals).toEqual(expected.totals)
      expect(left.top).toEqual(expected.top)
      // Resources follow their own (shorter) retention, untouched so far.
      const perf = await store.analytics.performance({ ...query(), by: 'page' })
      expect(perf.slowest_resources).toEqual((await expectedPerformance(store, { ...query(), by: 'page' })).slowest_resources)
      expect(perf.vitals.LCP.count).toBe((await expectedPerformance(store, { ...query({ from: cutoff }), by: 'page' })).vitals.LCP.count)
    })

    it("a purge deletes the app's rollups and dirty marks, and no other app's", async () => {
      await refresh()
      const other = await store.analytics.overview(query({ appId: otherAppId }))
      expect(await store.purgeApp(appId)).toBeGreaterThan(0)
      const purged = await store.analytics.overview(query())
      expect(purged.totals).toMatchObject({ sessions: 0, views: 0, actions: 0, errors: 0 })
      expect(purged.top.pages).toEqual([])
      expect((await store.analytics.performance({ ...query(), by: 'page' })).vitals.LCP.count).toBe(0)
      expect(await store.analytics.overview(query({ appId: otherAppId }))).toEqual(other)
      expect(await refresh()).toEqual({ hours: 0, days: 0 })
    })
  })
}

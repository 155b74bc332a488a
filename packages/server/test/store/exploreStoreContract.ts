import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import type { ExploreQuery } from '../../src/store/ExploreStore.js'
import type { IngestBatch, Store } from '../../src/store/Store.js'

/**
 * The contract of `store.explorer` (store/ExploreStore.ts): the sessions list, a session's timeline and the
 * explorer, over events stored with `writeBatches`. It uses the Store interface only, so the PostgreSQL
 * adapter runs it unchanged.
 */
export interface ExploreStoreUnderTest {
  store: Store
  cleanup(): Promise<void>
}

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0)
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const S1 = '11111111-1111-4111-8111-111111111111'
const S2 = '22222222-2222-4222-8222-222222222222'
const S3 = '33333333-3333-4333-8333-333333333333'

type Extra = Partial<Omit<StoredEvent, 'type' | 'ts'>> & Record<string, unknown>

function event(type: StoredEvent['type'], ts: number, session: string | undefined, fields: Extra): StoredEvent {
  return { type, ts, received_at: ts, ...(session ? { session: { id: session } } : {}), ...fields } as unknown as StoredEvent
}
const view = (ts: number, session: string | undefined, id: string, url: string, extra: Extra = {}) =>
  event('view', ts, session, { view: { id, url }, ...extra })
const action = (ts: number, session: string | undefined, name: string, extra: Extra = {}) =>
  event('action', ts, session, { action: { type: 'click', name }, ...extra })
const failure = (ts: number, session: string | undefined, message: string, extra: Extra = {}) =>
  event('error', ts, session, { error: { message, type: 'TypeError' }, ...extra })

function batch(appId: number, events: StoredEvent[]): IngestBatch {
  return { appId, day: '2026-11-20', events, dropped: {} }
}

export function describeExploreStoreContract(name: string, createStore: () => Promise<ExploreStoreUnderTest>): void {
  describe(`ExploreStore contract: ${name}`, () => {
    let subject: ExploreStoreUnderTest
    let store: Store
    let shop: number
    let blog: number

    const query = (overrides: Partial<ExploreQuery>): ExploreQuery => ({
      appId: shop,
      since: T0,
      until: T0 + 4 * HOUR,
      filters: [],
      bucketMs: HOUR,
      groupLimit: 10,
      eventLimit: 50,
      ...overrides,
    })

    beforeEach(async () => {
      subject = await createStore()
      store = subject.store
      shop = (await store.createApp({ name: 'shop', createdAt: T0, settings: {} })).id
      blog = (await store.createApp({ name: 'blog', createdAt: T0, settings: {} })).id
      const results = await store.writeBatches([
        batch(shop, [
          view(T0 + 1 * MINUTE, S1, 'v1', 'https://shop.example/', { device: { type: 'desktop', browser: 'Chrome', os: 'macOS' }, geo: { country: 'DE' }, release: '1.0' }),
          action(T0 + 2 * MINUTE, S1, 'Add to cart', { context: { plan: 'pro', seats: 3, beta: true } }),
          failure(T0 + 3 * MINUTE, S1, 'boom', { context: { plan: 'pro' } }),
          view(T0 + 4 * MINUTE, S1, 'v2', 'https://shop.example/cart'),
          view(T0 + 70 * MINUTE, S2, 'v3', 'https://shop.example/', { device: { type: 'mobile', browser: 'Safari', os: 'iOS' }, geo: { country: 'FR' } }),
          action(T0 + 71 * MINUTE, S2, 'Buy', { context: { plan: 'free', seats: 1, beta: false } }),
          action(T0 + 130 * MINUTE, S3, 'Add to cart', { context: { plan: 'pro', 'a.b': 'dotted' } }),
          // No session: a Node service's error.
          failure(T0 + 131 * MINUTE, undefined, 'server boom'),
        ]),
        batch(blog, [view(T0 + 5 * MINUTE, S1, 'b1', 'https://blog.example/'), action(T0 + 6 * MINUTE, S1, 'Add to cart', { context: { plan: 'pro' } })]),
      ])
      expect(results).toEqual([undefined, undefined])
    })
    afterEach(async () => subject.cleanup())

    describe('sessions', () => {
      it('lists the sessions that started in the range, newest first, filtered and paged', async () => {
        const all = await store.explorer.listSessions({ appId: shop, since: T0, until: T0 + 4 * HOUR, limit: 10, offset: 0 })
        expect(all.map((s) => s.sessionId)).toEqual([S3, S2, S1])
        expect(all[2]).toMatchObject({ appId: shop, start: T0 + MINUTE, end: T0 + 4 * MINUTE, views: 2, actions: 1, errors: 1, hasError: true, country: 'DE', browser: 'Chrome', deviceType: 'desktop', release: '1.0' })
        const list = (overrides: object) => store.explorer.listSessions({ appId: shop, since: T0, until: T0 + 4 * HOUR, limit: 10, offset: 0, ...overrides }).then((rows) => rows.map((s) => s.sessionId))
        expect(await list({ country: 'FR' })).toEqual([S2])
        expect(await list({ browser: 'Chrome', os: 'macOS', deviceType: 'desktop', release: '1.0' })).toEqual([S1])
        expect(await list({ withErrors: true })).toEqual([S1])
        expect(await list({ country: "DE' OR 1=1 --" })).toEqual([])
        expect(await list({ limit: 2 })).toEqual([S3, S2])
        expect(await list({ limit: 2, offset: 2 })).toEqual([S1])
        expect(await list({ since: T0 + HOUR, until: T0 + 2 * HOUR })).toEqual([S2])
        // The other app's session with the same id is its own.
        expect((await store.explorer.listSessions({ appId: blog, since: T0, until: T0 + HOUR, limit: 10, offset: 0 })).map((s) => [s.sessionId, s.views])).toEqual([[S1, 1]])
      })

      it('reads one session by app and id', async () => {
        expect(await store.explorer.getSession(shop, S2)).toMatchObject({ sessionId: S2, views: 1, actions: 1, errors: 0, hasError: false })
        expect(await store.explorer.getSession(blog, S2)).toBeUndefined()
        expect(await store.explorer.getSession(shop, 'nope')).toBeUndefined()
      })

      it("gives a session's timeline in time order, of that app only, with type filter and limit", async () => {
        const timeline = await store.explorer.sessionEvents({ appId: shop, sessionId: S1, limit: 100 })
        expect(timeline.map((e) => e.type)).toEqual(['view', 'action', 'error', 'view'])
        expect(timeline[1]).toMatchObject({ action: { name: 'Add to cart' }, context: { plan: 'pro' }, session: { id: S1 } })
        expect((await store.explorer.sessionEvents({ appId: shop, sessionId: S1, types: ['view', 'error'], limit: 100 })).map((e) => e.type)).toEqual(['view', 'error', 'view'])
        expect((await store.explorer.sessionEvents({ appId: shop, sessionId: S1, limit: 2 })).map((e) => e.type)).toEqual(['view', 'action'])
        expect((await store.explorer.sessionEvents({ appId: blog, sessionId: S1, limit: 100 })).map((e) => e.type)).toEqual(['view', 'action'])
        expect(await store.explorer.sessionEvents({ appId: shop, sessionId: 'x', limit: 100 })).toEqual([])
      })

      it('keeps a re-sent view once in the timeline, at its latest version', async () => {
        await store.writeBatches([batch(shop, [view(T0 + 5 * MINUTE, S1, 'v2', 'https://shop.example/cart', { view: { id: 'v2', url: 'https://shop.example/cart', version: 2, time_spent: 900 } })])])
        const timeline = await store.explorer.sessionEvents({ appId: shop, sessionId: S1, types: ['view'], limit: 100 })
        expect(timeline.map((e) => (e.type === 'view' ? [e.view.id, e.view.version ?? 0] : null))).toEqual([['v1', 0], ['v2', 2]])
      })

      it('loses a session with its events when the app is purged', async () => {
        await store.purgeApp(shop)
        expect(await store.explorer.sessionEvents({ appId: shop, sessionId: S1, limit: 100 })).toEqual([])
        expect(await store.explorer.listSessions({ appId: shop, since: T0, until: T0 + 4 * HOUR, limit: 10, offset: 0 })).toEqual([])
        expect(await store.explorer.sessionEvents({ appId: blog, sessionId: S1, limit: 100 })).toHaveLength(2)
      })
    })

    describe('explore', () => {
      it('counts one type over time buckets, zeros included, with the latest events newest first', async () => {
        const result = await store.explorer.explore(query({ type: 'action' }))
        expect(result.total).toBe(3)
        expect(result.series).toEqual([
          { start: T0, count: 1 },
          { start: T0 + HOUR, count: 1 },
          { start: T0 + 2 * HOUR, count: 1 },
          { start: T0 + 3 * HOUR, count: 0 },
        ])
        expect(result.events.map((e) => (e.type === 'action' ? e.action.name : e.type))).toEqual(['Add to cart', 'Buy', 'Add to cart'])
        expect(result.groups).toEqual([])
        expect(result.coveredFrom).toBeNull()
      })

      it('reads every type when none is given, newest first', async () => {
        const result = await store.explorer.explore(query({}))
        expect(result.total).toBe(8)
        expect(result.events.map((e) => e.type)).toEqual(['error', 'action', 'action', 'view', 'view', 'error', 'action', 'view'])
        expect((await store.explorer.explore(query({ eventLimit: 2 }))).events).toHaveLength(2)
      })

      it('takes since inclusive and until exclusive', async () => {
        const result = await store.explorer.explore(query({ type: 'view', since: T0 + MINUTE, until: T0 + 4 * MINUTE, bucketMs: MINUTE }))
        expect(result.total).toBe(1)
        expect(result.series).toEqual([
          { start: T0 + MINUTE, count: 1 },
          { start: T0 + 2 * MINUTE, count: 0 },
          { start: T0 + 3 * MINUTE, count: 0 },
        ])
      })

      it('filters by attributes, context keys included: any value of one attribute, all attributes', async () => {
        const total = async (filters: ExploreQuery['filters'], type?: ExploreQuery['type']) => (await store.explorer.explore(query({ filters, ...(type && { type }) }))).total
        expect(await total([{ path: ['action', 'name'], values: ['Add to cart'] }], 'action')).toBe(2)
        expect(await total([{ path: ['context', 'plan'], values: ['pro'] }])).toBe(3)
        expect(await total([{ path: ['context', 'plan'], values: ['pro'] }], 'action')).toBe(2)
        expect(await total([{ path: ['context', 'plan'], values: ['pro', 'free'] }], 'action')).toBe(3)
        expect(await total([{ path: ['context', 'plan'], values: ['pro'] }, { path: ['action', 'name'], values: ['Buy'] }])).toBe(0)
        // Numbers and booleans match their text.
        expect(await total([{ path: ['context', 'seats'], values: ['3'] }])).toBe(1)
        expect(await total([{ path: ['context', 'beta'], values: ['false'] }])).toBe(1)
        expect(await total([{ path: ['context', 'beta'], values: ['true'] }])).toBe(1)
        // A key with a dot is one key.
        expect(await total([{ path: ['context', 'a.b'], values: ['dotted'] }])).toBe(1)
        expect(await total([{ path: ['view', 'url'], values: ['https://shop.example/'] }], 'view')).toBe(2)
        expect(await total([{ path: ['geo', 'country'], values: ['FR'] }])).toBe(1)
        expect(await total([{ path: ['device', 'browser'], values: ['Chrome'] }])).toBe(1)
        // Hostile values are values: they match nothing.
        expect(await total([{ path: ['context', 'plan'], values: ["pro' OR '1'='1"] }])).toBe(0)
        expect(await total([{ path: ['context', 'plan'], values: ['x'.repeat(10_000)] }])).toBe(0)
        expect(await total([{ path: ['context', "'); DROP TABLE events; --"], values: ['pro'] }])).toBe(0)
        expect(await total([])).toBe(8)
      })

      it('refuses an attribute path it could not quote', async () => {
        for (const path of [['context', 'a"b'], ['context', 'a\\b'], [], ['context', ''], ['context', 'x'.repeat(129)]]) {
          await expect(store.explorer.explore(query({ filters: [{ path, values: ['x'] }] })), JSON.stringify(path)).rejects.toThrow(RangeError)
          await expect(store.explorer.explore(query({ groupBy: path })), JSON.stringify(path)).rejects.toThrow(RangeError)
        }
      })

      it('groups by an attribute, most frequent first, ties by value, absent as null', async () => {
        const byName = await store.explorer.explore(query({ type: 'action', groupBy: ['action', 'name'] }))
        expect(byName.groups).toEqual([
          { key: 'Add to cart', count: 2 },
          { key: 'Buy', count: 1 },
        ])
        const byPlan = await store.explorer.explore(query({ groupBy: ['context', 'plan'] }))
        expect(byPlan.groups).toEqual([
          { key: null, count: 4 },
          { key: 'pro', count: 3 },
          { key: 'free', count: 1 },
        ])
        expect((await store.explorer.explore(query({ groupBy: ['context', 'plan'], groupLimit: 1 }))).groups).toHaveLength(1)
        const bySeats = await store.explorer.explore(query({ type: 'action', groupBy: ['context', 'seats'] }))
        expect(bySeats.groups).toEqual([
          { key: null, count: 1 },
          { key: 1, count: 1 },
          { key: 3, count: 1 },
        ])
      })

      it('cuts long group keys to 512 characters', async () => {
        const long = (tail: string) => action(T0 + 3 * HOUR, S3, 'x'.repeat(600) + tail)
        await store.writeBatches([batch(shop, [long('a'), long('b')])])
        const result = await store.explorer.explore(query({ type: 'action', since: T0 + 3 * HOUR, groupBy: ['action', 'name'] }))
        expect(result.groups).toEqual([{ key: 'x'.repeat(512), count: 2 }])
        // Filters compare whole values.
        expect((await store.explorer.explore(query({ type: 'action', filters: [{ path: ['action', 'name'], values: ['x'.repeat(600) + 'a'] }] }))).total).toBe(1)
      })

      it('keeps apps apart', async () => {
        const result = await store.explorer.explore(query({ appId: blog, type: 'action', groupBy: ['action', 'name'] }))
        expect(result.total).toBe(1)
        expect(result.groups).toEqual([{ key: 'Add to cart', count: 1 }])
      })

      it('reads at most the scan cap, newest first, and says from when the answer is complete', async () => {
        const base = T0 + 10 * HOUR
        const many = Array.from({ length: 30 }, (_, i) => action(base + i * MINUTE, S3, `a${i}`))
        await store.writeBatches([batch(shop, many)])
        const window = { since: base, until: base + HOUR, bucketMs: 10 * MINUTE }
        const whole = await store.explorer.explore(query({ ...window, type: 'action' }))
        expect(whole.total).toBe(30)
        expect(whole.coveredFrom).toBeNull()

        for (const type of ['action', undefined] as const) {
          const capped = await store.explorer.explore(query({ ...window, ...(type && { type }), scanCap: 10 }))
          expect(capped.coveredFrom, String(type)).not.toBeNull()
          expect(capped.total).toBeGreaterThan(0)
          expect(capped.total).toBeLessThanOrEqual(10)
          // Exactly the events after coveredFrom, and only the newest.
          const expected = many.filter((e) => e.ts > capped.coveredFrom!).length
          expect(capped.total).toBe(expected)
          expect(capped.events[0]).toMatchObject({ action: { name: 'a29' } })
          expect(capped.series.reduce((sum, b) => sum + b.count, 0)).toBe(capped.total)
        }
      })
    })
  })
}

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tokenHint, type NewAuditEntry } from '../../src/audit/auditEntry.js'
import { DAY_MS } from '../../src/clock.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import type { WireType } from '../../src/protocol/wireSchema.js'
import { runRetention } from '../../src/retention/runRetention.js'
import type { IssueQuery } from '../../src/store/issues/issue.js'
import type { ClientToken, EventQuery, IngestBatch, SessionQuery, SessionSummary, Store } from '../../src/store/Store.js'

/**
 * The contract every Store adapter passes (DESIGN.md §3.6). It uses the Store interface only, so a new
 * adapter (PostgreSQL) runs it unchanged: call describeStoreContract from the adapter's test file.
 */

export interface StoreUnderTest {
  /** A fresh, empty store. */
  store: Store
  /** Closes the store if the test did not, and removes everything it created. */
  cleanup(): Promise<void>
  /**
   * Opens what `store.backup(destination)` wrote with a new adapter instance. The contract closes the
   * returned store itself.
   */
  openBackup(destination: string): Promise<Store>
}

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0)
const DAY = '2024-05-01'

let sequence = 0
function custom(name: string, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return { type: 'custom', custom: { name }, ts: T0, received_at: T0, ...overrides } as StoredEvent
}
function view(id: string, version: number | undefined, overrides: Partial<StoredEvent> = {}): StoredEvent {
  const fields = version === undefined ? {} : { version }
  return { type: 'view', view: { id, url: `https://example.com/${id}`, ...fields }, ts: T0, received_at: T0, ...overrides } as StoredEvent
}
function ofType(type: WireType, overrides: Partial<StoredEvent> = {}): StoredEvent {
  const base = { ts: T0, received_at: T0 }
  const bodies: Record<WireType, object> = {
    view: { view: { id: `view-${sequence++}`, url: 'https://example.com/' } },
    action: { action: { type: 'click', name: 'Buy' } },
    error: { error: { message: 'boom' } },
    resource: { resource: { url: 'https://example.com/a.js', duration: 3 } },
    long_task: { long_task: { duration: 70 } },
    vital: { vital: { name: 'INP', value: 120 } },
    report: { report: { type: 'deprecation', body: { id: 'x' } } },
    custom: { custom: { name: 'c' } },
  }
  return { type, ...bodies[type], ...base, ...overrides } as StoredEvent
}
/** An event no store can serialize: the interface's one way to make a single batch fail. */
function unserializable(): StoredEvent {
  const context: Record<string, unknown> = { fine: 1 }
  context.self = context
  return custom('broken', { context } as Partial<StoredEvent>)
}
function batch(appId: number, events: StoredEvent[], dropped: IngestBatch['dropped'] = {}, day = DAY): IngestBatch {
  return { appId, day, events, dropped }
}
async function readAll(store: Store, query: EventQuery): Promise<StoredEvent[]> {
  const events: StoredEvent[] = []
  for await (const event of store.readEvents(query)) events.push(event)
  return events
}
async function readSessions(store: Store, query: SessionQuery): Promise<SessionSummary[]> {
  const sessions: SessionSummary[] = []
  for await (const session of store.readSessions(query)) sessions.push(session)
  return sessions
}
const inSession = (id: string, event: StoredEvent): StoredEvent => ({ ...event, session: { id } })
const nameOf = (event: StoredEvent) => (event.type === 'custom' ? event.custom.name : event.type === 'view' ? event.view.id : event.type)

export function describeStoreContract(name: string, createStore: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, () => {
    let subject: StoreUnderTest
    let store: Store

    beforeEach(async () => {
      subject = await createStore()
      store = subject.store
    })
    afterEach(async () => subject.cleanup())

    async function app(appName: string, settings = {}) {
      return store.createApp({ name: appName, createdAt: T0, settings })
    }
    async function writeOk(batches: IngestBatch[]) {
      expect(await store.writeBatches(batches)).toEqual(batches.map(() => undefined))
    }

    describe('apps', () => {
      it('creates, gets and lists apps in creation order', async () => {
        const shop = await app('shop', { rate_limit: 5 })
        const blog = await store.createApp({ name: 'blog', createdAt: T0 + 1, settings: {} })
        expect(shop).toEqual({ id: expect.any(Number), name: 'shop', createdAt: T0, settings: { rate_limit: 5 } })
        expect(blog.id).not.toBe(shop.id)
        expect(await store.getApp(shop.id)).toEqual(shop)
        expect(await store.listApps()).toEqual([shop, blog])
      })

      it('finds an app by its name, whatever the case', async () => {
        const shop = await app('shop')
        expect(await store.findAppByName('shop')).toEqual(shop)
        expect(await store.findAppByName('SHOP')).toEqual(shop)
        expect(await store.findAppByName('sho')).toBeUndefined()
        expect(await store.findAppByName('shop ')).toBeUndefined()
      })

      it('answers undefined for an unknown app', async () => {
        expect(await store.getApp(424242)).toBeUndefined()
        expect(await store.findAppByName('nope')).toBeUndefined()
        expect(await store.listApps()).toEqual([])
      })

      it('refuses a second app with the same name, also in another case', async () => {
        await app('shop')
        await expect(app('shop')).rejects.toThrow()
        await expect(app('Shop')).rejects.toThrow()
        expect(await store.listApps()).toHaveLength(1)
      })

      it('stores settings as given and replaces them whole on update', async () => {
        const settings = { origins: ['https://shop.example.com', 'https://*.example.org'], rate_limit: 100, retention: { error: 90, resource: 7 } }
        const shop = await app('shop', settings)
        const blog = await app('blog', { rate_limit: 1 })
        expect((await store.getApp(shop.id))?.settings).toEqual(settings)
        await store.updateAppSettings(shop.id, { retention: { view: 10 } })
        expect((await store.getApp(shop.id))?.settings).toEqual({ retention: { view: 10 } })
        expect((await store.findAppByName('shop'))?.settings).toEqual({ retention: { view: 10 } })
        expect((await store.getApp(blog.id))?.settings).toEqual({ rate_limit: 1 })
      })
    })

    describe('client tokens', () => {
      const token = (value: string, appId: number, createdAt = T0): ClientToken => ({
        token: value,
        appId,
        createdAt,
        revokedAt: null,
        lastUsedAt: null,
      })

      it('creates, finds and lists tokens per app, oldest first', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        const second = token('tc_second', shop.id, T0 + 10)
        const first = token('tc_first', shop.id, T0)
        await store.createToken(second)
        await store.createToken(first)
        await store.createToken(token('tc_blog', blog.id))
        expect(await store.findToken('tc_first')).toEqual(first)
        expect(await store.findToken('tc_unknown')).toBeUndefined()
        expect(await store.listTokens(shop.id)).toEqual([first, second])
        expect(await store.listTokens(blog.id)).toEqual([token('tc_blog', blog.id)])
      })

      it('refuses a duplicate token', async () => {
        const shop = await app('shop')
        await store.createToken(token('tc_same', shop.id))
        await expect(store.createToken(token('tc_same', shop.id))).rejects.toThrow()
      })

      it('revokes a token once: the second revoke returns false and keeps the first time', async () => {
        const shop = await app('shop')
        await store.createToken(token('tc_x', shop.id))
        expect(await store.revokeToken('tc_x', T0 + 5)).toBe(true)
        expect(await store.revokeToken('tc_x', T0 + 9)).toBe(false)
        expect(await store.revokeToken('tc_unknown', T0)).toBe(false)
        expect(await store.findToken('tc_x')).toEqual({ ...token('tc_x', shop.id), revokedAt: T0 + 5 })
      })

      it('moves last use only forward', async () => {
        const shop = await app('shop')
        await store.createToken(token('tc_x', shop.id))
        await store.touchToken('tc_x', T0 + 3_600_000)
        expect((await store.findToken('tc_x'))?.lastUsedAt).toBe(T0 + 3_600_000)
        await store.touchToken('tc_x', T0)
        expect((await store.findToken('tc_x'))?.lastUsedAt).toBe(T0 + 3_600_000)
        await store.touchToken('tc_x', T0 + 7_200_000)
        expect((await store.findToken('tc_x'))?.lastUsedAt).toBe(T0 + 7_200_000)
        await store.touchToken('tc_unknown', T0)
        expect(await store.findToken('tc_unknown')).toBeUndefined()
      })
    })

    describe('writeBatches', () => {
      it('stores each event exactly as given', async () => {
        const shop = await app('shop')
        const events: StoredEvent[] = [
          custom('a', {
            context: { plan: 'pro', n: 1.5, list: [1, 'x', null, true], nested: { deep: { ok: false } }, unicode: 'Grüße 😀' },
            device: { type: 'mobile', browser: 'Safari', browser_version: '17', os: 'iOS', os_version: '17' },
            service: 'web',
            env: 'prod',
            release: '1.2.3',
            view: { id: 'v1', url: 'https://example.com/', referrer: 'https://example.org/', name: 'home' },
          } as Partial<StoredEvent>),
          ofType('error', { error: { message: 'x', stack: 'at f (a.js:1:2)', handled: true, type: 'TypeError', source: 'source' } } as Partial<StoredEvent>),
          ofType('report', { report: { type: 'csp-violation', body: { blockedURL: 'https://x.example/', lineNumber: 3 } } } as Partial<StoredEvent>),
        ]
        await writeOk([batch(shop.id, events)])
        expect(await readAll(store, { appId: shop.id })).toEqual(events)
      })

      it('writes several batches, of several apps, in one call', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([batch(shop.id, [custom('s1'), custom('s2')]), batch(blog.id, [custom('b1')]), batch(shop.id, [custom('s3')])])
        expect((await readAll(store, { appId: shop.id })).map(nameOf)).toEqual(['s1', 's2', 's3'])
        expect((await readAll(store, { appId: blog.id })).map(nameOf)).toEqual(['b1'])
      })

      it('answers an empty call with an empty result', async () => {
        expect(await store.writeBatches([])).toEqual([])
      })

      it('stores a failing batch not at all and the other batches of the call whole', async () => {
        const shop = await app('shop')
        const results = await store.writeBatches([
          batch(shop.id, [custom('a1'), custom('a2')], { invalid: 1 }),
          batch(shop.id, [custom('b1'), view('vb', 1), unserializable(), custom('b4')], { too_large: 2 }),
          batch(shop.id, [custom('c1')], { invalid: 4 }),
        ])
        expect(results).toHaveLength(3)
        expect(results[0]).toBeUndefined()
        expect(results[1]).toBeInstanceOf(Error)
        expect(results[2]).toBeUndefined()
        expect((await readAll(store, { appId: shop.id })).map(nameOf)).toEqual(['a1', 'a2', 'c1'])
        // Its counts were not applied either.
        expect(await store.readDailyCounts(shop.id, DAY)).toEqual([
          { day: DAY, kind: 'accepted', key: 'custom', count: 3 },
          { day: DAY, kind: 'dropped', key: 'invalid', count: 5 },
        ])
        // The store keeps working.
        await writeOk([batch(shop.id, [custom('d1')])])
        expect(await store.countEvents({ appId: shop.id })).toBe(4)
      })

      it('counts accepted events by type and dropped ones by reason, per day', async () => {
        const shop = await app('shop')
        await writeOk([
          batch(shop.id, [ofType('error'), ofType('error'), ofType('vital')], { invalid: 2 }),
          batch(shop.id, [ofType('error')], { rate_limited: 7, too_large: 0 }),
          batch(shop.id, [], { invalid: 1 }),
          batch(shop.id, [ofType('custom')], {}, '2024-05-02'),
        ])
        await writeOk([batch(shop.id, [ofType('vital')], { invalid: 1 })])
        expect(await store.readDailyCounts(shop.id, '2024-01-01')).toEqual([
          { day: DAY, kind: 'accepted', key: 'error', count: 3 },
          { day: DAY, kind: 'accepted', key: 'vital', count: 2 },
          { day: DAY, kind: 'dropped', key: 'invalid', count: 4 },
          { day: DAY, kind: 'dropped', key: 'rate_limited', count: 7 },
          { day: '2024-05-02', kind: 'accepted', key: 'custom', count: 1 },
        ])
      })

      it('reads daily counts from a day on, for one app only', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        for (const day of ['2024-04-29', '2024-04-30', '2024-05-01']) await writeOk([batch(shop.id, [ofType('error')], {}, day)])
        await writeOk([batch(blog.id, [ofType('error')], {}, '2024-05-01')])
        expect((await store.readDailyCounts(shop.id, '2024-04-30')).map((c) => c.day)).toEqual(['2024-04-30', '2024-05-01'])
        expect(await store.readDailyCounts(shop.id, '2024-05-02')).toEqual([])
        expect(await store.readDailyCounts(blog.id, '2024-01-01')).toEqual([{ day: '2024-05-01', kind: 'accepted', key: 'error', count: 1 }])
      })

      it('deletes daily counts before a day, for one app only', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        for (const day of ['2024-04-29', '2024-04-30', '2024-05-01']) {
          await writeOk([batch(shop.id, [ofType('error')], { invalid: 1 }, day), batch(blog.id, [ofType('error')], {}, day)])
        }
        expect(await store.deleteDailyCountsBefore(shop.id, '2024-04-30')).toBe(2)
        expect((await store.readDailyCounts(shop.id, '2000-01-01')).map((c) => c.day)).toEqual(['2024-04-30', '2024-04-30', '2024-05-01', '2024-05-01'])
        expect(await store.readDailyCounts(blog.id, '2000-01-01')).toHaveLength(3)
      })
    })

    describe('views', () => {
      const stored = async (appId: number) => (await readAll(store, { appId, types: ['view'] })).map((e) => (e.type === 'view' ? e.view : undefined))

      it('keeps one view per id, with the highest version', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [view('v1', 1, { ts: T0 + 1 })])])
        await writeOk([batch(shop.id, [view('v1', 3, { ts: T0 + 3 })])])
        expect(await stored(shop.id)).toEqual([{ id: 'v1', url: 'https://example.com/v1', version: 3 }])
        expect(await store.countEvents({ appId: shop.id })).toBe(1)
        expect((await readAll(store, { appId: shop.id }))[0]?.ts).toBe(T0 + 3)
      })

      it('never lets a lower version overwrite a higher one, in one batch or across calls', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [view('v1', 5, { ts: T0 + 5 }), view('v1', 2, { ts: T0 + 2 })])])
        await writeOk([batch(shop.id, [view('v1', 4, { ts: T0 + 4 })]), batch(shop.id, [view('v1', 0)])])
        await writeOk([batch(shop.id, [view('v1', undefined)])])
        expect(await stored(shop.id)).toEqual([{ id: 'v1', url: 'https://example.com/v1', version: 5 }])
        expect((await readAll(store, { appId: shop.id }))[0]?.ts).toBe(T0 + 5)
      })

      it('lets an equal version replace the stored view', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [view('v1', 2, { context: { n: 1 } } as Partial<StoredEvent>)])])
        await writeOk([batch(shop.id, [view('v1', 2, { context: { n: 2 } } as Partial<StoredEvent>)])])
        expect((await readAll(store, { appId: shop.id })).map((e) => e.context)).toEqual([{ n: 2 }])
      })

      it('keeps views of different ids, and the same id in different apps, apart', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([batch(shop.id, [view('v1', 1), view('v2', 1)]), batch(blog.id, [view('v1', 9)])])
        await writeOk([batch(shop.id, [view('v1', 2)])])
        expect(await stored(shop.id)).toEqual([
          { id: 'v1', url: 'https://example.com/v1', version: 2 },
          { id: 'v2', url: 'https://example.com/v2', version: 1 },
        ])
        expect(await stored(blog.id)).toEqual([{ id: 'v1', url: 'https://example.com/v1', version: 9 }])
      })
    })

    describe('session summaries', () => {
      const S1 = '2b7d0a3e-8f1c-4b6a-9d2e-5c4f3a2b1c0d'
      const S2 = '9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f'
      const summary = (appId: number, sessionId: string, fields: Partial<SessionSummary>): SessionSummary => ({
        appId,
        sessionId,
        start: T0,
        end: T0,
        views: 0,
        actions: 0,
        errors: 0,
        hasError: false,
        country: null,
        browser: null,
        os: null,
        deviceType: null,
        receivedAt: T0,
        ...fields,
      })

      it('sums up each session from its events, across batches and calls', async () => {
        const shop = await app('shop')
        const device = { type: 'mobile', browser: 'Safari', os: 'iOS' } as const
        await writeOk([
          batch(shop.id, [
            inSession(S1, view('v1', 1, { ts: T0 + 10, received_at: T0 + 10 })),
            inSession(S1, ofType('action', { ts: T0 + 20, received_at: T0 + 20, device, geo: { country: 'DE' } } as Partial<StoredEvent>)),
            inSession(S2, ofType('vital', { ts: T0 + 5 })),
          ]),
          batch(shop.id, [inSession(S1, ofType('error', { ts: T0 + 30, received_at: T0 + 30 })), inSession(S1, view('v1', 2, { ts: T0 + 31, received_at: T0 + 31 }))]),
        ])
        await writeOk([
          batch(shop.id, [
            inSession(S1, view('v1', 3, { ts: T0 + 40, received_at: T0 + 40 })),
            inSession(S1, view('v2', 1, { ts: T0 + 50, received_at: T0 + 50 })),
            inSession(S1, ofType('action', { ts: T0 + 1, received_at: T0 + 60 })),
          ]),
        ])
        expect(await readSessions(store, { appId: shop.id })).toEqual([
          summary(shop.id, S1, {
            start: T0 + 1,
            end: T0 + 50,
            // v1 came in three versions: one view.
            views: 2,
            actions: 2,
            errors: 1,
            hasError: true,
            country: 'DE',
            browser: 'Safari',
            os: 'iOS',
            deviceType: 'mobile',
            receivedAt: T0 + 60,
            // Its first and last view by time: v1 (whose versions moved it to T0 + 40) and v2.
            entryPage: '/v1',
            exitPage: '/v2',
          }),
          summary(shop.id, S2, { start: T0 + 5, end: T0 + 5 }),
        ])
      })

      it('keeps the entry and exit pages and the entry env by (ts, id), whatever order the views arrive in', async () => {
        const shop = await app('shop')
        const at = (id: string, ts: number, env?: string) => inSession(S1, view(id, 1, { ts, received_at: T0 + 100, ...(env && { env }) } as Partial<StoredEvent>))
        // Late first: the middle view arrives, then the last, then (in a later call) the first.
        await writeOk([batch(shop.id, [at('middle', T0 + 20, 'staging'), at('last', T0 + 30)])])
        await writeOk([batch(shop.id, [at('first', T0 + 10, 'production'), inSession(S1, ofType('action', { ts: T0 + 40, received_at: T0 + 100 }))])])
        // A newer version of the last view moved earlier than the middle one: the exit is read again.
        await writeOk([batch(shop.id, [inSession(S1, view('last', 2, { ts: T0 + 15, received_at: T0 + 101 }))])])
        const [summary1] = await readSessions(store, { appId: shop.id })
        expect(summary1).toMatchObject({ entryPage: '/first', env: 'production', exitPage: '/middle', views: 3 })
        // A session without views has none.
        await writeOk([batch(shop.id, [inSession(S2, ofType('error'))])])
        const s2 = (await readSessions(store, { appId: shop.id })).find((s) => s.sessionId === S2)!
        expect(s2.entryPage).toBeUndefined()
        expect(s2.exitPage).toBeUndefined()
        expect(s2.env).toBeUndefined()
      })

      it('stores no summary for events without a session, and keeps apps apart', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([batch(shop.id, [custom('a'), inSession(S1, ofType('error'))]), batch(blog.id, [inSession(S1, ofType('action'))])])
        expect(await readSessions(store, { appId: shop.id })).toEqual([summary(shop.id, S1, { errors: 1, hasError: true })])
        expect(await readSessions(store, { appId: blog.id })).toEqual([summary(blog.id, S1, { actions: 1 })])
      })

      it('leaves summaries untouched by a batch that failed', async () => {
        const shop = await app('shop')
        const results = await store.writeBatches([
          batch(shop.id, [inSession(S1, ofType('error'))]),
          batch(shop.id, [inSession(S1, ofType('error')), inSession(S2, ofType('action')), unserializable()]),
        ])
        expect(results[0]).toBeUndefined()
        expect(results[1]).toBeInstanceOf(Error)
        expect(await readSessions(store, { appId: shop.id })).toEqual([summary(shop.id, S1, { errors: 1, hasError: true })])
      })

      it('reads by start time, since (inclusive) and until (exclusive), across pages', async () => {
        const shop = await app('shop')
        const ids = Array.from({ length: 1200 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)
        await writeOk([batch(shop.id, ids.map((id, i) => inSession(id, custom(`e${i}`, { ts: T0 + (i % 600) }))))])
        const all = await readSessions(store, { appId: shop.id })
        expect(all).toHaveLength(1200)
        expect(all.map((s) => s.start)).toEqual([...all.map((s) => s.start)].sort((a, b) => a - b))
        expect((await readSessions(store, { appId: shop.id, since: T0 + 10, until: T0 + 12 })).map((s) => s.sessionId)).toEqual([
          ids[10],
          ids[610],
          ids[11],
          ids[611],
        ])
      })

      it('expires summaries by the receive time of their last event, and purges them with the app', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([
          batch(shop.id, [inSession(S1, custom('old', { received_at: T0 - 1000 })), inSession(S2, custom('old', { received_at: T0 - 1000 }))]),
          batch(blog.id, [inSession(S1, custom('old', { received_at: T0 - 1000 }))]),
        ])
        // S2 came back later: it stays.
        await writeOk([batch(shop.id, [inSession(S2, custom('new', { received_at: T0 }))])])
        expect(await store.deleteExpired({ appId: shop.id, type: 'session', receivedBefore: T0 - 1, limit: 10 })).toBe(1)
        expect((await readSessions(store, { appId: shop.id })).map((s) => s.sessionId)).toEqual([S2])
        expect(await readSessions(store, { appId: blog.id })).toHaveLength(1)
        await store.purgeApp(blog.id)
        expect(await readSessions(store, { appId: blog.id })).toEqual([])
        expect(await readSessions(store, { appId: shop.id })).toHaveLength(1)
      })
    })

    describe('readEvents and countEvents', () => {
      it('reads in ts order, then arrival order, for one app only', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([batch(shop.id, [custom('t3a', { ts: T0 + 3 }), custom('t1a', { ts: T0 + 1 }), custom('t3b', { ts: T0 + 3 })])])
        await writeOk([batch(blog.id, [custom('other', { ts: T0 + 2 })])])
        await writeOk([batch(shop.id, [custom('t2', { ts: T0 + 2 }), custom('t1b', { ts: T0 + 1 })])])
        expect((await readAll(store, { appId: shop.id })).map(nameOf)).toEqual(['t1a', 't1b', 't2', 't3a', 't3b'])
        expect(await store.countEvents({ appId: shop.id })).toBe(5)
        expect(await readAll(store, { appId: 424242 })).toEqual([])
        expect(await store.countEvents({ appId: 424242 })).toBe(0)
      })

      it('filters by types, since (inclusive) and until (exclusive)', async () => {
        const shop = await app('shop')
        await writeOk([
          batch(shop.id, [
            ofType('error', { ts: T0 }),
            ofType('vital', { ts: T0 + 10 }),
            ofType('error', { ts: T0 + 20 }),
            ofType('custom', { ts: T0 + 30 }),
            ofType('error', { ts: T0 + 30 }),
          ]),
        ])
        const check = async (query: Omit<EventQuery, 'appId'>, expected: Array<[string, number]>) => {
          const events = await readAll(store, { appId: shop.id, ...query })
          expect(events.map((e) => [e.type, e.ts - T0])).toEqual(expected)
          expect(await store.countEvents({ appId: shop.id, ...query })).toBe(expected.length)
        }
        await check({ types: ['error'] }, [['error', 0], ['error', 20], ['error', 30]])
        await check({ types: ['error', 'vital'] }, [['error', 0], ['vital', 10], ['error', 20], ['error', 30]])
        await check({ types: [] }, [['error', 0], ['vital', 10], ['error', 20], ['custom', 30], ['error', 30]])
        await check({ since: T0 + 10 }, [['vital', 10], ['error', 20], ['custom', 30], ['error', 30]])
        await check({ until: T0 + 20 }, [['error', 0], ['vital', 10]])
        await check({ since: T0 + 10, until: T0 + 30, types: ['error'] }, [['error', 20]])
        await check({ since: T0 + 30, until: T0 + 30 }, [])
        await check({ types: ['resource'] }, [])
      })

      it('reads and counts across many pages in order, with filters', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        // 3,100 events, seven per millisecond, written in shuffled ts order over several calls.
        const events = Array.from({ length: 3100 }, (_, i) =>
          i % 5 === 0 ? ofType('error', { ts: T0 + Math.floor(((i * 37) % 3100) / 7) }) : custom(`e${i}`, { ts: T0 + Math.floor(((i * 37) % 3100) / 7) }),
        )
        for (let i = 0; i < events.length; i += 400) await writeOk([batch(shop.id, events.slice(i, i + 400)), batch(blog.id, [custom('noise', { ts: T0 + i })])])
        const expected = events.map((event, arrival) => ({ event, arrival })).sort((a, b) => a.event.ts - b.event.ts || a.arrival - b.arrival)

        const all = await readAll(store, { appId: shop.id })
        expect(all).toHaveLength(3100)
        expect(all).toEqual(expected.map((e) => e.event))
        expect(await store.countEvents({ appId: shop.id })).toBe(3100)

        const since = T0 + 20
        const until = T0 + 440
        const filtered = expected.filter(({ event }) => event.type === 'custom' && event.ts >= since && event.ts < until).map((e) => e.event)
        expect(filtered.length).toBeGreaterThan(2000)
        expect(await readAll(store, { appId: shop.id, types: ['custom'], since, until })).toEqual(filtered)
        expect(await store.countEvents({ appId: shop.id, types: ['custom'], since, until })).toBe(filtered.length)
      })

      it('lets a reader stop early', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, Array.from({ length: 1500 }, (_, i) => custom(`e${i}`, { ts: T0 + i })))])
        const seen: string[] = []
        for await (const event of store.readEvents({ appId: shop.id })) {
          seen.push(nameOf(event))
          if (seen.length === 3) break
        }
        expect(seen).toEqual(['e0', 'e1', 'e2'])
        await writeOk([batch(shop.id, [custom('after')])])
        expect(await store.countEvents({ appId: shop.id })).toBe(1501)
      })
    })

    describe('deleting', () => {
      it("purges every event and count of one app, and nothing of another's", async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        const many = Array.from({ length: 6000 }, (_, i) => custom(`s${i}`))
        await writeOk([batch(shop.id, many.slice(0, 3000), { invalid: 1 }), batch(blog.id, [custom('b1'), view('v1', 1)], { invalid: 2 })])
        await writeOk([batch(shop.id, [...many.slice(3000), view('v1', 1)])])
        expect(await store.purgeApp(shop.id)).toBe(6001)
        expect(await store.countEvents({ appId: shop.id })).toBe(0)
        expect(await store.readDailyCounts(shop.id, '2000-01-01')).toEqual([])
        expect((await readAll(store, { appId: blog.id })).map(nameOf)).toEqual(['b1', 'v1'])
        expect(await store.readDailyCounts(blog.id, '2000-01-01')).toHaveLength(3)
        expect(await store.purgeApp(shop.id)).toBe(0)
        // The app can take data again, and a view id that was purged starts afresh.
        await writeOk([batch(shop.id, [view('v1', 0)])])
        expect(await store.countEvents({ appId: shop.id })).toBe(1)
      })

      it('deletes expired events of one app and type, received before a time, up to a limit', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        const old = (type: WireType, n: number) => Array.from({ length: n }, () => ofType(type, { received_at: T0 - 1000 }))
        await writeOk([
          batch(shop.id, [...old('error', 5), ...old('vital', 2), ofType('error', { received_at: T0 }), ofType('error', { received_at: T0 - 1 })]),
          batch(blog.id, old('error', 3)),
        ])
        const input = { appId: shop.id, type: 'error' as const, receivedBefore: T0 - 1, limit: 4 }
        expect(await store.deleteExpired(input)).toBe(4)
        expect(await store.deleteExpired(input)).toBe(1)
        expect(await store.deleteExpired(input)).toBe(0)
        expect(await store.countEvents({ appId: shop.id, types: ['error'] })).toBe(2)
        expect(await store.countEvents({ appId: shop.id, types: ['vital'] })).toBe(2)
        expect(await store.countEvents({ appId: blog.id })).toBe(3)
        // receivedBefore is exclusive.
        expect(await store.deleteExpired({ ...input, receivedBefore: T0 })).toBe(1)
        expect((await readAll(store, { appId: shop.id, types: ['error'] })).map((e) => e.received_at)).toEqual([T0])
      })

      it('deletes by receive time, whatever the event time says', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [custom('future', { ts: T0 + 10 * 365 * 86_400_000, received_at: T0 - 1000 })])])
        expect(await store.deleteExpired({ appId: shop.id, type: 'custom', receivedBefore: T0, limit: 10 })).toBe(1)
      })

      it('compacts without losing anything', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [custom('a'), custom('b')])])
        await store.deleteExpired({ appId: shop.id, type: 'custom', receivedBefore: T0 + 1, limit: 1 })
        await store.compact()
        expect((await readAll(store, { appId: shop.id })).map(nameOf)).toEqual(['b'])
      })

      it('reports the same retention counts, per app and type, whether old events go by the row or in whole units', async () => {
        const shop = await app('shop')
        const blog = await app('blog', { retention: { view: 90 } })
        const received = (days: number) => ({ ts: T0 - days * DAY_MS, received_at: T0 - days * DAY_MS })
        await writeOk([
          batch(shop.id, [custom('a', received(400)), custom('b', received(100)), ofType('resource', received(100)), custom('c', received(40)), ofType('resource', received(20)), custom('d', received(1))]),
          batch(blog.id, [view('v-old', 1, received(120)), view('v-kept', 1, received(60)), custom('e', received(100)), custom('f', received(10))]),
        ])
        // Nothing is older than every app's every setting but the events of 100 days and more (PostgreSQL drops
        // their weeks whole); the rest go by their own app's settings.
        const report = await runRetention({ store, clock: { now: () => T0 } })
        expect(report.deleted).toEqual([
          { appId: shop.id, type: 'resource', count: 2 },
          { appId: shop.id, type: 'custom', count: 3 },
          { appId: blog.id, type: 'view', count: 1 },
          { appId: blog.id, type: 'custom', count: 1 },
        ])
        expect(report.total).toBe(7)
        expect((await store.readAudit({ appId: shop.id }))[0]?.detail).toEqual({ deleted: { resource: 2, custom: 3 }, total: 5 })
        expect((await store.readAudit({ appId: blog.id }))[0]?.detail).toEqual({ deleted: { view: 1, custom: 1 }, total: 2 })
        expect((await readAll(store, { appId: shop.id })).map(nameOf)).toEqual(['d'])
        expect((await readAll(store, { appId: blog.id })).map(nameOf)).toEqual(['v-kept', 'f'])
        expect((await runRetention({ store, clock: { now: () => T0 } })).total).toBe(0)
        // A view whose stored version went is new again when it comes back.
        await writeOk([batch(blog.id, [inSession('2b7d0a3e-8f1c-4b6a-9d2e-5c4f3a2b1c0d', view('v-old', 1))])])
        expect((await readSessions(store, { appId: blog.id }))[0]?.views).toBe(1)
        expect(await store.countEvents({ appId: blog.id, types: ['view'] })).toBe(2)
      })
    })

    describe('issues', () => {
      const FP_A = 'a'.repeat(32)
      const FP_B = 'b'.repeat(32)
      const FP_C = 'c'.repeat(32)
      const S1 = '2b7d0a3e-8f1c-4b6a-9d2e-5c4f3a2b1c0d'
      const S2 = '9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f'
      const S3 = '0e1d2c3b-4a59-4687-9a6b-5c4d3e2f1a0b'
      /** An error event grouped into the issue with a fingerprint, received when it happened unless told. */
      const failure = (fingerprint: string, ts: number, fields: { release?: string; session?: string; message?: string; receivedAt?: number } = {}): StoredEvent => ({
        type: 'error',
        error: { message: fields.message ?? `boom ${fingerprint.slice(0, 1)}`, type: 'TypeError', stack: 'TypeError: boom\n    at f (https://example.com/app.js:1:2)' },
        ts,
        received_at: fields.receivedAt ?? ts,
        ...(fields.release === undefined ? {} : { release: fields.release }),
        ...(fields.session === undefined ? {} : { session: { id: fields.session } }),
        issue: { fingerprint, title: `TypeError: ${fields.message ?? `boom ${fingerprint.slice(0, 1)}`}`, culprit: 'f (app.js)' },
      })
      /** A browser report grouped into the issue with a fingerprint (as fingerprintError's groupReport does). */
      const reported = (fingerprint: string, ts: number, fields: { session?: string; receivedAt?: number; line?: number } = {}): StoredEvent => ({
        type: 'report',
        report: { type: 'csp-violation', body: { effectiveDirective: 'img-src', blockedURL: 'https://cdn.example/a.png', lineNumber: fields.line ?? 1 } },
        ts,
        received_at: fields.receivedAt ?? ts,
        ...(fields.session === undefined ? {} : { session: { id: fields.session } }),
        issue: { fingerprint, title: 'CSP img-src blocked https://cdn.example', culprit: 'app.js' },
      })
      const only = async (appId: number) => {
        const issues = await store.listIssues({ appId })
        expect(issues).toHaveLength(1)
        return issues[0]!
      }

      it('groups error events by fingerprint per app and counts them exactly, across batches and calls', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([
          batch(shop.id, [failure(FP_A, T0 + 10, { message: 'first' }), failure(FP_B, T0 + 11), failure(FP_A, T0 + 5, { message: 'earliest' })]),
          batch(blog.id, [failure(FP_A, T0 + 7)]),
          batch(shop.id, [failure(FP_A, T0 + 30), ofType('error', { ts: T0 + 40 }), custom('not an error')]),
        ])
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 20, { message: 'later' })])])

        const [a, b] = await store.listIssues({ appId: shop.id, sort: 'count' })
        expect(a).toEqual({
          id: expect.any(Number),
          appId: shop.id,
          fingerprint: FP_A,
          kind: 'error',
          // From the earliest event, whatever order they arrived in.
          title: 'TypeError: earliest',
          culprit: 'f (app.js)',
          type: 'TypeError',
          status: 'open',
          resolvedAt: null,
          regressedAt: null,
          firstSeen: T0 + 5,
          lastSeen: T0 + 30,
          count: 4,
          sessions: 0,
          firstRelease: null,
          lastRelease: null,
          receivedAt: T0 + 30,
        })
        expect(b).toMatchObject({ fingerprint: FP_B, count: 1, firstSeen: T0 + 11, lastSeen: T0 + 11 })
        // An error without an issue key (stored before grouping existed) is kept but grouped into nothing.
        expect(await store.countEvents({ appId: shop.id, types: ['error'] })).toBe(6)
        const other = await only(blog.id)
        expect(other).toMatchObject({ fingerprint: FP_A, count: 1 })
        expect(other.id).not.toBe(a!.id)
        expect(await store.getIssue(undefined, a!.id)).toEqual(a)
        expect(await store.getIssue(shop.id, a!.id)).toEqual(a)
        expect(await store.getIssue(blog.id, a!.id)).toBeUndefined()
        expect(await store.getIssue(undefined, 424242)).toBeUndefined()
        // The events are stored as given, their issue key included.
        expect((await readAll(store, { appId: shop.id, types: ['error'] })).filter((e) => e.issue).map((e) => e.ts - T0)).toEqual([5, 10, 11, 20, 30])
      })

      it('counts distinct sessions exactly', async () => {
        const shop = await app('shop')
        await writeOk([
          batch(shop.id, [failure(FP_A, T0, { session: S1 }), failure(FP_A, T0 + 1, { session: S1 }), failure(FP_A, T0 + 2, { session: S2 }), failure(FP_A, T0 + 3)]),
          batch(shop.id, [failure(FP_A, T0 + 4, { session: S2 }), failure(FP_B, T0 + 4, { session: S1 })]),
        ])
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 5, { session: S1 }), failure(FP_A, T0 + 6, { session: S3 })])])
        const issues = await store.listIssues({ appId: shop.id, sort: 'count' })
        expect(issues.map((i) => [i.fingerprint, i.count, i.sessions])).toEqual([
          [FP_A, 7, 3],
          [FP_B, 1, 1],
        ])
      })

      it('records the releases an issue was seen in, with counts, and its first and latest release', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 10, { release: '1.0' }), failure(FP_A, T0 + 20, { release: '1.1' }), failure(FP_A, T0 + 15, { release: '1.0' })])])
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 30, { release: '1.1' }), failure(FP_A, T0 + 40)])])
        const issue = await only(shop.id)
        expect(issue).toMatchObject({ count: 5, firstRelease: '1.0', lastRelease: '1.1' })
        expect(await store.issueReleases(issue.id)).toEqual([
          { release: '1.0', firstSeen: T0 + 10, lastSeen: T0 + 15, count: 2 },
          { release: '1.1', firstSeen: T0 + 20, lastSeen: T0 + 30, count: 2 },
        ])
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 50, { release: '2.0' })])])
        expect((await only(shop.id)).lastRelease).toBe('2.0')
        // An event older than the latest does not make its release the latest.
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 1, { release: '0.9' })])])
        expect(await only(shop.id)).toMatchObject({ firstRelease: '0.9', lastRelease: '2.0', firstSeen: T0 + 1, lastSeen: T0 + 50 })
        expect(await store.issueReleases(424242)).toEqual([])
      })

      it('re-opens a resolved issue on an event of a release first seen after the resolution, or of no release', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [failure(FP_A, T0, { release: '1.0' }), failure(FP_B, T0, { release: '1.0' })])])
        const [a, b] = await store.listIssues({ appId: shop.id, sort: 'first_seen' }).then((issues) => issues.sort((x, y) => x.fingerprint.localeCompare(y.fingerprint)))
        expect(await store.setIssueStatus(a!.id, 'resolved', T0 + 100)).toBe(true)
        expect(await store.setIssueStatus(b!.id, 'resolved', T0 + 100)).toBe(true)

        // The fix shipped in 1.1; an old client still on 1.0 reports the error: counted, still resolved.
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 200, { release: '1.0' })])])
        expect(await store.getIssue(shop.id, a!.id)).toMatchObject({ status: 'resolved', resolvedAt: T0 + 100, regressedAt: null, count: 2, lastSeen: T0 + 200 })

        // 1.1, first seen after the resolution, has it again: a regression.
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 300, { release: '1.0' }), failure(FP_A, T0 + 310, { release: '1.1' }), failure(FP_A, T0 + 305, { release: '1.1' })])])
        expect(await store.getIssue(shop.id, a!.id)).toMatchObject({ status: 'open', resolvedAt: null, regressedAt: T0 + 305, count: 5 })

        // An event that names no release re-opens too: nothing shows it predates the fix.
        await writeOk([batch(shop.id, [failure(FP_B, T0 + 400)])])
        expect(await store.getIssue(shop.id, b!.id)).toMatchObject({ status: 'open', resolvedAt: null, regressedAt: T0 + 400, count: 2 })
        expect((await store.listIssues({ appId: shop.id, status: 'regressed' })).map((i) => i.id).sort()).toEqual([a!.id, b!.id].sort())
      })

      it('does not re-open for a release seen before the resolution, even by other event types, nor in another app', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([batch(shop.id, [failure(FP_A, T0, { release: '1.0' }), custom('deploy', { release: '1.1', received_at: T0 + 50 } as Partial<StoredEvent>)])])
        const issue = await only(shop.id)
        await store.setIssueStatus(issue.id, 'resolved', T0 + 100)
        // 1.1 is new to blog, but it is shop's first sighting that counts for shop's issue.
        await writeOk([batch(blog.id, [custom('x', { release: '1.2', received_at: T0 + 60 } as Partial<StoredEvent>)])])
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 200, { release: '1.1' })])])
        expect(await store.getIssue(shop.id, issue.id)).toMatchObject({ status: 'resolved', count: 2 })
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 300, { release: '1.2' })])])
        expect(await store.getIssue(shop.id, issue.id)).toMatchObject({ status: 'open', regressedAt: T0 + 300, count: 3 })
      })

      it('keeps counting ignored issues without re-opening them', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [failure(FP_A, T0, { release: '1.0', session: S1 })])])
        const issue = await only(shop.id)
        expect(await store.setIssueStatus(issue.id, 'ignored', T0 + 100)).toBe(true)
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 200, { release: '2.0', session: S2 }), failure(FP_A, T0 + 201)])])
        expect(await store.getIssue(shop.id, issue.id)).toMatchObject({ status: 'ignored', resolvedAt: null, regressedAt: null, count: 3, sessions: 2, lastRelease: '2.0' })
      })

      it('changes status: resolving sets resolvedAt, reopening clears it, an unknown id answers false', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [failure(FP_A, T0)])])
        const { id } = await only(shop.id)
        expect(await store.setIssueStatus(id, 'resolved', T0 + 5)).toBe(true)
        expect(await store.getIssue(shop.id, id)).toMatchObject({ status: 'resolved', resolvedAt: T0 + 5 })
        expect(await store.setIssueStatus(id, 'resolved', T0 + 9)).toBe(true)
        expect(await store.getIssue(shop.id, id)).toMatchObject({ status: 'resolved', resolvedAt: T0 + 9 })
        expect(await store.setIssueStatus(id, 'open', T0 + 10)).toBe(true)
        expect(await store.getIssue(shop.id, id)).toMatchObject({ status: 'open', resolvedAt: null, regressedAt: null })
        expect(await store.setIssueStatus(id, 'ignored', T0 + 11)).toBe(true)
        expect(await store.getIssue(shop.id, id)).toMatchObject({ status: 'ignored', resolvedAt: null })
        expect(await store.setIssueStatus(424242, 'resolved', T0)).toBe(false)
        await expect(store.setIssueStatus(id, 'deleted' as 'open', T0)).rejects.toThrow()
        expect((await store.getIssue(shop.id, id))?.status).toBe('ignored')
      })

      it('keeps regressedAt when a regressed issue is resolved again, and clears it when reopened by hand', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [failure(FP_A, T0)])])
        const { id } = await only(shop.id)
        await store.setIssueStatus(id, 'resolved', T0 + 5)
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 10)])])
        expect(await store.getIssue(shop.id, id)).toMatchObject({ status: 'open', regressedAt: T0 + 10 })
        await store.setIssueStatus(id, 'resolved', T0 + 20)
        expect(await store.getIssue(shop.id, id)).toMatchObject({ status: 'resolved', resolvedAt: T0 + 20, regressedAt: T0 + 10 })
        expect(await store.listIssues({ appId: shop.id, status: 'regressed' })).toEqual([])
        await store.setIssueStatus(id, 'open', T0 + 30)
        expect(await store.getIssue(shop.id, id)).toMatchObject({ status: 'open', resolvedAt: null, regressedAt: null })
      })

      it('lists by status, sorted by last seen, count or first seen, newest or largest first, with limit and offset', async () => {
        const shop = await app('shop')
        const fp = (n: number) => n.toString(16).padStart(32, '0')
        // Issue n: first seen at T0 + n, last seen at T0 + 100 - n, n + 1 events (issue 2 twice as many).
        const events = [0, 1, 2, 3].flatMap((n) => [
          failure(fp(n), T0 + n),
          ...Array.from({ length: n === 2 ? 7 : n }, () => failure(fp(n), T0 + 100 - n)),
        ])
        await writeOk([batch(shop.id, events)])
        const ids = new Map((await store.listIssues({ appId: shop.id })).map((i) => [i.fingerprint, i.id]))
        const order = async (query: Omit<Parameters<Store['listIssues']>[0], 'appId'>) =>
          (await store.listIssues({ appId: shop.id, ...query })).map((i) => [...ids].find(([, id]) => id === i.id)![0]).map((f) => parseInt(f, 16))
        expect(await order({})).toEqual([1, 2, 3, 0])
        expect(await order({ sort: 'last_seen' })).toEqual([1, 2, 3, 0])
        expect(await order({ sort: 'count' })).toEqual([2, 3, 1, 0])
        expect(await order({ sort: 'first_seen' })).toEqual([3, 2, 1, 0])
        expect(await order({ sort: 'count', limit: 2 })).toEqual([2, 3])
        expect(await order({ sort: 'count', limit: 2, offset: 2 })).toEqual([1, 0])
        expect(await order({ sort: 'count', offset: 3 })).toEqual([0])
        expect(await order({ limit: 0 })).toEqual([])

        await store.setIssueStatus(ids.get(fp(1))!, 'resolved', T0 + 200)
        await store.setIssueStatus(ids.get(fp(3))!, 'ignored', T0 + 200)
        expect(await order({ status: 'open' })).toEqual([2, 0])
        expect(await order({ status: 'resolved' })).toEqual([1])
        expect(await order({ status: 'ignored' })).toEqual([3])
        expect(await order({ status: 'regressed' })).toEqual([])
        expect(await store.listIssues({ appId: 424242 })).toEqual([])
        await expect(store.listIssues({ appId: shop.id, status: "open' OR 1=1 --" as 'open' })).rejects.toThrow()
        await expect(store.listIssues({ appId: shop.id, sort: 'id; DROP TABLE issues' as 'count' })).rejects.toThrow()
        expect(await store.listIssues({ appId: shop.id })).toHaveLength(4)
      })

      it("reads an issue's events newest first, up to a limit", async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 1), failure(FP_B, T0 + 2), failure(FP_A, T0 + 3)]), batch(blog.id, [failure(FP_A, T0 + 4)])])
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 5)])])
        const issue = (await store.listIssues({ appId: shop.id })).find((i) => i.fingerprint === FP_A)!
        expect((await store.readIssueEvents({ appId: shop.id, issueId: issue.id, limit: 10 })).map((e) => e.ts - T0)).toEqual([5, 3, 1])
        expect((await store.readIssueEvents({ appId: shop.id, issueId: issue.id, limit: 2 })).map((e) => e.ts - T0)).toEqual([5, 3])
        expect(await store.readIssueEvents({ appId: blog.id, issueId: issue.id, limit: 10 })).toEqual([])
        expect((await store.readIssueEvents({ appId: shop.id, issueId: issue.id, limit: 1 }))[0]).toEqual(failure(FP_A, T0 + 5))
      })

      it('gives the crash-free session rate per release, by the latest release of each session', async () => {
        const shop = await app('shop')
        const sessions = Array.from({ length: 6 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)
        await writeOk([
          batch(shop.id, [
            inSession(sessions[0]!, custom('a', { release: '1.0' } as Partial<StoredEvent>)),
            inSession(sessions[1]!, custom('a', { release: '1.0' } as Partial<StoredEvent>)),
            inSession(sessions[1]!, failure(FP_A, T0, { release: '1.0' })),
            inSession(sessions[2]!, custom('a', { release: '1.0' } as Partial<StoredEvent>)),
            // Updated during the session: counts for the release it ended on.
            inSession(sessions[2]!, custom('b', { release: '2.0', ts: T0 + 1 } as Partial<StoredEvent>)),
            inSession(sessions[3]!, { ...failure(FP_B, T0 + 2), release: '2.0' }),
            inSession(sessions[4]!, custom('none', { ts: T0 + 3 })),
          ]),
        ])
        await writeOk([batch(shop.id, [inSession(sessions[5]!, custom('later', { ts: T0 + 1000, release: '2.0' } as Partial<StoredEvent>))])])
        expect(await store.crashFreeSessions({ appId: shop.id })).toEqual([
          { release: '2.0', sessions: 3, crashed: 1, crashFreeRate: 2 / 3 },
          { release: '1.0', sessions: 2, crashed: 1, crashFreeRate: 0.5 },
          { release: null, sessions: 1, crashed: 0, crashFreeRate: 1 },
        ])
        expect(await store.crashFreeSessions({ appId: shop.id, since: T0 + 1000 })).toEqual([{ release: '2.0', sessions: 1, crashed: 0, crashFreeRate: 1 }])
        expect(await store.crashFreeSessions({ appId: shop.id, until: T0 + 1000 })).toHaveLength(3)
        expect(await store.crashFreeSessions({ appId: 424242 })).toEqual([])
        expect((await readSessions(store, { appId: shop.id })).map((s) => s.release ?? null)).toEqual(['1.0', '1.0', '2.0', '2.0', null, '2.0'])
      })

      it('counts an issue exactly per day and per browser, OS, device and country, and deletes the counts with it', async () => {
        const shop = await app('shop')
        const on = (event: StoredEvent, extra: Partial<StoredEvent>): StoredEvent => ({ ...event, ...extra }) as StoredEvent
        const chrome = { device: { type: 'desktop', browser: 'Chrome', os: 'Windows' } } as Partial<StoredEvent>
        const safari = { device: { type: 'mobile', browser: 'Safari', os: 'iOS' }, geo: { country: 'FR' } } as Partial<StoredEvent>
        await writeOk([
          batch(shop.id, [on(failure(FP_A, T0), chrome), on(failure(FP_A, T0 + 1), chrome), on(failure(FP_A, T0 + DAY_MS), safari), failure(FP_A, T0 - 2 * DAY_MS)]),
        ])
        await writeOk([batch(shop.id, [on(failure(FP_A, T0 + DAY_MS + 5), chrome), on(failure(FP_B, T0), safari)])])
        const [a] = await store.listIssues({ appId: shop.id, sort: 'count' })
        const day = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS
        const breakdown = await store.issueBreakdown(a!.id, { since: day(T0 - DAY_MS), tagValues: 10 })
        expect(breakdown.days).toEqual([
          { day: day(T0), count: 2 },
          { day: day(T0 + DAY_MS), count: 2 },
        ])
        expect(breakdown.tags).toEqual({
          browser: [{ value: 'Chrome', count: 3 }, { value: 'Safari', count: 1 }],
          os: [{ value: 'Windows', count: 3 }, { value: 'iOS', count: 1 }],
          device: [{ value: 'desktop', count: 3 }, { value: 'mobile', count: 1 }],
          country: [{ value: 'FR', count: 1 }],
        })
        expect((await store.issueBreakdown(a!.id, { since: 0, tagValues: 1 })).tags.browser).toEqual([{ value: 'Chrome', count: 3 }])
        expect((await store.issueBreakdown(a!.id, { since: 0, tagValues: 1 })).days).toHaveLength(3)
        expect(await store.issueBreakdown(424242, { since: 0, tagValues: 10 })).toEqual({ days: [], tags: { browser: [], os: [], device: [], country: [] } })
        await store.purgeApp(shop.id)
        expect(await store.issueBreakdown(a!.id, { since: 0, tagValues: 10 })).toEqual({ days: [], tags: { browser: [], os: [], device: [], country: [] } })
      })

      it('records the environments an issue was seen in, filters by them, and deletes them with the issue', async () => {
        const shop = await app('shop')
        const inEnv = (event: StoredEvent, env: string): StoredEvent => ({ ...event, env }) as StoredEvent
        await writeOk([
          batch(shop.id, [inEnv(failure(FP_A, T0 + 10), 'production'), inEnv(failure(FP_A, T0 + 5), 'production'), inEnv(failure(FP_A, T0 + 7), 'staging'), failure(FP_A, T0 + 8)]),
          batch(shop.id, [inEnv(failure(FP_B, T0 + 20), 'staging')]),
        ])
        await writeOk([batch(shop.id, [inEnv(failure(FP_A, T0 + 30), 'production')])])
        const [a, b] = await store.listIssues({ appId: shop.id, sort: 'count' })
        expect(await store.issueEnvironments(a!.id)).toEqual([
          { environment: 'production', firstSeen: T0 + 5, lastSeen: T0 + 30, count: 3 },
          { environment: 'staging', firstSeen: T0 + 7, lastSeen: T0 + 7, count: 1 },
        ])
        expect((await store.listIssues({ appId: shop.id, environment: 'staging', sort: 'first_seen' })).map((i) => i.id)).toEqual([b!.id, a!.id])
        expect((await store.listIssues({ appId: shop.id, environment: 'production' })).map((i) => i.id)).toEqual([a!.id])
        expect(await store.listIssues({ appId: shop.id, environment: 'dev' })).toEqual([])
        expect(await store.issueEnvironments(424242)).toEqual([])
        expect(await store.deleteExpiredIssues({ appId: shop.id, kind: 'error', receivedBefore: T0 + 25, limit: 10 })).toBe(1)
        expect(await store.issueEnvironments(b!.id)).toEqual([])
        expect(await store.purgeApp(shop.id)).toBeGreaterThan(0)
        expect(await store.issueEnvironments(a!.id)).toEqual([])
      })

      it("deletes the source maps of releases that neither events nor uploads have touched since a time", async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        const quota = { releaseBytes: 1e9, releaseFiles: 1000, appBytes: 1e9 }
        const put = (appId: number, release: string, uploadedAt: number) =>
          store.sourceMaps.put({ appId, release, name: 'app.js.map', kind: 'map', content: Buffer.from('{"version":3}'), sourceMappingUrl: null, uploadedAt }, quota)
        // Old uploads: 1.0 still has events received after the cut, 0.9 had its last before it, 0.8 never had any.
        for (const release of ['1.0', '0.9', '0.8']) await put(shop.id, release, T0)
        // Uploaded recently, ahead of its first event.
        await put(shop.id, '2.0', T0 + 2000)
        await put(blog.id, '0.8', T0)
        await writeOk([batch(shop.id, [failure(FP_A, T0, { release: '0.9', receivedAt: T0 + 10 }), failure(FP_A, T0, { release: '1.0', receivedAt: T0 + 3000 })])])
        expect(await store.sourceMaps.deleteStaleReleases(shop.id, T0 + 1000)).toBe(2)
        expect((await store.sourceMaps.listReleases(shop.id)).map((r) => r.release).sort()).toEqual(['1.0', '2.0'])
        expect((await store.sourceMaps.listReleases(blog.id)).map((r) => r.release)).toEqual(['0.8'])
        expect(await store.sourceMaps.deleteStaleReleases(shop.id, T0 + 1000)).toBe(0)
      })

      it('filters issues by release and by text in the title or culprit, and sorts by sessions affected', async () => {
        const shop = await app('shop')
        await writeOk([
          batch(shop.id, [
            failure(FP_A, T0, { release: '1.0', session: S1, message: 'Price missing' }),
            failure(FP_A, T0 + 1, { release: '1.1', session: S2, message: 'Price missing' }),
            failure(FP_B, T0 + 2, { release: '1.1', session: S1, message: "100% 'off' _sale_" }),
            failure(FP_C, T0 + 3, { message: 'other' }),
            reported('d'.repeat(32), T0 + 4),
          ]),
        ])
        const fingerprints = async (query: Omit<IssueQuery, 'appId'>) => (await store.listIssues({ appId: shop.id, ...query })).map((i) => i.fingerprint)
        expect(await fingerprints({ release: '1.0' })).toEqual([FP_A])
        expect(await fingerprints({ release: '1.1', sort: 'first_seen' })).toEqual([FP_B, FP_A])
        expect(await fingerprints({ release: 'nope' })).toEqual([])
        expect(await fingerprints({ search: 'PRICE', kind: 'error' })).toEqual([FP_A])
        // Matched as text: %, _ and quotes are not wildcards or syntax.
        expect(await fingerprints({ search: "100% 'off' _sale_" })).toEqual([FP_B])
        expect(await fingerprints({ search: '%' })).toEqual([FP_B])
        expect(await fingerprints({ search: '_' })).toEqual([FP_B])
        expect(await fingerprints({ search: 'app.js', kind: 'report' })).toEqual(['d'.repeat(32)])
        expect(await fingerprints({ search: 'f (app', kind: 'error', sort: 'sessions' })).toEqual([FP_A, FP_B, FP_C])
        const other = await app('other')
        expect(await store.listIssues({ appId: other.id, release: '1.0' })).toEqual([])
      })

      it('summarises releases: errors, error issues and the issues each one introduced', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([
          batch(shop.id, [
            failure(FP_A, T0, { release: '1.0', receivedAt: T0 }),
            failure(FP_A, T0 + 1, { release: '1.0', receivedAt: T0 + 1 }),
            failure(FP_A, T0 + 2, { release: '1.1', receivedAt: T0 + 100 }),
            failure(FP_B, T0 + 3, { release: '1.1', receivedAt: T0 + 101 }),
            custom('only a custom event', { release: '2.0', received_at: T0 + 200 } as Partial<StoredEvent>),
            // Browser reports are issues too, but not errors of the release.
            { ...reported(FP_C, T0 + 4), release: '1.1' },
          ]),
          batch(blog.id, [failure(FP_A, T0, { release: '1.0' })]),
        ])
        expect(await store.listReleases(shop.id)).toEqual([
          { release: '2.0', firstSeen: T0 + 200, lastSeen: T0 + 200, errors: 0, issues: 0, newIssues: 0 },
          { release: '1.1', firstSeen: T0 + 4, lastSeen: T0 + 101, errors: 2, issues: 2, newIssues: 1 },
          { release: '1.0', firstSeen: T0, lastSeen: T0 + 1, errors: 2, issues: 1, newIssues: 1 },
        ])
        expect(await store.listReleases(424242)).toEqual([])
      })

      it('leaves issues untouched by a batch that failed', async () => {
        const shop = await app('shop')
        const results = await store.writeBatches([
          batch(shop.id, [failure(FP_A, T0, { session: S1, release: '1.0' })]),
          batch(shop.id, [failure(FP_A, T0 + 1, { session: S2, release: '1.1' }), failure(FP_B, T0 + 1), unserializable()]),
        ])
        expect(results[0]).toBeUndefined()
        expect(results[1]).toBeInstanceOf(Error)
        const issue = await only(shop.id)
        expect(issue).toMatchObject({ fingerprint: FP_A, count: 1, sessions: 1, lastSeen: T0, lastRelease: '1.0' })
        expect(await store.issueReleases(issue.id)).toEqual([{ release: '1.0', firstSeen: T0, lastSeen: T0, count: 1 }])
      })

      it('keeps a bounded sample of events per issue: the first and the newest, counts untouched', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, Array.from({ length: 12 }, (_, i) => failure(FP_A, T0 + i)))])
        await writeOk([batch(shop.id, [failure(FP_B, T0), failure(FP_B, T0 + 1), failure(FP_B, T0 + 2), ofType('error')])])
        const a = (await store.listIssues({ appId: shop.id, sort: 'count' }))[0]!
        expect(await store.trimIssueEvents({ appId: shop.id, kind: 'error', keepNewest: 3, limit: 5 })).toBe(5)
        expect(await store.trimIssueEvents({ appId: shop.id, kind: 'error', keepNewest: 3, limit: 5 })).toBe(3)
        expect(await store.trimIssueEvents({ appId: shop.id, kind: 'error', keepNewest: 3, limit: 5 })).toBe(0)
        expect((await store.readIssueEvents({ appId: shop.id, issueId: a.id, limit: 100 })).map((e) => e.ts - T0)).toEqual([11, 10, 9, 0])
        expect(await store.getIssue(shop.id, a.id)).toEqual(a)
        // B has 3 events, no more than the first plus the newest 3; the ungrouped error is not an issue's.
        expect(await store.countEvents({ appId: shop.id, types: ['error'] })).toBe(4 + 3 + 1)
      })

      it('deletes issues whose latest event was received before a time, with their releases', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([
          batch(shop.id, [failure(FP_A, T0, { release: '1.0', session: S1, receivedAt: T0 - 1000 }), failure(FP_B, T0, { release: '1.0', session: S1, receivedAt: T0 - 1000 })]),
          batch(blog.id, [failure(FP_A, T0, { release: '1.0', receivedAt: T0 - 1000 })]),
        ])
        // B came back later: it stays.
        await writeOk([batch(shop.id, [failure(FP_B, T0 + 5, { receivedAt: T0 })])])
        const expired = (await store.listIssues({ appId: shop.id })).find((i) => i.fingerprint === FP_A)!
        expect(await store.deleteExpiredIssues({ appId: shop.id, kind: 'error', receivedBefore: T0 - 1, limit: 10 })).toBe(1)
        expect(await store.deleteExpiredIssues({ appId: shop.id, kind: 'error', receivedBefore: T0 - 1, limit: 10 })).toBe(0)
        expect((await store.listIssues({ appId: shop.id })).map((i) => i.fingerprint)).toEqual([FP_B])
        expect(await store.getIssue(undefined, expired.id)).toBeUndefined()
        expect(await store.issueReleases(expired.id)).toEqual([])
        expect(await store.listIssues({ appId: blog.id })).toHaveLength(1)
        // Grouped again later, it is a new issue that counts from zero.
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 10, { session: S1 })])])
        expect((await store.listIssues({ appId: shop.id })).find((i) => i.fingerprint === FP_A)).toMatchObject({ count: 1, sessions: 1, firstSeen: T0 + 10 })
      })

      it('groups browser report events into issues of kind report, counted and listed with the error issues', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [reported(FP_C, T0 + 10, { session: S1 }), failure(FP_A, T0 + 5), reported(FP_C, T0 + 2, { session: S2, line: 9 }), ofType('report')])])
        await writeOk([batch(shop.id, [reported(FP_C, T0 + 20, { session: S1 })])])
        const issues = await store.listIssues({ appId: shop.id, sort: 'count' })
        expect(issues.map((i) => [i.kind, i.fingerprint, i.count])).toEqual([
          ['report', FP_C, 3],
          ['error', FP_A, 1],
        ])
        const report = issues[0]!
        expect(report).toMatchObject({ kind: 'report', type: 'csp-violation', title: 'CSP img-src blocked https://cdn.example', culprit: 'app.js', firstSeen: T0 + 2, lastSeen: T0 + 20, sessions: 2, status: 'open' })
        expect(await store.getIssue(shop.id, report.id)).toEqual(report)
        expect((await store.readIssueEvents({ appId: shop.id, issueId: report.id, limit: 10 })).map((e) => e.ts - T0)).toEqual([20, 2, 10])
        expect(await store.listIssues({ appId: shop.id, kind: 'report' })).toEqual([report])
        expect((await store.listIssues({ appId: shop.id, kind: 'error' })).map((i) => i.fingerprint)).toEqual([FP_A])
        // A report without an issue key is kept but grouped into nothing.
        expect(await store.countEvents({ appId: shop.id, types: ['report'] })).toBe(4)
        await expect(store.listIssues({ appId: shop.id, kind: 'nonsense' as never })).rejects.toThrow()
      })

      it('trims and expires issues per kind: report issues with report retention, error issues with error retention', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [...Array.from({ length: 6 }, (_, i) => reported(FP_C, T0 + i)), ...Array.from({ length: 6 }, (_, i) => failure(FP_A, T0 + i))])])
        expect(await store.trimIssueEvents({ appId: shop.id, kind: 'report', keepNewest: 2, limit: 100 })).toBe(3)
        expect(await store.countEvents({ appId: shop.id, types: ['report'] })).toBe(3)
        expect(await store.countEvents({ appId: shop.id, types: ['error'] })).toBe(6)
        expect(await store.deleteExpiredIssues({ appId: shop.id, kind: 'error', receivedBefore: T0 + 100, limit: 10 })).toBe(1)
        expect((await store.listIssues({ appId: shop.id })).map((i) => i.kind)).toEqual(['report'])
        expect(await store.deleteExpiredIssues({ appId: shop.id, kind: 'report', receivedBefore: T0 + 100, limit: 10 })).toBe(1)
        expect(await store.listIssues({ appId: shop.id })).toEqual([])
      })

      it("runs retention on each issue kind with that kind's setting", async () => {
        const reportsShort = await store.createApp({ name: 'reports-short', createdAt: T0, settings: { retention: { error: 90, report: 2 } } })
        const errorsShort = await store.createApp({ name: 'errors-short', createdAt: T0, settings: { retention: { error: 2, report: 90 } } })
        const old = T0 - 10 * DAY_MS
        for (const { id } of [reportsShort, errorsShort]) await writeOk([batch(id, [reported(FP_C, old), failure(FP_A, old)])])
        const result = await runRetention({ store, clock: { now: () => T0 } })
        expect(result.issuesDeleted).toBe(2)
        expect((await store.listIssues({ appId: reportsShort.id })).map((i) => i.kind)).toEqual(['error'])
        expect((await store.listIssues({ appId: errorsShort.id })).map((i) => i.kind)).toEqual(['report'])
        expect(result.deleted).toEqual(expect.arrayContaining([{ appId: reportsShort.id, type: 'report', count: 1 }, { appId: errorsShort.id, type: 'error', count: 1 }]))
      })

      it('deletes releases last seen before a time: a release seen again afterwards is new', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [failure(FP_A, T0, { release: '1.0', receivedAt: T0 - 1000 }), custom('x', { release: '1.1', received_at: T0 } as Partial<StoredEvent>)])])
        expect(await store.deleteReleasesBefore(shop.id, T0 - 1)).toBe(1)
        expect(await store.deleteReleasesBefore(shop.id, T0 - 1)).toBe(0)
        const { id } = await only(shop.id)
        await store.setIssueStatus(id, 'resolved', T0 + 10)
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 20, { release: '1.1' })])])
        expect((await store.getIssue(shop.id, id))?.status).toBe('resolved')
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 30, { release: '1.0' })])])
        expect(await store.getIssue(shop.id, id)).toMatchObject({ status: 'open', regressedAt: T0 + 30 })
      })

      it("purges an app's issues, releases and their rows, and nothing of another app's", async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        const events = (fp: string) => [failure(fp, T0, { release: '1.0', session: S1 }), failure(fp, T0 + 1, { release: '1.1', session: S2 })]
        await writeOk([batch(shop.id, [...events(FP_A), ...events(FP_B)]), batch(blog.id, events(FP_A))])
        const purged = await store.listIssues({ appId: shop.id })
        await store.setIssueStatus(purged[0]!.id, 'resolved', T0 + 5)
        expect(await store.purgeApp(shop.id)).toBe(4)
        expect(await store.listIssues({ appId: shop.id })).toEqual([])
        for (const issue of purged) {
          expect(await store.getIssue(undefined, issue.id)).toBeUndefined()
          expect(await store.issueReleases(issue.id)).toEqual([])
        }
        expect(await store.crashFreeSessions({ appId: shop.id })).toEqual([])
        const kept = await only(blog.id)
        expect(kept).toMatchObject({ count: 2, sessions: 2 })
        expect(await store.issueReleases(kept.id)).toHaveLength(2)
        // The app starts afresh: the same sessions count again, and no release is known any more.
        await writeOk([batch(shop.id, events(FP_A))])
        expect(await only(shop.id)).toMatchObject({ count: 2, sessions: 2, status: 'open', firstRelease: '1.0' })
      })
    })

    describe('audit log', () => {
      const entry = (overrides: Partial<NewAuditEntry> = {}): NewAuditEntry =>
        ({ appId: null, at: T0, actor: 'cli', action: 'app.purge', detail: { deleted: 3 }, ...overrides }) as NewAuditEntry

      it('appends entries and returns them with an id, detail as given', async () => {
        const shop = await app('shop')
        const settings: NewAuditEntry = {
          appId: shop.id,
          at: T0,
          actor: 'cli',
          action: 'app.settings',
          detail: { changes: { 'retention.error': { from: 30, to: 60 }, origins: { from: [], to: ['https://a.example.com'] }, geo: { from: 'country', to: null } } },
        }
        const stored = await store.appendAudit(settings)
        expect(stored).toEqual({ ...settings, id: expect.any(Number) })
        const global = await store.appendAudit(entry({ actor: 'server', at: T0 + 1 }))
        expect(global.id).not.toBe(stored.id)
        expect(await store.readAudit()).toEqual([global, stored])
      })

      it('reads newest first, the same time in insertion order reversed, per app, since (inclusive), up to a limit', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        const a = await store.appendAudit(entry({ appId: shop.id, at: T0 }))
        const b = await store.appendAudit(entry({ appId: blog.id, at: T0 + 5 }))
        const c = await store.appendAudit(entry({ appId: shop.id, at: T0 + 10 }))
        const d = await store.appendAudit(entry({ appId: shop.id, at: T0 + 10, action: 'token.create', detail: { token: tokenHint('tc_AbCdEfGhIjKlMnOpQrStUvWxYz012345') } }))
        const g = await store.appendAudit(entry({ appId: null, at: T0 + 20, action: 'retention.run', detail: { deleted: { error: 2, session: 1 }, total: 3 } }))
        expect(await store.readAudit()).toEqual([g, d, c, b, a])
        expect(await store.readAudit({ appId: shop.id })).toEqual([d, c, a])
        expect(await store.readAudit({ appId: blog.id })).toEqual([b])
        expect(await store.readAudit({ since: T0 + 5 })).toEqual([g, d, c, b])
        expect(await store.readAudit({ appId: shop.id, since: T0 + 1 })).toEqual([d, c])
        expect(await store.readAudit({ limit: 2 })).toEqual([g, d])
        expect(await store.readAudit({ appId: 424242 })).toEqual([])
        expect(await store.readAudit({ limit: 0 })).toEqual([])
      })

      it('deletes entries recorded before a time, of every app and the global ones', async () => {
        const shop = await app('shop')
        await store.appendAudit(entry({ appId: shop.id, at: T0 - 2 }))
        await store.appendAudit(entry({ appId: null, at: T0 - 1 }))
        const kept = await store.appendAudit(entry({ appId: shop.id, at: T0 }))
        expect(await store.deleteAuditBefore(T0)).toBe(2)
        expect(await store.deleteAuditBefore(T0)).toBe(0)
        expect(await store.readAudit()).toEqual([kept])
      })

      it('keeps an app\'s entries when its data is purged', async () => {
        const shop = await app('shop')
        const kept = await store.appendAudit(entry({ appId: shop.id }))
        await store.purgeApp(shop.id)
        expect(await store.readAudit({ appId: shop.id })).toEqual([kept])
      })

      it('refuses an unknown action, an actor that is not cli, server or user:<id>, and a whole client token', async () => {
        const refused = [
          entry({ action: 'app.delete' as NewAuditEntry['action'] }),
          entry({ actor: '203.0.113.7' as NewAuditEntry['actor'] }),
          entry({ actor: 'user:alice' as NewAuditEntry['actor'] }),
          entry({ action: 'token.revoke', detail: { token: 'tc_AbCdEfGhIjKlMnOpQrStUvWxYz012345' as ReturnType<typeof tokenHint> } }),
        ]
        for (const bad of refused) await expect(store.appendAudit(bad)).rejects.toThrow()
        expect(await store.readAudit()).toEqual([])
        expect((await store.appendAudit(entry({ actor: 'user:12' }))).actor).toBe('user:12')
      })
    })

    describe('operations', () => {
      it('reports that it is writable, without writing anything', async () => {
        expect(await store.isWritable()).toBe(true)
        expect(await store.listApps()).toEqual([])
      })

      it('makes a backup that a new adapter instance reads, while staying in use', async () => {
        const shop = await app('shop', { rate_limit: 3 })
        await store.createToken({ token: 'tc_backup', appId: shop.id, createdAt: T0, revokedAt: null, lastUsedAt: null })
        const events = [view('v1', 2), ...Array.from({ length: 2000 }, (_, i) => custom(`e${i}`, { ts: T0 + i }))]
        await writeOk([batch(shop.id, events, { invalid: 2 })])
        const dir = await mkdtemp(join(tmpdir(), 'tacit-backup-'))
        try {
          const destination = join(dir, 'backup.db')
          const progress: number[] = []
          await store.backup(destination, (fraction) => progress.push(fraction))
          expect(progress.at(-1)).toBe(1)
          for (const fraction of progress) {
            expect(fraction).toBeGreaterThanOrEqual(0)
            expect(fraction).toBeLessThanOrEqual(1)
          }

          await writeOk([batch(shop.id, [custom('after-backup')])])
          const copy = await subject.openBackup(destination)
          try {
            expect(await copy.listApps()).toEqual([shop])
            expect(await copy.findToken('tc_backup')).toEqual(await store.findToken('tc_backup'))
            expect(await readAll(copy, { appId: shop.id })).toEqual(events)
            expect(await copy.countEvents({ appId: shop.id })).toBe(2001)
            expect(await copy.readDailyCounts(shop.id, DAY)).toEqual([
              { day: DAY, kind: 'accepted', key: 'custom', count: 2000 },
              { day: DAY, kind: 'accepted', key: 'view', count: 1 },
              { day: DAY, kind: 'dropped', key: 'invalid', count: 2 },
            ])
            expect(await copy.isWritable()).toBe(true)
          } finally {
            await copy.close()
          }
          expect(await store.countEvents({ appId: shop.id })).toBe(2002)
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      })

      it('closes, and refuses work afterwards', async () => {
        await app('shop')
        await store.close()
        await expect(store.listApps()).rejects.toThrow()
        expect(await store.isWritable()).toBe(false)
      })

      it('closes twice without harm', async () => {
        await store.close()
        await store.close()
      })
    })
  })
}

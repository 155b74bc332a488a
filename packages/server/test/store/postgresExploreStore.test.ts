import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import type { ExploreQuery, SessionListQuery } from '../../src/store/ExploreStore.js'
import { describeExploreStoreContract } from './exploreStoreContract.js'
import { createSameEventStores, type SameEventStores } from './sameEventStores.js'
import { createTempPostgresStore } from './tempPostgresStore.js'

describeExploreStoreContract('postgres', async () => createTempPostgresStore())

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
const END = Date.UTC(2026, 10, 20, 15)

/** Attributes of every JSON kind, compared and grouped as SQLite's json_extract gives them. */
function oddities(): StoredEvent[] {
  const at = (i: number) => ({ ts: END - 2 * HOUR_MS + i * 1000, received_at: END - 2 * HOUR_MS + i * 1000 })
  const values: unknown[] = ['pro', 'Pro', 'pro ', '3', 3, 3.0, 3.5, -1, 0, 1, true, false, null, '', 'é', 'z', '1e2', 100, 1e21, 0.1 + 0.2, 'x'.repeat(600) + 'a', 'x'.repeat(600) + 'b']
  return values.map((value, i) => ({ type: 'custom', ...at(i), custom: { name: `odd-${i % 3}` }, context: { v: value, n: i, list: [1, 2] } }) as unknown as StoredEvent)
}

/**
 * The same events in SQLite and PostgreSQL give the same sessions lists, timelines and explorer answers. Events
 * come back as JSON objects: PostgreSQL's jsonb keeps no key order, which toEqual does not look at.
 */
describe('PostgreSQL explorer answers exactly as SQLite’s', () => {
  let stores: SameEventStores
  beforeEach(async () => {
    stores = await createSameEventStores({
      end: END,
      days: 2,
      shop: { seed: 31, events: 5000 },
      blog: { seed: 32, events: 500 },
      more: ({ shop }) => [{ appId: shop, day: '2026-11-20', events: oddities(), dropped: {} }],
    })
  })
  afterEach(async () => stores.cleanup())

  it('lists, reads and replays sessions identically', async () => {
    const base: SessionListQuery = { appId: stores.shop, since: END - 2 * DAY_MS, until: END, limit: 50, offset: 0 }
    const all = await stores.sqlite.explorer.listSessions({ ...base, limit: 10_000 })
    expect(all.length).toBeGreaterThan(100)
    expect(await stores.postgres.explorer.listSessions({ ...base, limit: 10_000 })).toEqual(all)
    const s = all.find((session) => session.hasError && session.release && session.entryPage && session.env)!
    const filters: Array<Partial<SessionListQuery>> = [
      { country: s.country! },
      { browser: s.browser!, os: s.os! },
      { deviceType: s.deviceType! },
      { release: s.release! },
      { entryPage: s.entryPage! },
      { env: 'staging' },
      { withErrors: true },
      { withErrors: true, country: s.country! },
      { offset: 40, limit: 30 },
      { since: END - DAY_MS, until: END - DAY_MS / 2 },
      { appId: stores.blog },
    ]
    for (const filter of filters) {
      const q = { ...base, ...filter }
      expect(await stores.postgres.explorer.listSessions(q), JSON.stringify(filter)).toEqual(await stores.sqlite.explorer.listSessions(q))
    }
    for (const session of all.filter((_, i) => i % 7 === 0).slice(0, 25)) {
      expect(await stores.postgres.explorer.getSession(stores.shop, session.sessionId)).toEqual(session)
      for (const q of [{ limit: 1000 }, { limit: 3 }, { limit: 1000, types: ['view', 'error'] as const }]) {
        const query = { appId: stores.shop, sessionId: session.sessionId, ...q }
        expect(await stores.postgres.explorer.sessionEvents(query)).toEqual(await stores.sqlite.explorer.sessionEvents(query))
      }
    }
  })

  it('counts, filters and groups identically, by type and over every type', async () => {
    const base: ExploreQuery = { appId: stores.shop, since: END - 2 * DAY_MS, until: END, filters: [], bucketMs: HOUR_MS, groupLimit: 20, eventLimit: 30 }
    const queries: ExploreQuery[] = [
      base,
      { ...base, type: 'view', groupBy: ['view', 'url'] },
      { ...base, groupBy: ['geo', 'country'] },
      { ...base, type: 'action', groupBy: ['action', 'name'], filters: [{ path: ['device', 'type'], values: ['mobile'] }] },
      { ...base, type: 'vital', groupBy: ['vital', 'value'], filters: [{ path: ['vital', 'name'], values: ['CLS', 'INP'] }] },
      { ...base, type: 'error', groupBy: ['error', 'type'], bucketMs: 15 * 60_000, since: END - DAY_MS + 123_456 },
      { ...base, type: 'resource', groupBy: ['resource', 'type'], filters: [{ path: ['resource', 'duration'], values: ['120.5', '80', '99.9'] }] },
      { ...base, groupBy: ['release'], filters: [{ path: ['env'], values: ['staging'] }, { path: ['geo', 'country'], values: ['US', 'DE'] }] },
      { ...base, type: 'view', scanCap: 500 },
      { ...base, scanCap: 777, groupBy: ['type'] },
      { ...base, appId: stores.blog, groupBy: ['device', 'browser'] },
      // Every JSON kind, as a group key and as a filter value.
      { ...base, type: 'custom', groupBy: ['context', 'v'] },
      { ...base, groupBy: ['context', 'v'], groupLimit: 3 },
      { ...base, type: 'custom', groupBy: ['context', 'n'], filters: [{ path: ['context', 'v'], values: ['3'] }] },
      ...['pro', 'true', 'false', '1', '0', '3', '3.0', '-1', '', '1e2', '100', 'null', '0.30000000000000004', 'x'.repeat(600) + 'a'].map(
        (value): ExploreQuery => ({ ...base, type: 'custom', groupBy: ['context', 'n'], filters: [{ path: ['context', 'v'], values: [value] }] }),
      ),
      // A segment that reads as a number is a key, never an array index (json_extract's `$."0"`).
      { ...base, type: 'custom', filters: [{ path: ['context', 'list', '0'], values: ['1'] }] },
      { ...base, type: 'custom', groupBy: ['custom', 'name'], filters: [{ path: ['context', 'missing'], values: ['x'] }] },
    ]
    for (const q of queries) {
      const expected = await stores.sqlite.explorer.explore(q)
      expect(await stores.postgres.explorer.explore(q), JSON.stringify({ ...q, filters: q.filters.map((f) => ({ ...f, values: f.values.map((v) => v.slice(0, 20)) })) })).toEqual(expected)
    }
  })
})

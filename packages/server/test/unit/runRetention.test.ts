import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AUDIT_RETENTION_DAYS } from '../../src/audit/auditEntry.js'
import { DAY_MS, utcDay } from '../../src/clock.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { WIRE_TYPES, type WireType } from '../../src/protocol/wireSchema.js'
import { runRetention } from '../../src/retention/runRetention.js'
import type { IngestBatch, Store } from '../../src/store/Store.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'

const NOW = Date.UTC(2024, 5, 15, 3, 0, 0)
const clock = { now: () => NOW }

let viewIds = 0
/** A minimal valid event of a type, received at a given time. */
function eventOf(type: WireType, receivedAt: number, ts = receivedAt): StoredEvent {
  const base = { ts, received_at: receivedAt }
  switch (type) {
    case 'view':
      return { type, view: { id: `v${viewIds++}`, url: 'https://example.com/' }, ...base }
    case 'action':
      return { type, action: { type: 'click', name: 'x' }, ...base }
    case 'error':
      return { type, error: { message: 'boom' }, ...base }
    case 'resource':
      return { type, resource: { url: 'https://example.com/a.js', duration: 1 }, ...base }
    case 'long_task':
      return { type, long_task: { duration: 60 }, ...base }
    case 'vital':
      return { type, vital: { name: 'LCP', value: 1 }, ...base }
    case 'report':
      return { type, report: { type: 'deprecation', body: {} }, ...base }
    case 'custom':
      return { type, custom: { name: 'x' }, ...base }
  }
}

async function write(store: Store, appId: number, events: StoredEvent[]): Promise<void> {
  const byDay = new Map<string, StoredEvent[]>()
  for (const event of events) byDay.set(utcDay(event.received_at), [...(byDay.get(utcDay(event.received_at)) ?? []), event])
  const batches: IngestBatch[] = [...byDay].map(([day, dayEvents]) => ({ appId, day, events: dayEvents, dropped: {} }))
  expect(await store.writeBatches(batches)).toEqual(batches.map(() => undefined))
}

async function countsByType(store: Store, appId: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const type of WIRE_TYPES) counts[type] = await store.countEvents({ appId, types: [type] })
  return counts
}

const allTypes = (n: number) => Object.fromEntries(WIRE_TYPES.map((type) => [type, n]))

describe('runRetention', () => {
  let temp: TempSqliteStore
  let appId: number

  beforeEach(async () => {
    temp = await createTempSqliteStore()
    appId = (await temp.store.createApp({ name: 'shop', createdAt: NOW - 400 * DAY_MS, settings: {} })).id
  })
  afterEach(async () => temp.cleanup())

  it('keeps resources and long tasks 15 days and everything else 30 by default', async () => {
    for (const age of [1, 14, 16, 29, 31]) await write(temp.store, appId, WIRE_TYPES.map((type) => eventOf(type, NOW - age * DAY_MS)))
    const report = await runRetention({ store: temp.store, clock })
    const expected = Object.fromEntries(WIRE_TYPES.map((type) => [type, type === 'resource' || type === 'long_task' ? 2 : 4]))
    expect(await countsByType(temp.store, appId)).toEqual(expected)
    expect(report.total).toBe(2 * 3 + 6 * 1)
    expect(report.deleted).toContainEqual({ appId, type: 'resource', count: 3 })
    expect(report.deleted).toContainEqual({ appId, type: 'error', count: 1 })
  })

  it('deletes an event once it is older than its retention, to the millisecond', async () => {
    await write(temp.store, appId, [eventOf('error', NOW - 30 * DAY_MS), eventOf('error', NOW - 30 * DAY_MS - 1)])
    expect((await runRetention({ store: temp.store, clock })).total).toBe(1)
    expect(await temp.store.countEvents({ appId })).toBe(1)
  })

  it("applies an app's own retention and leaves other apps to theirs", async () => {
    const other = await temp.store.createApp({ name: 'blog', createdAt: NOW, settings: { retention: { error: 2, resource: 60 } } })
    const events = () => [eventOf('error', NOW - 3 * DAY_MS), eventOf('resource', NOW - 20 * DAY_MS), eventOf('custom', NOW - 3 * DAY_MS)]
    await write(temp.store, appId, events())
    await write(temp.store, other.id, events())
    await runRetention({ store: temp.store, clock })
    expect(await countsByType(temp.store, appId)).toMatchObject({ error: 1, resource: 0, custom: 1 })
    expect(await countsByType(temp.store, other.id)).toMatchObject({ error: 0, resource: 1, custom: 1 })
  })

  it('counts from the receive time: a far-future client time does not keep an event', async () => {
    const tenYears = 3650 * DAY_MS
    await write(temp.store, appId, [
      eventOf('error', NOW - 31 * DAY_MS, NOW + tenYears),
      eventOf('error', NOW - DAY_MS, NOW - tenYears),
    ])
    expect((await runRetention({ store: temp.store, clock })).total).toBe(1)
    const left: StoredEvent[] = []
    for await (const event of temp.store.readEvents({ appId })) left.push(event)
    expect(left).toEqual([expect.objectContaining({ received_at: NOW - DAY_MS })])
  })

  it('deletes more events than one chunk holds', async () => {
    const expired = (type: WireType, n: number) => Array.from({ length: n }, () => eventOf(type, NOW - 40 * DAY_MS))
    await write(temp.store, appId, [...expired('resource', 4500), ...expired('error', 4000), ...expired('custom', 1999)])
    await write(temp.store, appId, Array.from({ length: 2500 }, () => eventOf('resource', NOW - DAY_MS)))
    const report = await runRetention({ store: temp.store, clock })
    expect(report.total).toBe(4500 + 4000 + 1999)
    expect(report.deleted).toEqual(
      expect.arrayContaining([
        { appId, type: 'resource', count: 4500 },
        { appId, type: 'error', count: 4000 },
        { appId, type: 'custom', count: 1999 },
      ]),
    )
    expect(await countsByType(temp.store, appId)).toEqual({ ...allTypes(0), resource: 2500 })
  })

  it('prunes daily counts older than the longest retention of the app', async () => {
    const blog = await temp.store.createApp({ name: 'blog', createdAt: NOW, settings: { retention: { error: 90 } } })
    for (const id of [appId, blog.id]) {
      for (const age of [0, 29, 31, 89, 91]) {
        const day = utcDay(NOW - age * DAY_MS)
        await temp.store.writeBatches([{ appId: id, day, events: [], dropped: { invalid: 1 } }])
      }
    }
    await runRetention({ store: temp.store, clock })
    const days = async (id: number) => (await temp.store.readDailyCounts(id, '0000-00-00')).map((c) => c.day)
    expect(await days(appId)).toEqual([29, 0].map((age) => utcDay(NOW - age * DAY_MS)))
    expect(await days(blog.id)).toEqual([89, 31, 29, 0].map((age) => utcDay(NOW - age * DAY_MS)))
  })

  it('leaves fresh data alone and reports nothing to do', async () => {
    await write(temp.store, appId, WIRE_TYPES.map((type) => eventOf(type, NOW - DAY_MS)))
    expect(await runRetention({ store: temp.store, clock })).toEqual({ deleted: [], total: 0, auditDeleted: 0, issuesDeleted: 0, releasesDeleted: 0, sourceFilesDeleted: 0, alertDeliveriesDeleted: 0 })
    expect(await countsByType(temp.store, appId)).toEqual(allTypes(1))
  })

  it('compacts the store after deleting, and only then', async () => {
    const { store, compactions } = countingCompactions(temp.store)
    await write(temp.store, appId, [eventOf('custom', NOW - DAY_MS)])
    await runRetention({ store, clock })
    expect(compactions()).toBe(0)
    await write(temp.store, appId, [eventOf('custom', NOW - 31 * DAY_MS)])
    await runRetention({ store, clock })
    expect(compactions()).toBe(1)
  })

  it('runs with no apps at all', async () => {
    const empty = await createTempSqliteStore()
    try {
      expect(await runRetention({ store: empty.store, clock })).toEqual({ deleted: [], total: 0, auditDeleted: 0, issuesDeleted: 0, releasesDeleted: 0, sourceFilesDeleted: 0, alertDeliveriesDeleted: 0 })
    } finally {
      await empty.cleanup()
    }
  })

  it('records one audit entry per app that lost data, with counts by kind, and none when nothing went', async () => {
    const blog = await temp.store.createApp({ name: 'blog', createdAt: NOW, settings: {} })
    await write(temp.store, appId, [eventOf('resource', NOW - 16 * DAY_MS), eventOf('resource', NOW - 16 * DAY_MS), eventOf('error', NOW - 31 * DAY_MS)])
    await write(temp.store, blog.id, [eventOf('error', NOW - DAY_MS)])
    await runRetention({ store: temp.store, clock })
    expect(await temp.store.readAudit()).toEqual([
      { id: expect.any(Number), appId, at: NOW, actor: 'server', action: 'retention.run', detail: { deleted: { error: 1, resource: 2 }, total: 3 } },
    ])
    await runRetention({ store: temp.store, clock: { now: () => NOW + 1 }, actor: 'cli' })
    expect(await temp.store.readAudit()).toHaveLength(1)
    await write(temp.store, blog.id, [eventOf('custom', NOW - 40 * DAY_MS)])
    await runRetention({ store: temp.store, clock: { now: () => NOW + 2 }, actor: 'cli' })
    expect((await temp.store.readAudit())[0]).toMatchObject({ appId: blog.id, actor: 'cli', detail: { deleted: { custom: 1 }, total: 1 } })
  })

  it(`deletes audit entries older than ${AUDIT_RETENTION_DAYS} days, of every app and the global ones, to the millisecond`, async () => {
    const limit = NOW - AUDIT_RETENTION_DAYS * DAY_MS
    const at = [limit - DAY_MS, limit - 1, limit, NOW - DAY_MS]
    for (const [i, time] of at.entries()) {
      await temp.store.appendAudit({ appId: i % 2 === 0 ? appId : null, at: time, actor: 'cli', action: 'app.purge', detail: { deleted: i } })
    }
    const report = await runRetention({ store: temp.store, clock })
    expect(report).toEqual({ deleted: [], total: 0, auditDeleted: 2, issuesDeleted: 0, releasesDeleted: 0, sourceFilesDeleted: 0, alertDeliveriesDeleted: 0 })
    expect((await temp.store.readAudit()).map((entry) => entry.at)).toEqual([NOW - DAY_MS, limit])
    // Two weeks later, nothing of it is left.
    await runRetention({ store: temp.store, clock: { now: () => NOW + AUDIT_RETENTION_DAYS * DAY_MS } })
    expect(await temp.store.readAudit()).toEqual([])
  })

  it('compacts after deleting only audit entries too', async () => {
    const { store, compactions } = countingCompactions(temp.store)
    await temp.store.appendAudit({ appId, at: NOW - 15 * DAY_MS, actor: 'cli', action: 'app.purge', detail: { deleted: 1 } })
    await runRetention({ store, clock })
    expect(compactions()).toBe(1)
  })
})

/** The store, with a count of its compact() calls. */
function countingCompactions(target: Store): { store: Store; compactions: () => number } {
  let count = 0
  const store = new Proxy(target, {
    get(inner, key, receiver) {
      if (key !== 'compact') return Reflect.get(inner, key, receiver) as unknown
      return () => {
        count += 1
        return inner.compact()
      }
    },
  })
  return { store, compactions: () => count }
}

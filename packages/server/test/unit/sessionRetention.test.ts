import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DAY_MS, utcDay } from '../../src/clock.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { runRetention } from '../../src/retention/runRetention.js'
import type { SessionSummary, Store } from '../../src/store/Store.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'

const NOW = Date.UTC(2024, 5, 15, 3)

function action(sessionId: string, receivedAt: number): StoredEvent {
  return { type: 'action', action: { type: 'click', name: 'x' }, ts: receivedAt, received_at: receivedAt, session: { id: sessionId } }
}

async function sessionsOf(store: Store, appId: number): Promise<string[]> {
  const found: SessionSummary[] = []
  for await (const session of store.readSessions({ appId })) found.push(session)
  return found.map((s) => s.sessionId).sort()
}

describe('session retention', () => {
  let temp: TempSqliteStore
  beforeEach(async () => {
    temp = await createTempSqliteStore()
  })
  afterEach(async () => temp.cleanup())

  async function write(appId: number, events: StoredEvent[]) {
    for (const event of events) {
      expect(await temp.store.writeBatches([{ appId, day: utcDay(event.received_at), events: [event], dropped: {} }])).toEqual([undefined])
    }
  }

  it('deletes session summaries whose last event is older than retention.session (default 30 days)', async () => {
    const { store } = temp
    const shop = await store.createApp({ name: 'shop', createdAt: NOW, settings: {} })
    await write(shop.id, [action('old', NOW - 31 * DAY_MS), action('recent', NOW - 29 * DAY_MS), action('revived', NOW - 40 * DAY_MS), action('revived', NOW - DAY_MS)])
    const report = await runRetention({ store, clock: { now: () => NOW } })
    expect(report.deleted).toContainEqual({ appId: shop.id, type: 'session', count: 1 })
    expect(await sessionsOf(store, shop.id)).toEqual(['recent', 'revived'])
  })

  it("follows the app's own retention.session", async () => {
    const { store } = temp
    const shop = await store.createApp({ name: 'shop', createdAt: NOW, settings: { retention: { session: 2 } } })
    const blog = await store.createApp({ name: 'blog', createdAt: NOW, settings: {} })
    await write(shop.id, [action('a', NOW - 3 * DAY_MS), action('b', NOW - DAY_MS)])
    await write(blog.id, [action('c', NOW - 3 * DAY_MS)])
    await runRetention({ store, clock: { now: () => NOW } })
    expect(await sessionsOf(store, shop.id)).toEqual(['b'])
    expect(await sessionsOf(store, blog.id)).toEqual(['c'])
  })
})

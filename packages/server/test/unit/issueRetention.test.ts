import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DAY_MS, utcDay } from '../../src/clock.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { runRetention } from '../../src/retention/runRetention.js'
import { ISSUE_SAMPLE_NEWEST } from '../../src/store/issues/issue.js'
import type { Store } from '../../src/store/Store.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'

const NOW = Date.UTC(2024, 5, 15, 3)
const clock = { now: () => NOW }
const FP_A = 'a'.repeat(32)
const FP_B = 'b'.repeat(32)

function failure(fingerprint: string, receivedAt: number, fields: { session?: string; release?: string; n?: number } = {}): StoredEvent {
  return {
    type: 'error',
    error: { message: `boom ${fields.n ?? 0}` },
    ts: receivedAt,
    received_at: receivedAt,
    ...(fields.release === undefined ? {} : { release: fields.release }),
    ...(fields.session === undefined ? {} : { session: { id: fields.session } }),
    issue: { fingerprint, title: 'Error: boom' },
  }
}

async function write(store: Store, appId: number, events: StoredEvent[]): Promise<void> {
  const batches = [{ appId, day: utcDay(events[0]!.received_at), events, dropped: {} }]
  expect(await store.writeBatches(batches)).toEqual([undefined])
}

describe('issue retention', () => {
  let temp: TempSqliteStore
  let appId: number
  beforeEach(async () => {
    temp = await createTempSqliteStore()
    appId = (await temp.store.createApp({ name: 'shop', createdAt: NOW - 400 * DAY_MS, settings: {} })).id
  })
  afterEach(async () => temp.cleanup())

  /** Rows of a table for the app, read from the file as another process would. */
  function rows(table: string): number {
    const db = new Database(temp.path, { readonly: true })
    try {
      return (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE app_id = ?`).get(appId) as { n: number }).n
    } finally {
      db.close()
    }
  }

  it(`keeps the first and the newest ${ISSUE_SAMPLE_NEWEST} events of an issue; its counts stay exact`, async () => {
    const { store } = temp
    const total = ISSUE_SAMPLE_NEWEST + 40
    for (let i = 0; i < total; i += 25) {
      await write(store, appId, Array.from({ length: Math.min(25, total - i) }, (_, j) => failure(FP_A, NOW - DAY_MS + i + j, { n: i + j, session: `s${(i + j) % 7}` })))
    }
    await write(store, appId, Array.from({ length: 5 }, (_, i) => failure(FP_B, NOW - DAY_MS, { n: i })))
    const before = await store.listIssues({ appId, sort: 'count' })

    const report = await runRetention({ store, clock })
    expect(report.deleted).toEqual([{ appId, type: 'error', count: total - ISSUE_SAMPLE_NEWEST - 1 }])
    expect(report.total).toBe(total - ISSUE_SAMPLE_NEWEST - 1)
    expect(await store.listIssues({ appId, sort: 'count' })).toEqual(before)
    expect(before[0]).toMatchObject({ count: total, sessions: 7 })
    const kept = await store.readIssueEvents({ appId, issueId: before[0]!.id, limit: 1000 })
    const numbers = kept.map((e) => (e.type === 'error' ? Number(e.error.message.split(' ')[1]) : -1))
    expect(numbers).toEqual([...Array.from({ length: ISSUE_SAMPLE_NEWEST }, (_, i) => total - 1 - i), 0])
    expect(await store.countEvents({ appId, types: ['error'] })).toBe(ISSUE_SAMPLE_NEWEST + 1 + 5)
    expect((await temp.store.readAudit())[0]).toMatchObject({ action: 'retention.run', detail: { deleted: { error: total - ISSUE_SAMPLE_NEWEST - 1 } } })
    // A second pass finds nothing more to do.
    expect((await runRetention({ store, clock })).total).toBe(0)
  })

  it("deletes an issue once its latest event is older than retention.error, with its releases and sessions rows", async () => {
    const { store } = temp
    await write(store, appId, [failure(FP_A, NOW - 31 * DAY_MS, { session: 's1', release: '1.0' }), failure(FP_B, NOW - 31 * DAY_MS, { session: 's2', release: '1.0' })])
    // B came back: it stays, with its old counts.
    await write(store, appId, [failure(FP_B, NOW - DAY_MS, { session: 's3', release: '1.1' })])
    expect(rows('issue_releases')).toBe(3)
    expect(rows('issue_sessions')).toBe(3)

    const report = await runRetention({ store, clock })
    expect(report.issuesDeleted).toBe(1)
    expect(report.deleted).toContainEqual({ appId, type: 'error', count: 2 })
    expect((await store.listIssues({ appId })).map((i) => [i.fingerprint, i.count, i.sessions])).toEqual([[FP_B, 2, 2]])
    expect(rows('issues')).toBe(1)
    expect(rows('issue_releases')).toBe(2)
    // s2 expired with its summary (retention.session), s3 is recent.
    expect(rows('issue_sessions')).toBe(1)
    expect(rows('sessions')).toBe(1)
    // Release 1.0 was last seen 31 days ago, longer than every retention setting of the app.
    expect(report.releasesDeleted).toBe(1)
    expect(rows('releases')).toBe(1)
  })

  it("follows the app's own retention.error, and leaves other apps alone", async () => {
    const { store } = temp
    const blog = await store.createApp({ name: 'blog', createdAt: NOW, settings: { retention: { error: 2 } } })
    await write(store, appId, [failure(FP_A, NOW - 3 * DAY_MS)])
    await write(store, blog.id, [failure(FP_A, NOW - 3 * DAY_MS)])
    const report = await runRetention({ store, clock })
    expect(report.issuesDeleted).toBe(1)
    expect(await store.listIssues({ appId })).toHaveLength(1)
    expect(await store.listIssues({ appId: blog.id })).toEqual([])
  })

  it('deletes the session rows of an issue when the session summary expires, so they never outlive it', async () => {
    const { store } = temp
    await store.updateAppSettings(appId, { retention: { session: 2 } })
    await write(store, appId, [failure(FP_A, NOW - 3 * DAY_MS, { session: 's1' }), failure(FP_A, NOW - 3 * DAY_MS, { session: 's2' })])
    await write(store, appId, [failure(FP_A, NOW - DAY_MS, { session: 's2' })])
    await runRetention({ store, clock })
    expect(rows('sessions')).toBe(1)
    expect(rows('issue_sessions')).toBe(1)
    expect((await store.listIssues({ appId }))[0]).toMatchObject({ count: 3, sessions: 2 })
  })
})

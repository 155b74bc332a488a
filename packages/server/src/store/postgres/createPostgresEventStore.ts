import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import { toSession, type SessionRow } from '../sessionRow.js'
import type { EventQuery, SessionQuery, Store } from '../Store.js'
import { createPostgresEventWriter } from './createPostgresEventWriter.js'
import type { EventPartitions } from './eventPartitions.js'
import type { PgDatabase, PgQueryable } from './openPostgresPool.js'
import { retryTransient } from './retryTransient.js'

/** The Store's methods that write, read and delete events and session summaries. */
export type EventMethods = Pick<Store, 'writeBatches' | 'readEvents' | 'countEvents' | 'readSessions' | 'purgeApp' | 'deleteExpired' | 'dropEventsBefore'>

/** A part of the store that keeps data of its own about an app, deleted with the app's events (Store.purgeApp). */
export interface AppDataOwner {
  purgeApp(appId: number): Promise<number>
}

/** Short transactions for bulk deletes, so concurrent ingest never waits long on a lock. */
const DELETE_CHUNK = 5000
const PAGE_SIZE = 1000

/**
 * Per-app tables emptied by purgeApp after the events, each in chunks, with the columns that pick a row
 * (their primary key). Issues go last: their rows name them.
 */
const PURGED_TABLES: ReadonlyArray<[table: string, key: string]> = [
  ['event_keys', 'app_id, upsert_key'],
  ['sessions', 'app_id, session_id'],
  ['issue_sessions', 'app_id, issue_id, session_id'],
  ['issue_releases', 'app_id, issue_id, release'],
  ['issue_environments', 'app_id, issue_id, environment'],
  ['issue_days', 'app_id, issue_id, day'],
  ['issue_tags', 'app_id, issue_id, tag, value'],
  ['issues', 'id'],
  ['releases', 'app_id, release'],
  ['daily_counts', 'app_id, day, kind, key'],
]

/**
 * Events and session summaries on PostgreSQL, with the semantics of SQLite's (sqlite/createSqliteStore.ts).
 * `others` are the parts of the store whose data purgeApp deletes with the app's (source maps, alerts,
 * rollups, explorer).
 */
export function createPostgresEventStore(db: PgDatabase, partitions: EventPartitions, others: readonly AppDataOwner[] = []): EventMethods {
  const writeBatches = createPostgresEventWriter(db, partitions)

  /** Deletes chunk after chunk until one comes back short; returns the sum. */
  async function inChunks(deleteChunk: () => Promise<number>): Promise<number> {
    let total = 0
    for (;;) {
      const deleted = await retryTransient(deleteChunk)
      total += deleted
      if (deleted < DELETE_CHUNK) return total
      await yieldToEventLoop()
    }
  }

  const countDeleted = async (tx: PgQueryable, deleteReturning: string, values: readonly unknown[]) =>
    (await tx.query<{ n: number }>(`WITH gone AS (${deleteReturning}) SELECT count(*) AS n FROM gone`, values))[0]!.n

  /**
   * Deletes up to `limit` events matching `where` (on `events`, from $1 on). A view's `event_keys` row goes
   * with it, locked first as the writer locks it, so the two cannot deadlock; a key another write pointed at
   * a newer version meanwhile stays.
   */
  function deleteEvents(where: string, values: readonly unknown[], limit: number): Promise<number> {
    return db.transaction(async (tx) => {
      const doomed = await tx.query<{ app_id: number; id: number; received_at: number; upsert_key: string | null }>(
        `SELECT app_id, id, received_at, upsert_key FROM events WHERE ${where} LIMIT ${limit}`,
        values,
      )
      if (doomed.length === 0) return 0
      const views = doomed.filter((row) => row.upsert_key !== null)
      if (views.length > 0) {
        await tx.query(
          `DELETE FROM event_keys k USING unnest($1::bigint[], $2::text[], $3::bigint[]) AS u (app_id, upsert_key, event_id)
           WHERE k.app_id = u.app_id AND k.upsert_key = u.upsert_key AND k.event_id = u.event_id`,
          [views.map((row) => row.app_id), views.map((row) => row.upsert_key), views.map((row) => row.id)],
        )
      }
      return countDeleted(
        tx,
        `DELETE FROM events e USING unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u (app_id, id, received_at)
         WHERE e.app_id = u.app_id AND e.id = u.id AND e.received_at = u.received_at RETURNING 1`,
        [doomed.map((row) => row.app_id), doomed.map((row) => row.id), doomed.map((row) => row.received_at)],
      )
    })
  }

  return {
    async writeBatches(batches) {
      if (batches.length === 0) return []
      return writeBatches(batches)
    },

    async *readEvents(query) {
      // Keyset pages rather than one open cursor, so no connection stays checked out while the reader dawdles.
      const { where, values } = eventFilter(query)
      let after: { ts: number; id: number } | undefined
      for (;;) {
        const keyset = after ? ` AND (ts, id) > ($${values.length + 1}, $${values.length + 2})` : ''
        const rows = await db.query<{ id: number; ts: number; data: StoredEvent }>(
          `SELECT id, ts, data FROM events WHERE ${where}${keyset} ORDER BY ts, id LIMIT ${PAGE_SIZE}`,
          after ? [...values, after.ts, after.id] : values,
        )
        // jsonb comes back parsed.
        for (const row of rows) yield row.data
        const last = rows.at(-1)
        if (!last || rows.length < PAGE_SIZE) return
        after = last
      }
    },

    async countEvents(query) {
      const { where, values } = eventFilter(query)
      return (await db.query<{ n: number }>(`SELECT count(*) AS n FROM events WHERE ${where}`, values))[0]!.n
    },

    async *readSessions(query) {
      const { where, values } = sessionFilter(query)
      let after: { start_ts: number; session_id: string } | undefined
      for (;;) {
        // COLLATE "C": session ids sort by code point, as SQLite's BINARY collation does.
        const a = values.length + 1
        const keyset = after ? ` AND (start_ts > $${a} OR (start_ts = $${a} AND session_id COLLATE "C" > $${a + 1}))` : ''
        const rows = await db.query<SessionRow>(
          `SELECT * FROM sessions WHERE ${where}${keyset} ORDER BY start_ts, session_id COLLATE "C" LIMIT ${PAGE_SIZE}`,
          after ? [...values, after.start_ts, after.session_id] : values,
        )
        for (const row of rows) yield toSession(row)
        const last = rows.at(-1)
        if (!last || rows.length < PAGE_SIZE) return
        after = last
      }
    },

    async purgeApp(appId) {
      const total = await inChunks(() =>
        countDeleted(
          db,
          `DELETE FROM events WHERE (app_id, id, received_at) IN (SELECT app_id, id, received_at FROM events WHERE app_id = $1 LIMIT ${DELETE_CHUNK}) RETURNING 1`,
          [appId],
        ),
      )
      for (const [table, key] of PURGED_TABLES) {
        await inChunks(() => countDeleted(db, `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE app_id = $1 LIMIT ${DELETE_CHUNK}) RETURNING 1`, [appId]))
      }
      for (const other of others) await other.purgeApp(appId)
      return total
    },

    async deleteExpired({ appId, type, receivedBefore, limit }) {
      if (type !== 'session') return retryTransient(() => deleteEvents('app_id = $1 AND type = $2 AND received_at < $3', [appId, type, receivedBefore], limit))
      // An issue's session rows go with the summary: they are per-session data (DESIGN.md P7). The outer
      // `received_at <` is checked again on a session another write updated meanwhile: one that came back stays.
      return retryTransient(async () => {
        const [row] = await db.query<{ n: number }>(
          `WITH doomed AS (
             DELETE FROM sessions WHERE app_id = $1 AND received_at < $2
               AND session_id IN (SELECT session_id FROM sessions WHERE app_id = $1 AND received_at < $2 LIMIT $3)
             RETURNING app_id, session_id
           ), links AS (
             DELETE FROM issue_sessions i USING doomed d WHERE i.app_id = d.app_id AND i.session_id = d.session_id
           )
           SELECT count(*) AS n FROM doomed`,
          [appId, receivedBefore, limit],
        )
        return row!.n
      })
    },

    async dropEventsBefore(receivedBefore) {
      const counts = new Map<string, { appId: number; type: string; count: number }>()
      await partitions.dropBefore(receivedBefore, async (tx, expired) => {
        // Counted before they go, for the retention report: one pass over each partition.
        for (const partition of expired) {
          const rows = await tx.query<{ app_id: number; type: string; n: number }>(`SELECT app_id, type, count(*) AS n FROM ${partition.name} GROUP BY app_id, type`)
          for (const { app_id: appId, type, n } of rows) {
            const entry = counts.get(`${appId} ${type}`)
            if (entry) entry.count += n
            else counts.set(`${appId} ${type}`, { appId, type, count: n })
          }
        }
        // Every partition before the newest expired one goes, so the keys of views received before its end point
        // at dropped rows.
        const end = Math.max(...expired.map((partition) => partition.to))
        await tx.query('DELETE FROM event_keys WHERE received_at < $1', [end])
      })
      return [...counts.values()].sort((a, b) => a.appId - b.appId || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))
    },
  }
}

interface Filter {
  where: string
  values: unknown[]
}

function eventFilter(query: EventQuery): Filter {
  const values: unknown[] = [query.appId]
  const conditions = ['app_id = $1']
  if (query.types?.length) conditions.push(`type = ANY($${values.push([...query.types])}::text[])`)
  if (query.since !== undefined) conditions.push(`ts >= $${values.push(query.since)}`)
  if (query.until !== undefined) conditions.push(`ts < $${values.push(query.until)}`)
  return { where: conditions.join(' AND '), values }
}

function sessionFilter(query: SessionQuery): Filter {
  const values: unknown[] = [query.appId]
  const conditions = ['app_id = $1']
  if (query.since !== undefined) conditions.push(`start_ts >= $${values.push(query.since)}`)
  if (query.until !== undefined) conditions.push(`start_ts < $${values.push(query.until)}`)
  return { where: conditions.join(' AND '), values }
}

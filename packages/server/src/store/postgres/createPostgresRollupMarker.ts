import type { IngestBatch } from '../Store.js'
import type { PgQueryable } from './openPostgresPool.js'
import { unnestRows } from './unnestRows.js'

const HOUR_MS = 3_600_000

/** The (app, hour) rollups one write changes: added to while the write runs, marked at its end. */
export interface PostgresRollupHours {
  add(appId: number, ts: number): void
  /** Marks every hour added, in the writer's transaction. */
  mark(): Promise<void>
}

/**
 * Marks the (app, hour) rollups a group of batches changes, exactly as SQLite's writer does
 * (sqlite/createRollupMarker.ts, docs/ROLLUPS.md): the hour of each event's `ts`; for each session, the hour it
 * started in, read before the events are written (one query for the group); and, added by the writer as it
 * replaces a stored view, that version's hour. An hour already marked has its `seq` bumped, so a rebuild that
 * read it before this commit keeps the mark. The hours are marked last, in (app, hour) order: every writer of
 * an app bumps the same rows, so they are locked for as short a time, and in the same order, as can be.
 */
export async function createPostgresRollupMarker(tx: PgQueryable, batches: readonly IngestBatch[]): Promise<PostgresRollupHours> {
  const hours = new Map<string, [number, number]>()
  const add = (appId: number, ts: number) => {
    const hour = Math.floor(ts / HOUR_MS) * HOUR_MS
    hours.set(`${appId} ${hour}`, [appId, hour])
  }
  const sessions = new Map<string, [number, string]>()
  for (const batch of batches) {
    for (const event of batch.events) {
      add(batch.appId, event.ts)
      if (event.session) sessions.set(`${batch.appId} ${event.session.id}`, [batch.appId, event.session.id])
    }
  }
  if (sessions.size > 0) {
    const { from, values } = unnestRows(['bigint', 'text'], [...sessions.values()])
    const starts = await tx.query<{ app_id: number; start_ts: number }>(
      `SELECT s.app_id, s.start_ts FROM sessions s JOIN ${from} AS u (app_id, session_id) ON s.app_id = u.app_id AND s.session_id = u.session_id`,
      values,
    )
    for (const row of starts) add(row.app_id, row.start_ts)
  }
  return {
    add,
    async mark() {
      if (hours.size === 0) return
      const { from, values } = unnestRows(['bigint', 'bigint'], [...hours.values()])
      await tx.query(
        `INSERT INTO rollup_dirty AS d (app_id, hour) SELECT * FROM ${from} ORDER BY 1, 2
         ON CONFLICT (app_id, hour) DO UPDATE SET seq = d.seq + 1`,
        values,
      )
    },
  }
}

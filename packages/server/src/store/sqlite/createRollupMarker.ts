import type Database from 'better-sqlite3'
import type { IngestBatch } from '../Store.js'

const HOUR_MS = 3_600_000

/**
 * Marks the (app, hour) rollups a group of batches changes, in the writer's transaction (docs/ROLLUPS.md):
 * the hour of each event's `ts`; for a view that replaces a stored one, the stored version's hour too (its `ts`
 * may move); and for each session, the hour it started in, whose session rollup its new events change (exit page,
 * duration, errors). Called before the events are written, so it reads the stored view and session as they were.
 * An hour already marked has its `seq` bumped (one small row write per commit for the hour being written to).
 */
export function createRollupMarker(db: Database.Database): (batches: readonly IngestBatch[]) => void {
  // An hour already marked gets its seq bumped, so a rebuild that read it before this commit keeps the mark.
  const mark = db.prepare<[number, number]>('INSERT INTO rollup_dirty (app_id, hour) VALUES (?, ?) ON CONFLICT (app_id, hour) DO UPDATE SET seq = seq + 1')
  const storedViewTs = db.prepare<[number, string]>('SELECT ts FROM events WHERE app_id = ? AND upsert_key = ?').pluck()
  const sessionStart = db.prepare<[number, string]>('SELECT start_ts FROM sessions WHERE app_id = ? AND session_id = ?').pluck()
  return (batches) => {
    const hours = new Map<string, [number, number]>()
    const add = (appId: number, ts: number) => {
      const hour = Math.floor(ts / HOUR_MS) * HOUR_MS
      hours.set(`${appId} ${hour}`, [appId, hour])
    }
    const sessions = new Set<string>()
    for (const batch of batches) {
      for (const event of batch.events) {
        add(batch.appId, event.ts)
        if (event.type === 'view') {
          const stored = storedViewTs.get(batch.appId, event.view.id) as number | undefined
          if (stored !== undefined) add(batch.appId, stored)
        }
        if (event.session && !sessions.has(`${batch.appId} ${event.session.id}`)) {
          sessions.add(`${batch.appId} ${event.session.id}`)
          const start = sessionStart.get(batch.appId, event.session.id) as number | undefined
          if (start !== undefined) add(batch.appId, start)
        }
      }
    }
    for (const [appId, hour] of hours.values()) mark.run(appId, hour)
  }
}

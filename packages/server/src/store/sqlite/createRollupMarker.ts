import type Database from 'better-sqlite3'
import type { IngestBatch } from '../Store.js'

const HOUR_MS = 3_600_000

/** The (app, hour) rollups one write changes: added to while the write runs, marked at its end. */
export interface RollupHours {
  add(appId: number, ts: number): void
  /** Marks every hour added, in the writer's transaction. */
  mark(): void
}

/**
 * Marks the (app, hour) rollups a group of batches changes, in the writer's transaction (docs/ROLLUPS.md):
 * the hour of each event's `ts`; for each session, the hour it started in, whose session rollup its new events
 * change (exit page, duration, errors) — read before the events are written, while the session is as it was; and,
 * added by the writer as it replaces a stored view, that version's hour (its `ts` may move: the writer reads the
 * stored view anyway, so the marker does not look it up again). An hour already marked has its `seq` bumped (one
 * small row write per commit for the hour being written to).
 */
export function createRollupMarker(db: Database.Database): (batches: readonly IngestBatch[]) => RollupHours {
  // An hour already marked gets its seq bumped, so a rebuild that read it before this commit keeps the mark.
  const mark = db.prepare<[number, number]>('INSERT INTO rollup_dirty (app_id, hour) VALUES (?, ?) ON CONFLICT (app_id, hour) DO UPDATE SET seq = seq + 1')
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
        if (event.session && !sessions.has(`${batch.appId} ${event.session.id}`)) {
          sessions.add(`${batch.appId} ${event.session.id}`)
          const start = sessionStart.get(batch.appId, event.session.id) as number | undefined
          if (start !== undefined) add(batch.appId, start)
        }
      }
    }
    return {
      add,
      mark() {
        for (const [appId, hour] of hours.values()) mark.run(appId, hour)
      },
    }
  }
}

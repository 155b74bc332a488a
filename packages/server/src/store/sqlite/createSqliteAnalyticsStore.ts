import type Database from 'better-sqlite3'
import { createStepPacer } from '../../analytics/createStepPacer.js'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import type { AnalyticsStore } from '../AnalyticsStore.js'
import { createRollupBuilder, type DirtyHour, type HourlyTable, type RollupDatabase, type RollupRun, type SessionRollupRow } from '../rollups/createRollupBuilder.js'
import { DAY_MS, HOUR_MS } from '../rollups/rollupCells.js'
import { ROLLUP_COLUMNS } from '../rollups/rollupDifference.js'
import { FAMILY_TABLES, HOURLY_TABLES, SLICE_FAMILIES } from '../rollups/rollupFamilies.js'
import { createRollupQueries } from './createRollupQueries.js'
import { createRollupRowWriter } from './createRollupRowWriter.js'

/** Events read per step when an hour is rebuilt: about 4–7 ms of work, then ingest gets the event loop. */
const READ_PAGE = 100

/**
 * The SQLite rollups (docs/ROLLUPS.md), built by the shared rollups/createRollupBuilder.ts and read by
 * rollups/createRollupAnswers.ts: this file holds SQLite's statements. Writes are differences in short IMMEDIATE
 * transactions (createRollupRowWriter.ts); one process runs the job, so runs never overlap (startRollupJob).
 */
export function createSqliteAnalyticsStore(db: Database.Database): AnalyticsStore {
  const sql = {
    dirty: db.prepare('SELECT app_id AS appId, hour, seq FROM rollup_dirty ORDER BY app_id, hour LIMIT 500'),
    clearDirty: db.prepare<[number, number, number]>('DELETE FROM rollup_dirty WHERE app_id = ? AND hour = ? AND seq = ?'),
    hourMarked: db.prepare<[number, number]>('SELECT 1 FROM rollup_dirty WHERE app_id = ? AND hour = ?').pluck(),
    markDay: db.prepare<[number, number]>('INSERT INTO rollup_dirty_days (app_id, day) VALUES (?, ?) ON CONFLICT (app_id, day) DO UPDATE SET seq = seq + 1'),
    daySeq: db.prepare<[number, number]>('SELECT seq FROM rollup_dirty_days WHERE app_id = ? AND day = ?').pluck(),
    clearDay: db.prepare<[number, number, number]>('DELETE FROM rollup_dirty_days WHERE app_id = ? AND day = ? AND seq = ?'),
    completeDirtyDays: db.prepare<[number]>('SELECT app_id AS appId, day FROM rollup_dirty_days WHERE day < ? ORDER BY app_id, day'),
    // Pages in (ts, id) order, so a rebuild reads an hour in steps and gives the event loop back between them.
    hourEvents: db.prepare<[number, number, number, number, number, number]>(
      `SELECT id, ts, data FROM events WHERE app_id = ? AND ts >= ? AND ts < ? AND type IN ('view', 'action', 'error', 'vital', 'resource', 'long_task')
       AND (ts, id) > (?, ?) ORDER BY ts, id LIMIT ?`,
    ),
    hourSessions: db.prepare<[number, number, number]>(
      'SELECT start_ts, end_ts, views, has_error, country, browser, os, device_type, release, entry_page, exit_page, env FROM sessions WHERE app_id = ? AND start_ts >= ? AND start_ts < ?',
    ),
    // In key order (the primary key's): a day's cells, and the sums of fractions cut from them, come out the same on every adapter.
    hourRows: Object.fromEntries(
      HOURLY_TABLES.map((table) => [
        table,
        db.prepare<[number, number, number]>(`SELECT * FROM ${table} WHERE app_id = ? AND span = ${HOUR_MS} AND t >= ? AND t < ? ORDER BY t, ${ROLLUP_COLUMNS[table as HourlyTable].key.join(', ')}`),
      ]),
    ) as Record<HourlyTable, Database.Statement<[number, number, number]>>,
  }

  const rowWriter = createRollupRowWriter(db)

  const database: RollupDatabase = {
    async dirtyHours() {
      return sql.dirty.all() as DirtyHour[]
    },
    async eventPage(appId, from, to, after, limit) {
      const rows = sql.hourEvents.all(appId, from, to, after?.ts ?? -Infinity, after?.id ?? 0, limit) as Array<{ id: number; ts: number; data: string }>
      return rows.map((row) => ({ id: row.id, ts: row.ts, event: JSON.parse(row.data) as StoredEvent }))
    },
    async sessionsStarted(appId, from, to) {
      return sql.hourSessions.all(appId, from, to) as SessionRollupRow[]
    },
    async hourlyRows(table, appId, hour) {
      return sql.hourRows[table].all(appId, hour, hour + HOUR_MS)
    },
    async dirtyDaysBefore(before) {
      return sql.completeDirtyDays.all(before) as Array<{ appId: number; day: number }>
    },
    async daySeq(appId, day) {
      return sql.daySeq.get(appId, day) as number | undefined
    },
    /**
     * Its day is marked in the first transaction, so no query reads the day's now stale daily rows: until the day
     * is rebuilt, queries read its hourly rows. The hour's mark is cleared in the last one, only if no commit
     * touched the hour since the rebuild read its `seq`; otherwise it stays, and the next run rebuilds the hour
     * again. A purge meanwhile (the mark is gone) stops the write.
     */
    async writeHour({ appId, hour, seq, rows, between, stopped }) {
      await rowWriter.write({
        appId,
        span: HOUR_MS,
        t: hour,
        rows,
        between,
        guard: () => !stopped() && sql.hourMarked.get(appId, hour) !== undefined,
        first: () => void sql.markDay.run(appId, Math.floor(hour / DAY_MS) * DAY_MS),
        last: () => void sql.clearDirty.run(appId, hour, seq),
      })
    },
    /**
     * Queries ignore a marked day's daily rows (they read its hours), so rows written before the last step are
     * never read half-done; the last step clears the mark only if none of the day's hours was rebuilt meanwhile
     * (then the write stops, and the next run starts the day over).
     */
    async writeDay({ appId, day, seq, rows, between, stopped }) {
      let cleared = false
      const written = await rowWriter.write({
        appId,
        span: DAY_MS,
        t: day,
        rows,
        between,
        guard: () => !stopped() && sql.daySeq.get(appId, day) === seq,
        last: () => void (cleared = sql.clearDay.run(appId, day, seq).changes > 0),
      })
      return written && cleared
    },
  }
  const builder = createRollupBuilder(database, { readPage: READ_PAGE })
  const queries = createRollupQueries(db)
  /** Runs never overlap (startRollupJob); a retention rebuild between them is served a turn at a time. */
  const unpaced: RollupRun = { between: createStepPacer({ share: 1 }) }

  return {
    async refreshRollups({ now, signal, share = 1 }) {
      return builder.refresh(now, { between: createStepPacer({ share }), signal })
    },

    overview: queries.overview,
    performance: queries.performance,

    async deleteRollupsBefore({ appId, family: rollupFamily, before }) {
      let deleted = 0
      const tables = FAMILY_TABLES[rollupFamily]
      db.transaction(() => {
        for (const table of tables) {
          deleted += db.prepare(`DELETE FROM ${table} WHERE app_id = ? AND span = ${HOUR_MS} AND t < ?`).run(appId, before).changes
          deleted += db.prepare(`DELETE FROM ${table} WHERE app_id = ? AND span = ${DAY_MS} AND t < ?`).run(appId, before).changes
        }
        for (const family of SLICE_FAMILIES[rollupFamily]) {
          for (const span of [HOUR_MS, DAY_MS]) {
            deleted += db.prepare('DELETE FROM rollup_slices INDEXED BY rollup_slices_by_bucket WHERE app_id = ? AND span = ? AND t < ? AND family = ?').run(appId, span, before, family).changes
          }
        }
      }).immediate()
      // The day that straddles the limit keeps its later hours: rebuild its rows from them.
      const day = Math.floor(before / DAY_MS) * DAY_MS
      if (day < before && deleted > 0) {
        sql.markDay.run(appId, day)
        await builder.rebuildDay(appId, day, unpaced)
      }
      return deleted
    },

    async purgeApp(appId) {
      let deleted = 0
      db.transaction(() => {
        for (const table of [...HOURLY_TABLES, 'rollup_slices', 'rollup_dirty', 'rollup_dirty_days']) deleted += db.prepare(`DELETE FROM ${table} WHERE app_id = ?`).run(appId).changes
      }).immediate()
      return deleted
    },
  }
}

import { performance } from 'node:perf_hooks'
import { createStepPacer } from '../../analytics/createStepPacer.js'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import type { AnalyticsStore } from '../AnalyticsStore.js'
import { createRollupBuilder, type DirtyHour, type RollupDatabase, type RollupRun, type SessionRollupRow } from '../rollups/createRollupBuilder.js'
import { DAY_MS, HOUR_MS } from '../rollups/rollupCells.js'
import { ROLLUP_COLUMNS } from '../rollups/rollupDifference.js'
import { FAMILY_TABLES, HOURLY_TABLES, SLICE_FAMILIES } from '../rollups/rollupFamilies.js'
import { createPostgresRollupQueries } from './createPostgresRollupQueries.js'
import { createPostgresRollupWriter } from './createPostgresRollupWriter.js'
import type { PgDatabase, PgQueryable } from './openPostgresPool.js'

/**
 * Events read per step when an hour is rebuilt. More than SQLite's 100: each page is a round trip, and the
 * rows are parsed as they arrive, so a page costs this process about what SQLite's does.
 */
const READ_PAGE = 250
/** The advisory lock space of the rollup job: (ROLLUP_LOCK, app id) is held by the node rebuilding that app's rollups. */
const ROLLUP_LOCK = 0x7461_6372
const INT4_MAX = 2_147_483_647

/**
 * The PostgreSQL rollups (docs/ROLLUPS.md), built by the shared rollups/createRollupBuilder.ts and read by the
 * shared rollups/createRollupAnswers.ts, so they hold what SQLite's hold for the same events: this file holds
 * PostgreSQL's statements and what several nodes sharing one database need.
 *
 * - **One node per app at a time.** A run works on a connection of its own and takes a session advisory lock
 *   per app (pg_try_advisory_lock) before the app's first hour: an app another node is rebuilding is skipped for
 *   this run (its marks stay; the other node clears them). The locks go with the connection, so a node that dies
 *   mid-run frees its apps.
 * - **Marks.** The event writer bumps an hour's `seq` in its ingest transaction (createPostgresRollupMarker.ts). A
 *   rebuild clears the mark with `DELETE … WHERE seq = <the seq it read>` in its last write transaction: under
 *   READ COMMITTED a concurrent ingest's uncommitted bump makes that DELETE wait for the ingest to commit, and
 *   then it re-reads the row, sees the new `seq` and deletes nothing — the mark of a commit the rebuild may have
 *   missed is never lost. Each write transaction first takes a KEY SHARE lock on the mark, which ingest's bump
 *   does not wait for but a purge's DELETE does, so a purge cannot interleave with a chunk being written.
 * - **Short transactions.** Events, sessions and stored rows are read outside any transaction; rows are written
 *   1,000 to a transaction (createPostgresRollupWriter.ts). Rollup rows are touched only by the job, so ingest
 *   never waits on it, except for the moment a mark it bumps is being cleared.
 */
export function createPostgresAnalyticsStore(db: PgDatabase): AnalyticsStore {
  const queries = createPostgresRollupQueries(db)

  /** The run's RollupDatabase on its own connection; `claim` takes an app's advisory lock. */
  function rollupDatabase(conn: PgQueryable): RollupDatabase {
    const writer = createPostgresRollupWriter(conn)
    return {
      dirtyHours: () => conn.query<DirtyHour>('SELECT app_id AS "appId", hour, seq FROM rollup_dirty ORDER BY app_id, hour LIMIT 500'),
      async eventPage(appId, from, to, after, limit) {
        const values: unknown[] = [appId, from, to, limit]
        let page = ''
        if (after) {
          page = ' AND (ts, id) > ($5, $6)'
          values.push(after.ts, after.id)
        }
        // The (app_id, ts, id, session_id) index of every partition, merged in (ts, id) order.
        const rows = await conn.query<{ id: number; ts: number; data: StoredEvent }>(
          `SELECT id, ts, data FROM events WHERE app_id = $1 AND ts >= $2 AND ts < $3 AND type IN ('view', 'action', 'error', 'vital', 'resource', 'long_task')${page}
           ORDER BY ts, id LIMIT $4`,
          values,
        )
        return rows.map((row) => ({ id: row.id, ts: row.ts, event: row.data }))
      },
      sessionsStarted: (appId, from, to) =>
        conn.query<SessionRollupRow>(
          'SELECT start_ts, end_ts, views, has_error, country, browser, os, device_type, release, entry_page, exit_page, env FROM sessions WHERE app_id = $1 AND start_ts >= $2 AND start_ts < $3',
          [appId, from, to],
        ),
      // In SQLite's key order (bytewise, COLLATE "C"): the day's cells, and sums of fractions cut from them, come out the same.
      hourlyRows: (table, appId, hour) =>
        conn.query(`SELECT * FROM ${table} WHERE app_id = $1 AND span = ${HOUR_MS} AND t = $2 ORDER BY ${ROLLUP_COLUMNS[table].key.map((c) => `"${c}" COLLATE "C"`).join(', ')}`, [appId, hour]),
      dirtyDaysBefore: (before) => conn.query<{ appId: number; day: number }>('SELECT app_id AS "appId", day FROM rollup_dirty_days WHERE day < $1 ORDER BY app_id, day', [before]),
      async daySeq(appId, day) {
        const [row] = await conn.query<{ seq: number }>('SELECT seq FROM rollup_dirty_days WHERE app_id = $1 AND day = $2', [appId, day])
        return row?.seq
      },
      async writeHour({ appId, hour, seq, rows, between, stopped }) {
        await writer.write({
          appId,
          span: HOUR_MS,
          t: hour,
          rows,
          between,
          guard: async (tx) => !stopped() && (await tx.query('SELECT 1 FROM rollup_dirty WHERE app_id = $1 AND hour = $2 FOR KEY SHARE', [appId, hour])).length > 0,
          first: (tx) => markDay(tx, appId, Math.floor(hour / DAY_MS) * DAY_MS),
          last: (tx) => tx.query('DELETE FROM rollup_dirty WHERE app_id = $1 AND hour = $2 AND seq = $3', [appId, hour, seq]),
        })
      },
      async writeDay({ appId, day, seq, rows, between, stopped }) {
        let cleared = false
        const written = await writer.write({
          appId,
          span: DAY_MS,
          t: day,
          rows,
          between,
          guard: async (tx) => {
            if (stopped()) return false
            const [row] = await tx.query<{ seq: number }>('SELECT seq FROM rollup_dirty_days WHERE app_id = $1 AND day = $2 FOR KEY SHARE', [appId, day])
            return row?.seq === seq
          },
          last: async (tx) => {
            cleared = (await tx.query('DELETE FROM rollup_dirty_days WHERE app_id = $1 AND day = $2 AND seq = $3 RETURNING 1', [appId, day, seq])).length > 0
          },
        })
        return written && cleared
      },
      async claimApp(appId) {
        const [row] = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [ROLLUP_LOCK, appId % INT4_MAX])
        return row?.ok === true
      },
    }
  }

  /** Runs `work` with a connection of its own, then frees its advisory locks (or drops it, after an error). */
  async function withRollupConnection<T>(work: (conn: PgQueryable, busy: () => number) => Promise<T>): Promise<T> {
    const connection = await db.connect()
    // The time spent waiting on the database is not this process's work: the step pacer counts the rest.
    let waited = 0
    const conn: PgQueryable = {
      async query(text, values) {
        const started = performance.now()
        try {
          return await connection.query(text, values)
        } finally {
          waited += performance.now() - started
        }
      },
    }
    let failure: Error | undefined
    try {
      return await work(conn, () => performance.now() - waited)
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error))
      throw error
    } finally {
      if (!failure) {
        try {
          await connection.query('SELECT pg_advisory_unlock_all()')
        } catch (error) {
          failure = error instanceof Error ? error : new Error(String(error))
        }
      }
      // A connection that failed is destroyed, not returned to the pool: its locks and cursor go with it.
      connection.release(failure)
    }
  }

  const builder = (conn: PgQueryable) => createRollupBuilder(rollupDatabase(conn), { readPage: READ_PAGE })
  const run = (share: number, busy: () => number, signal?: AbortSignal): RollupRun => ({ between: createStepPacer({ share, elapsed: busy }), signal })

  return {
    refreshRollups({ now, signal, share = 1 }) {
      return withRollupConnection((conn, busy) => builder(conn).refresh(now, run(share, busy, signal)))
    },

    overview: queries.overview,
    performance: queries.performance,

    async deleteRollupsBefore({ appId, family, before }) {
      let deleted = 0
      for (const table of FAMILY_TABLES[family]) {
        for (const span of [HOUR_MS, DAY_MS]) deleted += await inChunks(db, table, 'app_id = $1 AND span = $2 AND t < $3', [appId, span, before])
      }
      for (const slice of SLICE_FAMILIES[family]) {
        for (const span of [HOUR_MS, DAY_MS]) deleted += await inChunks(db, 'rollup_slices', 'app_id = $1 AND span = $2 AND t < $3 AND family = $4', [appId, span, before, slice])
      }
      // The day that straddles the limit keeps its later hours: rebuild its rows from them. Marked first, so
      // queries read its hours until then; when another node is rebuilding the app, its job rebuilds the day.
      const day = Math.floor(before / DAY_MS) * DAY_MS
      if (day < before && deleted > 0) {
        await markDay(db, appId, day)
        await withRollupConnection(async (conn, busy) => {
          const database = rollupDatabase(conn)
          if (await database.claimApp!(appId)) await createRollupBuilder(database, { readPage: READ_PAGE }).rebuildDay(appId, day, run(1, busy))
        })
      }
      return deleted
    },

    async purgeApp(appId) {
      // The marks first, in one short transaction: a rebuild writing a chunk holds its mark (KEY SHARE), so this
      // waits for that chunk to commit, and the rebuild's next chunk finds no mark and stops. The rows it wrote
      // are then deleted with the rest, in chunks.
      let deleted = await db.transaction(async (tx) => (await count(tx, 'DELETE FROM rollup_dirty WHERE app_id = $1', [appId])) + (await count(tx, 'DELETE FROM rollup_dirty_days WHERE app_id = $1', [appId])))
      for (const table of [...HOURLY_TABLES, 'rollup_slices']) deleted += await inChunks(db, table, 'app_id = $1', [appId])
      return deleted
    },
  }
}

/** Queries read a marked day's hourly rows and ignore its daily rows until it is rebuilt. */
async function markDay(tx: PgQueryable, appId: number, day: number): Promise<void> {
  await tx.query('INSERT INTO rollup_dirty_days (app_id, day) VALUES ($1, $2) ON CONFLICT (app_id, day) DO UPDATE SET seq = rollup_dirty_days.seq + 1', [appId, day])
}

async function count(tx: PgQueryable, statement: string, values: unknown[]): Promise<number> {
  const [row] = await tx.query<{ n: number }>(`WITH deleted AS (${statement} RETURNING 1) SELECT count(*) AS n FROM deleted`, values)
  return row?.n ?? 0
}

/** Rows deleted per statement: each its own short transaction, so a big purge or retention run holds no lock for long. */
const DELETE_CHUNK = 5000

async function inChunks(db: PgQueryable, table: string, where: string, values: unknown[]): Promise<number> {
  let total = 0
  for (;;) {
    const n = await count(db, `DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${where} LIMIT ${DELETE_CHUNK})`, values)
    total += n
    if (n < DELETE_CHUNK) return total
  }
}

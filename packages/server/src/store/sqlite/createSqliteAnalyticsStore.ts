import type Database from 'better-sqlite3'
import { createStepPacer } from '../../analytics/createStepPacer.js'
import { referrerDomain, resourceUrl, utmCampaign } from '../../analytics/eventDimensions.js'
import { addToHistogram, mergeHistogram, type Histogram } from '../../analytics/histogram.js'
import { rateVital, VITAL_SCALE } from '../../analytics/webVitals.js'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import type { AnalyticsStore, RollupFamily } from '../AnalyticsStore.js'
import { createRollupQueries } from './createRollupQueries.js'
import { createRollupRowWriter, type RollupRow } from './createRollupRowWriter.js'
import {
  DAY_MS,
  dimsOf,
  dimsOfRow,
  getOrAdd,
  HOUR_MS,
  mergeMetrics,
  ROW_STEP,
  SEP,
  sliceSteps,
  type Cells,
  type ResourceCell,
  type ResourceRow,
  type SessionCell,
  type SessionKey,
  type SessionRowOut,
  type SliceCell,
  type SliceFamily,
  type SourceCell,
  type SourceRow,
  type TaskCell,
  type TaskRow,
  type ViewCell,
  type ViewMetrics,
  type ViewRow,
} from './rollupCells.js'

/** How long after its end a day's daily rows are built. */
const DAY_SETTLE_MS = HOUR_MS

interface SessionRow {
  start_ts: number
  end_ts: number
  views: number
  has_error: number
  country: string | null
  browser: string | null
  os: string | null
  device_type: string | null
  release: string | null
  entry_page: string | null
  exit_page: string | null
  env: string | null
}

const FAMILY_TABLES: Record<RollupFamily, string[]> = {
  views: ['rollup_views', 'rollup_sources'],
  sessions: ['rollup_sessions'],
  resources: ['rollup_resources'],
  long_tasks: ['rollup_long_tasks'],
}
const TABLES = Object.values(FAMILY_TABLES).flat()
/** Events read per step when an hour is rebuilt: about 4–7 ms of work, then ingest gets the event loop. */
const READ_PAGE = 100
/** The families of rollup_slices each retention family covers. */
const SLICE_FAMILIES: Record<RollupFamily, SliceFamily[]> = { views: ['views', 'sources'], sessions: ['sessions'], resources: ['resources'], long_tasks: ['long_tasks'] }

/**
 * The SQLite rollups (docs/ROLLUPS.md). An hour is recomputed from its raw events in pages, outside any
 * transaction and yielding between pages, then written as a difference in short transactions
 * (createRollupRowWriter.ts), the last of which clears its dirty mark only if no commit touched the hour meanwhile
 * (the mark's `seq`): the rollups are what a scan of the raw events gives, a job period or a few late, and ingest
 * never waits for a rebuild. Days are rebuilt from their hours the same way.
 */
export function createSqliteAnalyticsStore(db: Database.Database): AnalyticsStore {
  const sql = {
    dirty: db.prepare('SELECT app_id, hour, seq FROM rollup_dirty ORDER BY app_id, hour LIMIT 500'),
    clearDirty: db.prepare<[number, number, number]>('DELETE FROM rollup_dirty WHERE app_id = ? AND hour = ? AND seq = ?'),
    hourMarked: db.prepare<[number, number]>('SELECT 1 FROM rollup_dirty WHERE app_id = ? AND hour = ?').pluck(),
    markDay: db.prepare<[number, number]>('INSERT INTO rollup_dirty_days (app_id, day) VALUES (?, ?) ON CONFLICT (app_id, day) DO UPDATE SET seq = seq + 1'),
    daySeq: db.prepare<[number, number]>('SELECT seq FROM rollup_dirty_days WHERE app_id = ? AND day = ?').pluck(),
    clearDay: db.prepare<[number, number, number]>('DELETE FROM rollup_dirty_days WHERE app_id = ? AND day = ? AND seq = ?'),
    completeDirtyDays: db.prepare<[number]>('SELECT app_id, day, seq FROM rollup_dirty_days WHERE day < ? ORDER BY app_id, day'),
    dirtyDays: db.prepare<[number, number, number]>('SELECT day FROM rollup_dirty_days WHERE app_id = ? AND day >= ? AND day < ?').pluck(),
    // Pages in (ts, id) order, so a rebuild reads an hour in steps and gives the event loop back between them.
    hourEvents: db.prepare<[number, number, number, number, number]>(
      `SELECT id, ts, data FROM events WHERE app_id = ? AND ts >= ? AND ts < ? AND type IN ('view', 'action', 'error', 'vital', 'resource', 'long_task')
       AND (ts, id) > (?, ?) ORDER BY ts, id LIMIT ${READ_PAGE}`,
    ),
    hourSessions: db.prepare<[number, number, number]>(
      'SELECT start_ts, end_ts, views, has_error, country, browser, os, device_type, release, entry_page, exit_page, env FROM sessions WHERE app_id = ? AND start_ts >= ? AND start_ts < ?',
    ),
    slices: db.prepare<[number, string, string, string, string, number, number, number]>(
      'SELECT t, gkey, a, b, c, d, metrics FROM rollup_slices WHERE app_id = ? AND family = ? AND fdim = ? AND fkey = ? AND gdim = ? AND span = ? AND t >= ? AND t < ?',
    ),
    hourRows: Object.fromEntries(
      TABLES.map((table) => [table, db.prepare<[number, number, number]>(`SELECT * FROM ${table} WHERE app_id = ? AND span = ${HOUR_MS} AND t >= ? AND t < ?`)]),
    ),
  }

  /** The signal of the refresh under way: runs never overlap (startRollupJob). */
  let stopSignal: AbortSignal | undefined
  /** Called between steps: yields a turn of the event loop, or paces the refresh under way to its `share`. */
  let betweenSteps = createStepPacer({ share: 1 })
  const rowWriter = createRollupRowWriter(db)
  const queries = createRollupQueries(db)

  /**
   * An hour's rows, made what was computed from its events (computeHour, outside any transaction, in steps that
   * give the event loop back), written as a difference in short transactions (createRollupRowWriter.ts). Its day
   * is marked in the first of them, so no query reads the day's now stale daily rows: until the day is rebuilt,
   * queries read its hourly rows (segments). The hour's mark is cleared in the last one, only if no commit
   * touched the hour since the rebuild read its `seq`; otherwise it stays, and the next run rebuilds the hour
   * again. A purge meanwhile (the mark is gone) stops the write.
   */
  async function writeHour(appId: number, hour: number, seq: number, cells: Cells): Promise<void> {
    await rowWriter.write({
      appId,
      span: HOUR_MS,
      t: hour,
      rows: await cellRows(cells, await slicesInSteps(cells)),
      between: betweenSteps,
      guard: () => !stopSignal?.aborted && sql.hourMarked.get(appId, hour) !== undefined,
      first: () => void sql.markDay.run(appId, Math.floor(hour / DAY_MS) * DAY_MS),
      last: () => void sql.clearDirty.run(appId, hour, seq),
    })
  }

  /**
   * A day's rows from its hours' rows (computeDay), written the same way. Queries ignore a marked day's daily
   * rows (they read its hours), so rows written before the last step are never read half-done; the last step
   * clears the mark only if none of the day's hours was rebuilt meanwhile (then the write stops, and the next run
   * starts the day over).
   */
  async function rebuildDay(appId: number, day: number): Promise<boolean> {
    const seq = sql.daySeq.get(appId, day) as number | undefined
    if (seq === undefined) return false
    const cells = await computeDay(appId, day)
    let cleared = false
    const written = await rowWriter.write({
      appId,
      span: DAY_MS,
      t: day,
      rows: await cellRows(cells, await slicesInSteps(cells)),
      between: betweenSteps,
      guard: () => !stopSignal?.aborted && sql.daySeq.get(appId, day) === seq,
      last: () => void (cleared = sql.clearDay.run(appId, day, seq).changes > 0),
    })
    return written && cleared
  }

  /** The slices of a bucket, cut with the event loop served every few hundred cells: a day's take about a second. */
  async function slicesInSteps(cells: Cells): Promise<Map<string, SliceCell>> {
    const slices = new Map<string, SliceCell>()
    for (const _ of sliceSteps(cells, slices)) await betweenSteps()
    return slices
  }

  /** undefined when the refresh was stopped while reading (refreshRollups' signal). */
  async function computeHour(appId: number, hour: number): Promise<Cells | undefined> {
    const views = new Map<string, ViewCell>()
    const sources = new Map<string, SourceCell>()
    const resources = new Map<string, ResourceCell>()
    const tasks = new Map<string, TaskCell>()
    for await (const data of pagedData(sql.hourEvents, appId, hour, hour + HOUR_MS)) {
      const event = JSON.parse(data) as StoredEvent
      const dims = dimsOf(event)
      const id = dims.join(SEP)
      if (event.type === 'resource') {
        const url = resourceUrl(event.resource.url)
        const type = event.resource.type ?? ''
        const cell = getOrAdd(resources, `${id}${SEP}${type}${SEP}${url}`, () => ({ dims, type, url, count: 0, histogram: {} }))
        cell.count++
        addToHistogram(cell.histogram, event.resource.duration)
        continue
      }
      if (event.type === 'long_task') {
        const cell = getOrAdd(tasks, id, () => ({ dims, count: 0, totalMs: 0, histogram: {} }))
        cell.count++
        cell.totalMs += event.long_task.duration
        addToHistogram(cell.histogram, event.long_task.duration)
        continue
      }
      const cell = getOrAdd(views, id, (): ViewCell => ({ dims, views: 0, actions: 0, errors: 0, m: { h: {}, r: {} } }))
      if (event.type === 'view') {
        cell.views++
        const v = event.view
        if (v.time_spent !== undefined) addToHistogram((cell.m.h.view_duration ??= {}), v.time_spent)
        if (v.first_byte !== undefined) addToHistogram((cell.m.h['nav.ttfb'] ??= {}), v.first_byte)
        if (v.dom_content_loaded !== undefined) addToHistogram((cell.m.h['nav.dcl'] ??= {}), v.dom_content_loaded)
        if (v.load_event !== undefined) addToHistogram((cell.m.h['nav.load'] ??= {}), v.load_event)
        const referrer = referrerDomain(v.referrer, v.url)
        if (referrer) getOrAdd(sources, `${id}${SEP}referrer${SEP}${referrer}`, () => ({ dims, kind: 'referrer', key: referrer, views: 0 })).views++
        const campaign = utmCampaign(v.url)
        if (campaign) getOrAdd(sources, `${id}${SEP}utm_campaign${SEP}${campaign}`, () => ({ dims, kind: 'utm_campaign', key: campaign, views: 0 })).views++
      } else if (event.type === 'action') {
        cell.actions++
      } else if (event.type === 'error') {
        cell.errors++
      } else if (event.type === 'vital') {
        const { name, value } = event.vital
        addToHistogram((cell.m.h[name] ??= {}), value * VITAL_SCALE[name])
        const ratings = (cell.m.r[name] ??= [0, 0, 0])
        ratings[rateVital(name, value)]++
      }
    }
    if (stopSignal?.aborted) return undefined
    const sessions = sessionCells(appId, hour)
    return stopSignal?.aborted ? undefined : { views, sources, resources, tasks, sessions }
  }

  /** A day's hourly rows of a table, hour by hour, yielding to the event loop between hours. */
  async function* hourlyRows<Row>(table: string, appId: number, day: number): AsyncGenerator<Row> {
    for (let hour = day; hour < day + DAY_MS; hour += HOUR_MS) {
      yield* sql.hourRows[table]!.all(appId, hour, hour + HOUR_MS) as Row[]
      await betweenSteps()
    }
  }

  /**
   * The `data` of the events a paged statement selects, page by page in (ts, id) order, yielding to the event
   * loop between pages: a busy hour is tens of thousands of events, and ingest must not wait for all of them.
   */
  async function* pagedData(statement: Database.Statement<[number, number, number, number, number]>, appId: number, from: number, to: number): AsyncGenerator<string> {
    let after = { ts: -Infinity, id: 0 }
    for (;;) {
      const rows = statement.all(appId, from, to, after.ts, after.id) as Array<{ id: number; ts: number; data: string }>
      for (const row of rows) yield row.data
      const last = rows.at(-1)
      // A stopped refresh reads no further; its caller sees the signal and writes nothing.
      if (!last || rows.length < READ_PAGE || stopSignal?.aborted) return
      after = last
      await betweenSteps()
    }
  }

  /**
   * The sessions that started in the hour, from their summaries (store/Store.ts SessionSummary: exact counts,
   * device and country, and the entry and exit pages and environment the event writer keeps, migration 16).
   */
  function sessionCells(appId: number, hour: number): Map<string, SessionCell> {
    const cells = new Map<string, SessionCell>()
    for (const row of sql.hourSessions.iterate(appId, hour, hour + HOUR_MS) as IterableIterator<SessionRow>) {
      const key: SessionKey = [row.entry_page ?? '', row.exit_page ?? '', row.country ?? '', row.browser ?? '', row.os ?? '', row.device_type ?? '', row.release ?? '', row.env ?? '']
      const cell = getOrAdd(cells, key.join(SEP), () => ({ key, sessions: 0, bounces: 0, crashed: 0, durationMs: 0 }))
      cell.sessions++
      if (row.views === 1) cell.bounces++
      if (row.has_error) cell.crashed++
      cell.durationMs += row.end_ts - row.start_ts
    }
    return cells
  }

  /** A day's rows are the sums of its hours' rows, dimension by dimension. */
  async function computeDay(appId: number, day: number): Promise<Cells> {
    const views = new Map<string, ViewCell>()
    for await (const row of hourlyRows<ViewRow>('rollup_views', appId, day)) {
      const dims = dimsOfRow(row)
      const cell = getOrAdd(views, dims.join(SEP), (): ViewCell => ({ dims, views: 0, actions: 0, errors: 0, m: { h: {}, r: {} } }))
      cell.views += row.views
      cell.actions += row.actions
      cell.errors += row.errors
      mergeMetrics(cell.m, JSON.parse(row.metrics) as ViewMetrics)
    }
    const resources = new Map<string, ResourceCell>()
    for await (const row of hourlyRows<ResourceRow>('rollup_resources', appId, day)) {
      const dims = dimsOfRow(row)
      const cell = getOrAdd(resources, `${dims.join(SEP)}${SEP}${row.type}${SEP}${row.url}`, () => ({ dims, type: row.type, url: row.url, count: 0, histogram: {} }))
      cell.count += row.count
      mergeHistogram(cell.histogram, JSON.parse(row.histogram) as Histogram)
    }
    const tasks = new Map<string, TaskCell>()
    for await (const row of hourlyRows<TaskRow>('rollup_long_tasks', appId, day)) {
      const dims = dimsOfRow(row)
      const cell = getOrAdd(tasks, dims.join(SEP), () => ({ dims, count: 0, totalMs: 0, histogram: {} }))
      cell.count += row.count
      cell.totalMs += row.total_ms
      mergeHistogram(cell.histogram, JSON.parse(row.histogram) as Histogram)
    }
    const sources = new Map<string, SourceCell>()
    for await (const row of hourlyRows<SourceRow>('rollup_sources', appId, day)) {
      const dims = dimsOfRow(row)
      getOrAdd(sources, `${dims.join(SEP)}${SEP}${row.kind}${SEP}${row.key}`, () => ({ dims, kind: row.kind, key: row.key, views: 0 })).views += row.views
    }
    const sessions = new Map<string, SessionCell>()
    for await (const row of hourlyRows<SessionRowOut>('rollup_sessions', appId, day)) {
      const key: SessionKey = [row.entry_page, row.exit_page, row.country, row.browser, row.os, row.device, row.release, row.env]
      const cell = getOrAdd(sessions, key.join(SEP), () => ({ key, sessions: 0, bounces: 0, crashed: 0, durationMs: 0 }))
      cell.sessions += row.sessions
      cell.bounces += row.bounces
      cell.crashed += row.crashed
      cell.durationMs += row.duration_ms
    }
    return { views, sources, resources, tasks, sessions }
  }

  /**
   * A bucket's rows: the full-dimension facts, and the slices cut from them (sliceSteps, computed before),
   * serialized with the event loop served every ROW_STEP rows (a day's are hundreds of thousands at 10 M events).
   */
  async function cellRows(cells: Cells, slices: ReadonlyMap<string, SliceCell>): Promise<RollupRow[]> {
    const rows: RollupRow[] = []
    const add = async (row: RollupRow) => {
      if (rows.push(row) % ROW_STEP === 0) await betweenSteps()
    }
    for (const c of cells.views.values()) await add({ table: 'rollup_views', key: c.dims, values: [c.views, c.actions, c.errors, JSON.stringify(c.m)] })
    for (const c of cells.sources.values()) await add({ table: 'rollup_sources', key: [...c.dims, c.kind, c.key], values: [c.views] })
    for (const c of cells.resources.values()) await add({ table: 'rollup_resources', key: [...c.dims, c.type, c.url], values: [c.count, JSON.stringify(c.histogram)] })
    for (const c of cells.tasks.values()) await add({ table: 'rollup_long_tasks', key: c.dims, values: [c.count, c.totalMs, JSON.stringify(c.histogram)] })
    for (const c of cells.sessions.values()) await add({ table: 'rollup_sessions', key: c.key, values: [c.sessions, c.bounces, c.crashed, c.durationMs] })
    for (const c of slices.values()) {
      await add({ table: 'rollup_slices', key: [c.family, c.fdim, c.fkey, c.gdim, c.gkey], values: [c.a, c.b, c.c, c.d, c.metrics === undefined ? null : JSON.stringify(c.metrics)] })
    }
    return rows
  }

  /** refreshRollups: the marked hours, then the settled marked days. */
  async function refresh(now: number, signal: AbortSignal | undefined): Promise<{ hours: number; days: number }> {
    let hours = 0
    const done = new Set<string>()
    for (;;) {
      const dirty = sql.dirty.all() as Array<{ app_id: number; hour: number; seq: number }>
      // Hours touched again since they were listed are left for the next run: under steady ingest the current
      // hour is always dirty, and one run must end.
      const todo = dirty.filter(({ app_id: appId, hour }) => !done.has(`${appId} ${hour}`))
      if (todo.length === 0) break
      for (const { app_id: appId, hour, seq } of todo) {
        if (signal?.aborted) return { hours, days: 0 }
        done.add(`${appId} ${hour}`)
        const cells = await computeHour(appId, hour)
        // Stopped halfway through reading: the mark stays, nothing half-read is written.
        if (!cells) return { hours, days: 0 }
        await writeHour(appId, hour, seq, cells)
        hours++
        await betweenSteps()
      }
    }
    // A day is built once complete, an hour after its end (late events and sessions crossing midnight settle
    // first): rebuilding the current day at every period would cost a day's worth of rows each time.
    let days = 0
    for (const { app_id: appId, day } of sql.completeDirtyDays.all(now - DAY_MS - DAY_SETTLE_MS) as Array<{ app_id: number; day: number }>) {
      if (signal?.aborted) break
      if (await rebuildDay(appId, day)) days++
      await betweenSteps()
    }
    return { hours, days }
  }

  return {
    async refreshRollups({ now, signal, share = 1 }) {
      stopSignal = signal
      betweenSteps = createStepPacer({ share })
      try {
        return await refresh(now, signal)
      } finally {
        stopSignal = undefined
        betweenSteps = createStepPacer({ share: 1 })
      }
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
        await rebuildDay(appId, day)
      }
      return deleted
    },

    async purgeApp(appId) {
      let deleted = 0
      db.transaction(() => {
        for (const table of [...TABLES, 'rollup_slices', 'rollup_dirty', 'rollup_dirty_days']) deleted += db.prepare(`DELETE FROM ${table} WHERE app_id = ?`).run(appId).changes
      }).immediate()
      return deleted
    },
  }
}


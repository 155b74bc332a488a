import type Database from 'better-sqlite3'
import { createStepPacer } from '../../analytics/createStepPacer.js'
import { createRollupRowWriter, type RollupRow } from './createRollupRowWriter.js'
import { pagePath, referrerDomain, resourceUrl, utmCampaign } from '../../analytics/eventDimensions.js'
import { addToHistogram, histogramBuckets, histogramCount, mergeHistogram, percentile, type Histogram } from '../../analytics/histogram.js'
import { rateVital, VITAL_SCALE, type VitalName } from '../../analytics/webVitals.js'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import { VITAL_NAMES } from '../../protocol/wireSchema.js'
import type { AnalyticsFilterKey, AnalyticsQuery, AnalyticsStore, Overview, Performance, PerformanceBreakdown, RollupFamily, TopEntry, VitalSummary } from '../AnalyticsStore.js'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
const TOP = 10
const SEP = '\u0000'
/** How long after its end a day's daily rows are built. */
const DAY_SETTLE_MS = HOUR_MS

/** The dimensions every rollup row is keyed by, in column order. */
const DIMS = ['page', 'country', 'browser', 'os', 'device', 'release', 'env'] as const
type Dims = [page: string, country: string, browser: string, os: string, device: string, release: string, env: string]

/** What a rollup_views row keeps beyond its counts (the `metrics` column). */
interface ViewMetrics {
  /** Histograms: view_duration, the vitals (CLS × 1000), nav.ttfb, nav.dcl, nav.load. */
  h: Record<string, Histogram>
  /** Vital ratings: [good, needs improvement, poor]. */
  r: Partial<Record<VitalName, [number, number, number]>>
}

interface ViewCell { dims: Dims; views: number; actions: number; errors: number; m: ViewMetrics }
/** Entry page, exit page, then the other dimensions after `page`. */
type SessionKey = [entry: string, exit: string, country: string, browser: string, os: string, device: string, release: string, env: string]
interface SessionCell { key: SessionKey; sessions: number; bounces: number; crashed: number; durationMs: number }
interface SourceCell { dims: Dims; kind: string; key: string; views: number }
interface ResourceCell { dims: Dims; type: string; url: string; count: number; histogram: Histogram }
interface TaskCell { dims: Dims; count: number; totalMs: number; histogram: Histogram }

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

  /**
   * The rows of a table that cover [from, to): daily rows for whole days when the series is by day, hourly rows
   * for the rest. Each row comes with the series bucket it counts in.
   */
  function* rowsOf<Row extends { t: number }>(table: string, query: AnalyticsQuery, pageColumn = 'page'): Generator<Row> {
    const { where, params } = filterSql(query.filters, pageColumn)
    // Without statistics SQLite prefers the primary key (time first), which reads every page's rows of the range.
    const index = query.filters.page === undefined ? '' : ` INDEXED BY ${table === 'rollup_sessions' ? 'rollup_sessions_by_entry' : `${table}_by_page`}`
    for (const [span, from, to] of segments(query, dirtyDaysOf(query.appId))) {
      yield* db.prepare(`SELECT * FROM ${table}${index} WHERE app_id = ? AND span = ${span} AND t >= ? AND t < ?${where}`).iterate(query.appId, from, to, ...params) as IterableIterator<Row>
    }
  }

  /** overview() for any filters, from the full-dimension rows (used for page filters and for two filters or more). */
  function overviewFromFacts(query: AnalyticsQuery): Overview {
    const { series, at } = overviewSeries(query)
    const totals = { sessions: 0, views: 0, actions: 0, errors: 0, bounces: 0, crashed: 0 }
    const duration: Histogram = {}
    const top = { pages: new Map<string, number>(), entry: new Map<string, number>(), exit: new Map<string, number>(), referrers: new Map<string, number>(), campaigns: new Map<string, number>(), countries: new Map<string, number>(), browsers: new Map<string, number>(), oses: new Map<string, number>(), devices: new Map<string, number>() }
    for (const row of rowsOf<ViewRow>('rollup_views', query)) {
      totals.views += row.views
      totals.actions += row.actions
      totals.errors += row.errors
      const point = at(row.t)
      if (point) {
        point.views += row.views
        point.errors += row.errors
      }
      if (row.views > 0) add(top.pages, row.page, row.views)
      // Only rows with views have durations: skip parsing the others.
      if (row.views > 0 && row.metrics.includes('view_duration')) mergeHistogram(duration, (JSON.parse(row.metrics) as ViewMetrics).h.view_duration ?? {})
    }
    for (const row of rowsOf<SessionRowOut>('rollup_sessions', query, 'entry_page')) {
      totals.sessions += row.sessions
      totals.bounces += row.bounces
      totals.crashed += row.crashed
      const point = at(row.t)
      if (point) point.sessions += row.sessions
      add(top.entry, row.entry_page, row.sessions)
      add(top.exit, row.exit_page, row.sessions)
      add(top.countries, row.country, row.sessions)
      add(top.browsers, row.browser, row.sessions)
      add(top.oses, row.os, row.sessions)
      add(top.devices, row.device, row.sessions)
    }
    for (const row of rowsOf<SourceRow>('rollup_sources', query)) add(row.kind === 'referrer' ? top.referrers : top.campaigns, row.key, row.views)
    return overviewResult(totals, duration, series, top)
  }

  /** performance() for any filters, from the full-dimension rows. */
  function performanceFromFacts(query: AnalyticsQuery & { by: PerformanceBreakdown }): Performance {
    const acc = performanceAccumulator(query)
    const column = DIMS.indexOf(query.by)
    for (const row of rowsOf<ViewRow>('rollup_views', query)) {
      if (row.metrics.length <= 15) continue // '{"h":{},"r":{}}': counts only
      const metrics = JSON.parse(row.metrics) as ViewMetrics
      acc.addMetrics(row.t, metrics)
      if (GROUPED_VITALS.some((name) => metrics.h[name])) acc.addBreakdown(dimsOfRow(row)[column]!, metrics, metrics.h.LCP ? histogramCount(metrics.h.LCP) : 0)
    }
    for (const row of rowsOf<ResourceRow>('rollup_resources', query)) acc.addResource(row.url, row.type, row.count, JSON.parse(row.histogram) as Histogram)
    for (const row of rowsOf<TaskRow>('rollup_long_tasks', query)) acc.addTasks(row.t, row.count, row.total_ms, JSON.parse(row.histogram) as Histogram)
    return acc.result()
  }

  function dirtyDaysOf(appId: number): (from: number, to: number) => number[] {
    return (from, to) => sql.dirtyDays.all(appId, from, to) as number[]
  }

  /** The rollup_slices rows of one family, filter and grouping that cover the range (hourly and daily, as rowsOf). */
  function* sliceRows(query: AnalyticsQuery, family: SliceFamily, gdim: string): Generator<SliceRow> {
    const [fdim, fkey] = singleFilter(query.filters)
    for (const [span, from, to] of segments(query, dirtyDaysOf(query.appId))) {
      yield* sql.slices.iterate(query.appId, family, fdim, fkey, gdim, span, from, to) as IterableIterator<SliceRow>
    }
  }

  /** overview() without a filter or with one on a sliced dimension, from rollup_slices: a few rows per bucket instead of every combination. */
  function overviewFromSlices(query: AnalyticsQuery): Overview {
    const { series, at } = overviewSeries(query)
    const totals = { sessions: 0, views: 0, actions: 0, errors: 0, bounces: 0, crashed: 0 }
    const duration: Histogram = {}
    for (const row of sliceRows(query, 'views', '')) {
      totals.views += row.a
      totals.actions += row.b
      totals.errors += row.c
      const point = at(row.t)
      if (point) {
        point.views += row.a
        point.errors += row.c
      }
      if (row.metrics && row.metrics.includes('view_duration')) mergeHistogram(duration, (JSON.parse(row.metrics) as ViewMetrics).h.view_duration ?? {})
    }
    for (const row of sliceRows(query, 'sessions', '')) {
      totals.sessions += row.a
      totals.bounces += row.b
      totals.crashed += row.c
      const point = at(row.t)
      if (point) point.sessions += row.a
    }
    const grouped = (family: SliceFamily, gdim: string) => {
      const map = new Map<string, number>()
      for (const row of sliceRows(query, family, gdim)) add(map, row.gkey, row.a)
      return map
    }
    return overviewResult(totals, duration, series, {
      pages: grouped('views', 'page'),
      entry: grouped('sessions', 'entry_page'),
      exit: grouped('sessions', 'exit_page'),
      referrers: grouped('sources', 'referrer'),
      campaigns: grouped('sources', 'utm_campaign'),
      countries: grouped('sessions', 'country'),
      browsers: grouped('sessions', 'browser'),
      oses: grouped('sessions', 'os'),
      devices: grouped('sessions', 'device'),
    })
  }

  /** performance() without a filter or with one on a sliced dimension, from rollup_slices. */
  function performanceFromSlices(query: AnalyticsQuery & { by: PerformanceBreakdown }): Performance {
    const acc = performanceAccumulator(query)
    for (const row of sliceRows(query, 'views', '')) if (row.metrics) acc.addMetrics(row.t, JSON.parse(row.metrics) as ViewMetrics)
    // The breakdown: only the keys that make the list are parsed, chosen by their LCP counts (column d).
    const byKey = new Map<string, { count: number; metrics: string[] }>()
    for (const row of sliceRows(query, 'views', query.by)) {
      if (!row.metrics) continue
      const entry = getOrAdd(byKey, row.gkey, () => ({ count: 0, metrics: [] as string[] }))
      entry.count += row.d
      entry.metrics.push(row.metrics)
    }
    for (const [key, entry] of [...byKey].sort(byCountThenKey).slice(0, BY_LIMIT)) {
      for (const metrics of entry.metrics) acc.addBreakdown(key, JSON.parse(metrics) as ViewMetrics, 0)
      acc.addBreakdownCount(key, entry.count)
    }
    for (const row of sliceRows(query, 'resources', 'resource')) {
      const split = row.gkey.indexOf(SEP)
      acc.addResource(row.gkey.slice(split + 1), row.gkey.slice(0, split), row.a, JSON.parse(row.metrics!) as Histogram)
    }
    for (const row of sliceRows(query, 'long_tasks', '')) acc.addTasks(row.t, row.a, row.d, JSON.parse(row.metrics!) as Histogram)
    return acc.result()
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

    async overview(query) {
      return slicesAnswer(query) ? overviewFromSlices(query) : overviewFromFacts(query)
    },

    async performance(query) {
      return slicesAnswer(query) ? performanceFromSlices(query) : performanceFromFacts(query)
    },

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

interface DimsRow {
  t: number
  page: string
  country: string
  browser: string
  os: string
  device: string
  release: string
  env: string
}
interface ViewRow extends DimsRow { views: number; actions: number; errors: number; metrics: string }
interface SourceRow extends DimsRow { kind: string; key: string; views: number }
interface ResourceRow extends DimsRow { type: string; url: string; count: number; histogram: string }
interface TaskRow extends DimsRow { count: number; total_ms: number; histogram: string }
interface SessionRowOut extends Omit<DimsRow, 'page'> { entry_page: string; exit_page: string; sessions: number; bounces: number; crashed: number; duration_ms: number }

function dimsOf(event: StoredEvent): Dims {
  return [
    pagePath(event.view?.url),
    event.geo?.country ?? '',
    event.device?.browser ?? '',
    event.device?.os ?? '',
    event.device?.type ?? '',
    event.release ?? '',
    event.env ?? '',
  ]
}

function dimsOfRow(row: DimsRow): Dims {
  return [row.page, row.country, row.browser, row.os, row.device, row.release, row.env]
}

function mergeMetrics(into: ViewMetrics, from: ViewMetrics): void {
  for (const name in from.h) mergeHistogram((into.h[name] ??= {}), from.h[name]!)
  for (const name of Object.keys(from.r) as VitalName[]) {
    const r = (into.r[name] ??= [0, 0, 0])
    const add = from.r[name]!
    for (let i = 0; i < 3; i++) r[i]! += add[i]!
  }
}

/** ` AND country = ?`…; sessions are filtered by page through their entry page. */
function filterSql(filters: AnalyticsQuery['filters'], pageColumn: string): { where: string; params: string[] } {
  let where = ''
  const params: string[] = []
  for (const key of Object.keys(filters) as AnalyticsFilterKey[]) {
    const value = filters[key]
    if (value === undefined) continue
    where += ` AND ${key === 'page' ? pageColumn : key} = ?`
    params.push(value)
  }
  return { where, params }
}

function bucketStart(t: number, bucket: 'hour' | 'day'): number {
  const size = bucket === 'hour' ? HOUR_MS : DAY_MS
  return Math.floor(t / size) * size
}

/** Every series bucket in the range, in order, with its index (empty buckets are reported as zeros). */
function seriesBuckets(query: AnalyticsQuery): Map<number, number> {
  const size = query.bucket === 'hour' ? HOUR_MS : DAY_MS
  const index = new Map<number, number>()
  for (let t = bucketStart(query.from, query.bucket); t < query.to; t += size) index.set(t, index.size)
  return index
}

function getOrAdd<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key)
  if (value === undefined) {
    value = create()
    map.set(key, value)
  }
  return value
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n)
}

/** The ten largest, ties by key so the order is stable. */
function topOf(map: Map<string, number>, field: 'views' | 'sessions'): TopEntry[] {
  return [...map]
    .filter(([, n]) => n > 0)
    .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .slice(0, TOP)
    .map(([key, n]) => ({ key: key === '' ? null : key, [field]: n }))
}

interface Cells {
  views: Map<string, ViewCell>
  sources: Map<string, SourceCell>
  resources: Map<string, ResourceCell>
  tasks: Map<string, TaskCell>
  sessions: Map<string, SessionCell>
}

type SliceFamily = 'views' | 'sessions' | 'sources' | 'resources' | 'long_tasks'

/**
 * One rollup_slices row. By family:
 * - views (ungrouped, or grouped by page, country, browser, device): a views, b actions, c errors, d LCP values;
 *   metrics: every histogram when ungrouped, only LCP, INP and CLS when grouped;
 * - sessions (grouped by entry_page, exit_page, country, browser, os, device; filtered by entry page for `page`):
 *   a sessions, b bounces, c crashed, d duration;
 * - sources (grouped by referrer or utm_campaign): a views;
 * - resources (grouped by `resource`, gkey = type NUL url): a count, metrics the duration histogram;
 * - long_tasks (ungrouped): a count, d total ms, metrics the duration histogram.
 */
interface SliceCell {
  family: SliceFamily
  fdim: string
  fkey: string
  gdim: string
  gkey: string
  a: number
  b: number
  c: number
  d: number
  metrics?: ViewMetrics | Histogram
}

const BREAKDOWN_DIMS: ReadonlySet<string> = new Set(['page', 'country', 'browser', 'device'])
const GROUPED_VITALS = ['LCP', 'INP', 'CLS'] as const

/**
 * The filters slices are cut for: none, and each dimension. Page slices (the session's entry page for sessions)
 * add about as many rows as the full-dimension tables hold, but a page filter over 30 days read through those
 * tables merged every URL × dimension combination of the page's resources: 0.8 s at 10 M events (migration 15,
 * docs/BENCHMARKS.md). Two filters or more still read the full-dimension rows.
 */
const SLICE_FILTER_DIMS: ReadonlySet<string> = new Set(['page', 'country', 'browser', 'os', 'device', 'release', 'env'])

/** No filter, then each sliced dimension's own value: the filters a slice answers. */
function filtersOf(dims: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [['', '']]
  for (let i = 0; i < DIMS.length; i++) if (SLICE_FILTER_DIMS.has(DIMS[i]!)) out.push([DIMS[i]!, dims[i]!])
  return out
}

/**
 * Cuts the slices of a bucket's cells into `slices` (see SLICE_FILTER_DIMS), pausing (yielding) every
 * SLICE_STEP cells so that a caller can serve the event loop between steps (slicesInSteps).
 */
function* sliceSteps(cells: Cells, slices: Map<string, SliceCell>): Generator<void> {
  let done = 0
  const pause = () => ++done % SLICE_STEP === 0
  const slice = (family: SliceFamily, fdim: string, fkey: string, gdim: string, gkey: string): SliceCell =>
    getOrAdd(slices, `${family}${SEP}${fdim}${SEP}${fkey}${SEP}${gdim}${SEP}${gkey}`, () => ({ family, fdim, fkey, gdim, gkey, a: 0, b: 0, c: 0, d: 0 }))
  for (const cell of cells.views.values()) {
    if (pause()) yield
    const lcp = cell.m.h.LCP ? histogramCount(cell.m.h.LCP) : 0
    // Views are grouped only as the views read them: by page (top pages) and by the performance breakdowns.
    const groups: Array<[string, string]> = [['', ''], ['page', cell.dims[0]], ['country', cell.dims[1]], ['browser', cell.dims[2]], ['device', cell.dims[4]]]
    for (const [fdim, fkey] of filtersOf(cell.dims)) {
      for (const [gdim, gkey] of groups) {
        const s = slice('views', fdim, fkey, gdim, gkey)
        s.a += cell.views
        s.b += cell.actions
        s.c += cell.errors
        s.d += lcp
        if (gdim === '') mergeMetrics((s.metrics ??= { h: {}, r: {} }) as ViewMetrics, cell.m)
        else if (BREAKDOWN_DIMS.has(gdim)) {
          for (const name of GROUPED_VITALS) {
            const h = cell.m.h[name]
            if (h) mergeHistogram((((s.metrics ??= { h: {}, r: {} }) as ViewMetrics).h[name] ??= {}), h)
          }
        }
      }
    }
  }
  for (const cell of cells.sessions.values()) {
    if (pause()) yield
    const [entry, exit, ...rest] = cell.key
    const filterDims = [entry, ...rest]
    const groups: Array<[string, string]> = [['', ''], ['entry_page', entry], ['exit_page', exit], ['country', rest[0]], ['browser', rest[1]], ['os', rest[2]], ['device', rest[3]]]
    for (const [fdim, fkey] of filtersOf(filterDims)) {
      for (const [gdim, gkey] of groups) {
        const s = slice('sessions', fdim, fkey, gdim, gkey)
        s.a += cell.sessions
        s.b += cell.bounces
        s.c += cell.crashed
        s.d += cell.durationMs
      }
    }
  }
  for (const cell of cells.sources.values()) {
    if (pause()) yield
    for (const [fdim, fkey] of filtersOf(cell.dims)) slice('sources', fdim, fkey, cell.kind, cell.key).a += cell.views
  }
  for (const cell of cells.resources.values()) {
    if (pause()) yield
    for (const [fdim, fkey] of filtersOf(cell.dims)) {
      const s = slice('resources', fdim, fkey, 'resource', `${cell.type}${SEP}${cell.url}`)
      s.a += cell.count
      mergeHistogram((s.metrics ??= {}) as Histogram, cell.histogram)
    }
  }
  for (const cell of cells.tasks.values()) {
    if (pause()) yield
    for (const [fdim, fkey] of filtersOf(cell.dims)) {
      const s = slice('long_tasks', fdim, fkey, '', '')
      s.a += cell.count
      s.d += cell.totalMs
      mergeHistogram((s.metrics ??= {}) as Histogram, cell.histogram)
    }
  }
}

/** Cells cut per step by sliceSteps: a few milliseconds of work. */
const SLICE_STEP = 200
/** Rows serialized per step by cellRows. */
const ROW_STEP = 1000

const BY_LIMIT = 50

interface SliceRow { t: number; gkey: string; a: number; b: number; c: number; d: number; metrics: string | null }

/** Whether rollup_slices answer the query: no filter, or one on a sliced dimension. */
function slicesAnswer(query: AnalyticsQuery): boolean {
  const keys = Object.keys(query.filters).filter((key) => query.filters[key as AnalyticsFilterKey] !== undefined)
  return keys.length === 0 || (keys.length === 1 && SLICE_FILTER_DIMS.has(keys[0]!))
}

function singleFilter(filters: AnalyticsQuery['filters']): [string, string] {
  for (const key of Object.keys(filters) as AnalyticsFilterKey[]) if (filters[key] !== undefined) return [key, filters[key]]
  return ['', '']
}

/**
 * [span, from, to]: daily rows for the whole days of a range by day, hourly rows for the rest and for the days whose
 * daily rows are not built yet (`dirtyDays`).
 */
function segments(query: AnalyticsQuery, dirtyDays: (from: number, to: number) => number[]): Array<[number, number, number]> {
  if (query.bucket === 'hour') return [[HOUR_MS, query.from, query.to]]
  const firstDay = Math.ceil(query.from / DAY_MS) * DAY_MS
  const lastDay = Math.floor(query.to / DAY_MS) * DAY_MS
  if (firstDay >= lastDay) return [[HOUR_MS, query.from, query.to]]
  const out: Array<[number, number, number]> = [[HOUR_MS, query.from, firstDay]]
  let from = firstDay
  for (const day of dirtyDays(firstDay, lastDay).sort((a, b) => a - b)) {
    out.push([DAY_MS, from, day], [HOUR_MS, day, day + DAY_MS])
    from = day + DAY_MS
  }
  out.push([DAY_MS, from, lastDay], [HOUR_MS, lastDay, query.to])
  return out.filter(([, start, end]) => start < end)
}

function overviewSeries(query: AnalyticsQuery): { series: Overview['series']; at: (t: number) => Overview['series'][number] | undefined } {
  const index = seriesBuckets(query)
  const series = [...index.keys()].map((t) => ({ t, sessions: 0, views: 0, errors: 0 }))
  return { series, at: (t) => series[index.get(bucketStart(t, query.bucket))!] }
}

function overviewResult(
  totals: { sessions: number; views: number; actions: number; errors: number; bounces: number; crashed: number },
  duration: Histogram,
  series: Overview['series'],
  top: Record<'pages' | 'entry' | 'exit' | 'referrers' | 'campaigns' | 'countries' | 'browsers' | 'oses' | 'devices', Map<string, number>>,
): Overview {
  const rate = (n: number, d: number) => (d === 0 ? null : n / d)
  return {
    totals: {
      sessions: totals.sessions,
      views: totals.views,
      actions: totals.actions,
      errors: totals.errors,
      error_rate: rate(totals.errors, totals.views),
      crash_free_rate: rate(totals.sessions - totals.crashed, totals.sessions),
      bounce_rate: rate(totals.bounces, totals.sessions),
      view_duration_p50_ms: percentile(duration, 0.5),
      view_duration_p75_ms: percentile(duration, 0.75),
    },
    series,
    top: {
      pages: topOf(top.pages, 'views'),
      entry_pages: topOf(top.entry, 'sessions'),
      exit_pages: topOf(top.exit, 'sessions'),
      referrers: topOf(top.referrers, 'views'),
      utm_campaigns: topOf(top.campaigns, 'views'),
      countries: topOf(top.countries, 'sessions'),
      browsers: topOf(top.browsers, 'sessions'),
      oses: topOf(top.oses, 'sessions'),
      devices: topOf(top.devices, 'sessions'),
    },
  }
}

function byCountThenKey([ka, a]: [string, { count: number }], [kb, b]: [string, { count: number }]): number {
  return b.count - a.count || (ka < kb ? -1 : ka > kb ? 1 : 0)
}

/** Merges histograms into the performance view, whichever rows they come from. */
function performanceAccumulator(query: AnalyticsQuery & { by: PerformanceBreakdown }) {
  const index = seriesBuckets(query)
  const times = [...index.keys()]
  const vitals = Object.fromEntries(VITAL_NAMES.map((name) => [name, { all: {} as Histogram, ratings: [0, 0, 0], series: times.map(() => ({}) as Histogram) }]))
  const byKey = new Map<string, { LCP: Histogram; INP: Histogram; CLS: Histogram; count: number }>()
  const nav = { ttfb: {} as Histogram, dcl: {} as Histogram, load: {} as Histogram }
  const resources = new Map<string, { url: string; type: string; count: number; histogram: Histogram }>()
  const tasks = { count: 0, totalMs: 0, histogram: {} as Histogram, series: times.map((t) => ({ t, count: 0 })) }
  const group = (key: string) => getOrAdd(byKey, key, () => ({ LCP: {}, INP: {}, CLS: {}, count: 0 }))
  return {
    addMetrics(t: number, metrics: ViewMetrics): void {
      const slot = index.get(bucketStart(t, query.bucket))
      for (const name of VITAL_NAMES) {
        const h = metrics.h[name]
        if (!h) continue
        const vital = vitals[name]!
        mergeHistogram(vital.all, h)
        if (slot !== undefined) mergeHistogram(vital.series[slot]!, h)
        const r = metrics.r[name]
        if (r) for (let i = 0; i < 3; i++) vital.ratings[i]! += r[i]!
      }
      if (metrics.h['nav.ttfb']) mergeHistogram(nav.ttfb, metrics.h['nav.ttfb'])
      if (metrics.h['nav.dcl']) mergeHistogram(nav.dcl, metrics.h['nav.dcl'])
      if (metrics.h['nav.load']) mergeHistogram(nav.load, metrics.h['nav.load'])
    },
    /** A breakdown row counts page loads measured: their LCP values (every loaded page reports one). */
    addBreakdown(key: string, metrics: ViewMetrics, lcpCount: number): void {
      const g = group(key)
      for (const name of GROUPED_VITALS) if (metrics.h[name]) mergeHistogram(g[name], metrics.h[name])
      g.count += lcpCount
    },
    addBreakdownCount(key: string, n: number): void {
      group(key).count += n
    },
    addResource(url: string, type: string, count: number, histogram: Histogram): void {
      const cell = getOrAdd(resources, `${type}${SEP}${url}`, () => ({ url, type, count: 0, histogram: {} }))
      cell.count += count
      mergeHistogram(cell.histogram, histogram)
    },
    addTasks(t: number, count: number, totalMs: number, histogram: Histogram): void {
      tasks.count += count
      tasks.totalMs += totalMs
      mergeHistogram(tasks.histogram, histogram)
      const slot = index.get(bucketStart(t, query.bucket))
      if (slot !== undefined) tasks.series[slot]!.count += count
    },
    result(): Performance {
      return {
        vitals: Object.fromEntries(
          VITAL_NAMES.map((name): [VitalName, VitalSummary] => {
            const v = vitals[name]!
            const scale = VITAL_SCALE[name]
            const count = histogramCount(v.all)
            const share = (n: number) => (count === 0 ? 0 : n / count)
            return [
              name,
              {
                p50: percentile(v.all, 0.5, scale),
                p75: percentile(v.all, 0.75, scale),
                p90: percentile(v.all, 0.9, scale),
                count,
                good: share(v.ratings[0]!),
                needs_improvement: share(v.ratings[1]!),
                poor: share(v.ratings[2]!),
                series: v.series.map((h, i) => ({ t: times[i]!, p75: percentile(h, 0.75, scale) })),
                histogram: histogramBuckets(v.all, scale),
              },
            ]
          }),
        ) as Record<VitalName, VitalSummary>,
        by: [...byKey]
          .sort(byCountThenKey)
          .slice(0, BY_LIMIT)
          .map(([key, g]) => ({
            key: key === '' ? null : key,
            LCP_p75: percentile(g.LCP, 0.75),
            INP_p75: percentile(g.INP, 0.75),
            CLS_p75: percentile(g.CLS, 0.75, VITAL_SCALE.CLS),
            count: g.count,
          })),
        navigation: { ttfb_p75: percentile(nav.ttfb, 0.75), dom_content_loaded_p75: percentile(nav.dcl, 0.75), load_p75: percentile(nav.load, 0.75) },
        slowest_resources: [...resources.values()]
          .map((r) => ({ url: r.url, type: r.type === '' ? null : r.type, p75_ms: percentile(r.histogram, 0.75), count: r.count }))
          .sort((a, b) => (b.p75_ms ?? 0) - (a.p75_ms ?? 0) || b.count - a.count || (a.url < b.url ? -1 : 1))
          .slice(0, TOP),
        long_tasks: { count: tasks.count, total_ms: tasks.totalMs, p75_ms: percentile(tasks.histogram, 0.75), series: tasks.series },
      }
    },
  }
}

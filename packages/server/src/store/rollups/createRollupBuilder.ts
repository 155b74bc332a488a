import { referrerDomain, resourceUrl, utmCampaign } from '../../analytics/eventDimensions.js'
import { addToHistogram, mergeHistogram, type Histogram } from '../../analytics/histogram.js'
import { rateVital, VITAL_SCALE } from '../../analytics/webVitals.js'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import type { RollupRow, RollupTable } from './rollupDifference.js'
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
  type SourceCell,
  type SourceRow,
  type TaskCell,
  type TaskRow,
  type ViewCell,
  type ViewMetrics,
  type ViewRow,
} from './rollupCells.js'

/** How long after its end a day's daily rows are built. */
export const DAY_SETTLE_MS = HOUR_MS

/** What the rollups read of a session summary (store/Store.ts SessionSummary, migration 16's columns). */
export interface SessionRollupRow {
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

export interface DirtyHour {
  appId: number
  hour: number
  seq: number
}

/** The tables of hourly rows a day is summed from. */
export type HourlyTable = Exclude<RollupTable, 'rollup_slices'>

/** How one run of the builder writes a bucket: `between` serves the event loop, `stopped` says the run was asked to stop. */
export interface BucketWrite {
  appId: number
  rows: readonly RollupRow[]
  between: () => Promise<void>
  stopped: () => boolean
}

/**
 * What the builder needs of a database: reading marks, events, session summaries and hourly rows, and writing a
 * bucket's rows with its marks (as a difference, in short transactions: rollupDifference.ts). Each adapter
 * implements it with its own SQL; the building itself (what is summed, cut and written when) is shared, so both
 * adapters give identical rollups for identical events.
 */
export interface RollupDatabase {
  /** Marked hours in (app, hour) order, at most a few hundred. */
  dirtyHours(): Promise<DirtyHour[]>
  /**
   * At most `limit` of the events of [from, to) that rollups count (views, actions, errors, vitals, resources,
   * long tasks), in (ts, id) order, after `after` (from the first when undefined).
   */
  eventPage(appId: number, from: number, to: number, after: { ts: number; id: number } | undefined, limit: number): Promise<Array<{ id: number; ts: number; event: StoredEvent }>>
  /** The summaries of the sessions that started in [from, to). */
  sessionsStarted(appId: number, from: number, to: number): Promise<SessionRollupRow[]>
  /** A table's hourly rows of one hour, in key order (so that sums of fractions come out the same on every adapter). */
  hourlyRows(table: HourlyTable, appId: number, hour: number): Promise<unknown[]>
  /** Marked days that start before `before`. */
  dirtyDaysBefore(before: number): Promise<Array<{ appId: number; day: number }>>
  daySeq(appId: number, day: number): Promise<number | undefined>
  /**
   * Makes the hour's stored rows `rows`: marks its day in the first transaction, clears the hour's mark in the
   * last one if its `seq` is still `seq`; stops when the hour's mark is gone (a purge) or the run is stopped.
   */
  writeHour(input: BucketWrite & { hour: number; seq: number }): Promise<void>
  /** Makes the day's daily rows `rows` while its mark keeps `seq`; true when written and its mark cleared. */
  writeDay(input: BucketWrite & { day: number; seq: number }): Promise<boolean>
  /**
   * Whether this run may rebuild the app's rollups now (several nodes share one PostgreSQL: another may be at
   * it). Asked before the app's first hour or day in a run; its answer holds for the rest of the run.
   */
  claimApp?(appId: number): Promise<boolean>
}

export interface RollupRun {
  /** Called between steps: yields a turn of the event loop, or paces the run (analytics/createStepPacer.ts). */
  between: () => Promise<void>
  signal?: AbortSignal | undefined
}

export interface RollupBuilder {
  /** refreshRollups: the marked hours, then the marked days that have settled by `now`. */
  refresh(now: number, run: RollupRun): Promise<{ hours: number; days: number }>
  /** Rebuilds a marked day from its hours; true when written and its mark cleared. */
  rebuildDay(appId: number, day: number, run: RollupRun): Promise<boolean>
}

/**
 * The rollup rebuild (docs/ROLLUPS.md), the same on every adapter. An hour is recomputed from its raw events in
 * pages, outside any transaction and yielding between pages, then written as a difference in short transactions,
 * the last of which clears its dirty mark only if no commit touched the hour meanwhile (the mark's `seq`): the
 * rollups are what a scan of the raw events gives, a job period or a few late, and ingest never waits for a
 * rebuild. Days are rebuilt from their hours the same way.
 */
export function createRollupBuilder(db: RollupDatabase, options: { readPage: number }): RollupBuilder {
  /** undefined when the run was stopped while reading. */
  async function computeHour(appId: number, hour: number, run: RollupRun): Promise<Cells | undefined> {
    const cells: Cells = { views: new Map(), sources: new Map(), resources: new Map(), tasks: new Map(), sessions: new Map() }
    let after: { ts: number; id: number } | undefined
    for (;;) {
      const page = await db.eventPage(appId, hour, hour + HOUR_MS, after, options.readPage)
      for (const { event } of page) addEvent(cells, event)
      const last = page.at(-1)
      // A stopped run reads no further; its caller sees the signal and writes nothing.
      if (!last || page.length < options.readPage || run.signal?.aborted) break
      after = last
      await run.between()
    }
    if (run.signal?.aborted) return undefined
    for (const row of await db.sessionsStarted(appId, hour, hour + HOUR_MS)) addSession(cells.sessions, row)
    return run.signal?.aborted ? undefined : cells
  }

  /** A day's rows are the sums of its hours' rows, dimension by dimension, read hour by hour. */
  async function computeDay(appId: number, day: number, run: RollupRun): Promise<Cells> {
    const cells: Cells = { views: new Map(), sources: new Map(), resources: new Map(), tasks: new Map(), sessions: new Map() }
    const each = async <Row>(table: HourlyTable, add: (row: Row) => void) => {
      for (let hour = day; hour < day + DAY_MS; hour += HOUR_MS) {
        for (const row of (await db.hourlyRows(table, appId, hour)) as Row[]) add(row)
        await run.between()
      }
    }
    await each<ViewRow>('rollup_views', (row) => {
      const dims = dimsOfRow(row)
      const cell = getOrAdd(cells.views, dims.join(SEP), (): ViewCell => ({ dims, views: 0, actions: 0, errors: 0, m: { h: {}, r: {} } }))
      cell.views += row.views
      cell.actions += row.actions
      cell.errors += row.errors
      mergeMetrics(cell.m, JSON.parse(row.metrics) as ViewMetrics)
    })
    await each<ResourceRow>('rollup_resources', (row) => {
      const dims = dimsOfRow(row)
      const cell = getOrAdd(cells.resources, `${dims.join(SEP)}${SEP}${row.type}${SEP}${row.url}`, () => ({ dims, type: row.type, url: row.url, count: 0, histogram: {} }))
      cell.count += row.count
      mergeHistogram(cell.histogram, JSON.parse(row.histogram) as Histogram)
    })
    await each<TaskRow>('rollup_long_tasks', (row) => {
      const dims = dimsOfRow(row)
      const cell = getOrAdd(cells.tasks, dims.join(SEP), () => ({ dims, count: 0, totalMs: 0, histogram: {} }))
      cell.count += row.count
      cell.totalMs += row.total_ms
      mergeHistogram(cell.histogram, JSON.parse(row.histogram) as Histogram)
    })
    await each<SourceRow>('rollup_sources', (row) => {
      const dims = dimsOfRow(row)
      getOrAdd(cells.sources, `${dims.join(SEP)}${SEP}${row.kind}${SEP}${row.key}`, () => ({ dims, kind: row.kind, key: row.key, views: 0 })).views += row.views
    })
    await each<SessionRowOut>('rollup_sessions', (row) => {
      const key: SessionKey = [row.entry_page, row.exit_page, row.country, row.browser, row.os, row.device, row.release, row.env]
      const cell = getOrAdd(cells.sessions, key.join(SEP), () => ({ key, sessions: 0, bounces: 0, crashed: 0, durationMs: 0 }))
      cell.sessions += row.sessions
      cell.bounces += row.bounces
      cell.crashed += row.crashed
      cell.durationMs += row.duration_ms
    })
    return cells
  }

  /**
   * A bucket's rows: the full-dimension facts, and the slices cut from them, with the event loop served every few
   * hundred cells and every ROW_STEP rows (a day's are hundreds of thousands at 10 M events).
   */
  async function cellRows(cells: Cells, run: RollupRun): Promise<RollupRow[]> {
    const slices = new Map<string, SliceCell>()
    for (const _ of sliceSteps(cells, slices)) await run.between()
    const rows: RollupRow[] = []
    const add = async (row: RollupRow) => {
      if (rows.push(row) % ROW_STEP === 0) await run.between()
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

  async function rebuildDay(appId: number, day: number, run: RollupRun): Promise<boolean> {
    const seq = await db.daySeq(appId, day)
    if (seq === undefined) return false
    const cells = await computeDay(appId, day, run)
    return db.writeDay({ appId, day, seq, rows: await cellRows(cells, run), between: run.between, stopped: () => run.signal?.aborted === true })
  }

  return {
    async refresh(now, run) {
      const claimed = new Map<number, boolean>()
      const claim = async (appId: number) => {
        if (!db.claimApp) return true
        let ok = claimed.get(appId)
        if (ok === undefined) claimed.set(appId, (ok = await db.claimApp(appId)))
        return ok
      }
      let hours = 0
      const done = new Set<string>()
      for (;;) {
        // Hours touched again since they were listed are left for the next run: under steady ingest the current
        // hour is always dirty, and one run must end.
        const todo = (await db.dirtyHours()).filter(({ appId, hour }) => !done.has(`${appId} ${hour}`))
        if (todo.length === 0) break
        for (const { appId, hour, seq } of todo) {
          if (run.signal?.aborted) return { hours, days: 0 }
          done.add(`${appId} ${hour}`)
          if (!(await claim(appId))) continue
          const cells = await computeHour(appId, hour, run)
          // Stopped halfway through reading: the mark stays, nothing half-read is written.
          if (!cells) return { hours, days: 0 }
          await db.writeHour({ appId, hour, seq, rows: await cellRows(cells, run), between: run.between, stopped: () => run.signal?.aborted === true })
          hours++
          await run.between()
        }
      }
      // A day is built once complete, an hour after its end (late events and sessions crossing midnight settle
      // first): rebuilding the current day at every period would cost a day's worth of rows each time.
      let days = 0
      for (const { appId, day } of await db.dirtyDaysBefore(now - DAY_MS - DAY_SETTLE_MS)) {
        if (run.signal?.aborted) break
        if (!(await claim(appId))) continue
        if (await rebuildDay(appId, day, run)) days++
        await run.between()
      }
      return { hours, days }
    },
    rebuildDay,
  }
}

/** Adds one stored event to an hour's cells. */
function addEvent(cells: Cells, event: StoredEvent): void {
  const dims = dimsOf(event)
  const id = dims.join(SEP)
  if (event.type === 'resource') {
    const url = resourceUrl(event.resource.url)
    const type = event.resource.type ?? ''
    const cell = getOrAdd(cells.resources, `${id}${SEP}${type}${SEP}${url}`, (): ResourceCell => ({ dims, type, url, count: 0, histogram: {} }))
    cell.count++
    addToHistogram(cell.histogram, event.resource.duration)
    return
  }
  if (event.type === 'long_task') {
    const cell = getOrAdd(cells.tasks, id, (): TaskCell => ({ dims, count: 0, totalMs: 0, histogram: {} }))
    cell.count++
    cell.totalMs += event.long_task.duration
    addToHistogram(cell.histogram, event.long_task.duration)
    return
  }
  const cell = getOrAdd(cells.views, id, (): ViewCell => ({ dims, views: 0, actions: 0, errors: 0, m: { h: {}, r: {} } }))
  if (event.type === 'view') {
    cell.views++
    const v = event.view
    if (v.time_spent !== undefined) addToHistogram((cell.m.h.view_duration ??= {}), v.time_spent)
    if (v.first_byte !== undefined) addToHistogram((cell.m.h['nav.ttfb'] ??= {}), v.first_byte)
    if (v.dom_content_loaded !== undefined) addToHistogram((cell.m.h['nav.dcl'] ??= {}), v.dom_content_loaded)
    if (v.load_event !== undefined) addToHistogram((cell.m.h['nav.load'] ??= {}), v.load_event)
    const referrer = referrerDomain(v.referrer, v.url)
    if (referrer) getOrAdd(cells.sources, `${id}${SEP}referrer${SEP}${referrer}`, (): SourceCell => ({ dims, kind: 'referrer', key: referrer, views: 0 })).views++
    const campaign = utmCampaign(v.url)
    if (campaign) getOrAdd(cells.sources, `${id}${SEP}utm_campaign${SEP}${campaign}`, (): SourceCell => ({ dims, kind: 'utm_campaign', key: campaign, views: 0 })).views++
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

/**
 * Adds a session that started in the hour, from its summary (store/Store.ts SessionSummary: exact counts, device
 * and country, and the entry and exit pages and environment the event writer keeps, migration 16).
 */
function addSession(cells: Map<string, SessionCell>, row: SessionRollupRow): void {
  const key: SessionKey = [row.entry_page ?? '', row.exit_page ?? '', row.country ?? '', row.browser ?? '', row.os ?? '', row.device_type ?? '', row.release ?? '', row.env ?? '']
  const cell = getOrAdd(cells, key.join(SEP), () => ({ key, sessions: 0, bounces: 0, crashed: 0, durationMs: 0 }))
  cell.sessions++
  if (row.views === 1) cell.bounces++
  if (row.has_error) cell.crashed++
  cell.durationMs += row.end_ts - row.start_ts
}

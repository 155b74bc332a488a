import { mergeHistogram, histogramCount, type Histogram } from '../../analytics/histogram.js'
import { pagePath } from '../../analytics/eventDimensions.js'
import type { VitalName } from '../../analytics/webVitals.js'
import type { StoredEvent } from '../../pipeline/storedEvent.js'

/**
 * What the rollups are made of (docs/ROLLUPS.md), shared by their building (createRollupBuilder.ts) and their
 * reading (createRollupAnswers.ts) on every adapter: the dimensions, the cells a bucket's events are summed into,
 * the rows as the databases return them (same columns, numbers as numbers, JSON as text), and the slices cut
 * from the cells.
 */

export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000
export const SEP = '\u0000'

/** The dimensions every rollup row is keyed by, in column order. */
export const DIMS = ['page', 'country', 'browser', 'os', 'device', 'release', 'env'] as const
export type Dims = [page: string, country: string, browser: string, os: string, device: string, release: string, env: string]

/** What a rollup_views row keeps beyond its counts (the `metrics` column). */
export interface ViewMetrics {
  /** Histograms: view_duration, the vitals (CLS × 1000), nav.ttfb, nav.dcl, nav.load. */
  h: Record<string, Histogram>
  /** Vital ratings: [good, needs improvement, poor]. */
  r: Partial<Record<VitalName, [number, number, number]>>
}

export interface ViewCell { dims: Dims; views: number; actions: number; errors: number; m: ViewMetrics }
/** Entry page, exit page, then the other dimensions after `page`. */
export type SessionKey = [entry: string, exit: string, country: string, browser: string, os: string, device: string, release: string, env: string]
export interface SessionCell { key: SessionKey; sessions: number; bounces: number; crashed: number; durationMs: number }
export interface SourceCell { dims: Dims; kind: string; key: string; views: number }
export interface ResourceCell { dims: Dims; type: string; url: string; count: number; histogram: Histogram }
export interface TaskCell { dims: Dims; count: number; totalMs: number; histogram: Histogram }

export interface DimsRow {
  t: number
  page: string
  country: string
  browser: string
  os: string
  device: string
  release: string
  env: string
}
export interface ViewRow extends DimsRow { views: number; actions: number; errors: number; metrics: string }
export interface SourceRow extends DimsRow { kind: string; key: string; views: number }
export interface ResourceRow extends DimsRow { type: string; url: string; count: number; histogram: string }
export interface TaskRow extends DimsRow { count: number; total_ms: number; histogram: string }
export interface SessionRowOut extends Omit<DimsRow, 'page'> { entry_page: string; exit_page: string; sessions: number; bounces: number; crashed: number; duration_ms: number }

export function dimsOf(event: StoredEvent): Dims {
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

export function dimsOfRow(row: DimsRow): Dims {
  return [row.page, row.country, row.browser, row.os, row.device, row.release, row.env]
}

export function mergeMetrics(into: ViewMetrics, from: ViewMetrics): void {
  for (const name in from.h) mergeHistogram((into.h[name] ??= {}), from.h[name]!)
  for (const name of Object.keys(from.r) as VitalName[]) {
    const r = (into.r[name] ??= [0, 0, 0])
    const add = from.r[name]!
    for (let i = 0; i < 3; i++) r[i]! += add[i]!
  }
}

export function getOrAdd<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key)
  if (value === undefined) {
    value = create()
    map.set(key, value)
  }
  return value
}

export interface Cells {
  views: Map<string, ViewCell>
  sources: Map<string, SourceCell>
  resources: Map<string, ResourceCell>
  tasks: Map<string, TaskCell>
  sessions: Map<string, SessionCell>
}

export type SliceFamily = 'views' | 'sessions' | 'sources' | 'resources' | 'long_tasks'

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
export interface SliceCell {
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

export const BREAKDOWN_DIMS: ReadonlySet<string> = new Set(['page', 'country', 'browser', 'device'])
export const GROUPED_VITALS = ['LCP', 'INP', 'CLS'] as const

/**
 * The filters slices are cut for: none, and each dimension. Page slices (the session's entry page for sessions)
 * add about as many rows as the full-dimension tables hold, but a page filter over 30 days read through those
 * tables merged every URL × dimension combination of the page's resources: 0.8 s at 10 M events (migration 15,
 * docs/BENCHMARKS.md). Two filters or more still read the full-dimension rows.
 */
export const SLICE_FILTER_DIMS: ReadonlySet<string> = new Set(['page', 'country', 'browser', 'os', 'device', 'release', 'env'])

/** No filter, then each sliced dimension's own value: the filters a slice answers. */
export function filtersOf(dims: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [['', '']]
  for (let i = 0; i < DIMS.length; i++) if (SLICE_FILTER_DIMS.has(DIMS[i]!)) out.push([DIMS[i]!, dims[i]!])
  return out
}

/**
 * Cuts the slices of a bucket's cells into `slices` (see SLICE_FILTER_DIMS), pausing (yielding) every
 * SLICE_STEP cells so that a caller can serve the event loop between steps (slicesInSteps).
 */
export function* sliceSteps(cells: Cells, slices: Map<string, SliceCell>): Generator<void> {
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
export const SLICE_STEP = 200
/** Rows serialized per step by cellRows. */
export const ROW_STEP = 1000

import { histogramBuckets, histogramCount, mergeHistogram, percentile, type Histogram } from '../../analytics/histogram.js'
import { VITAL_SCALE, type VitalName } from '../../analytics/webVitals.js'
import { VITAL_NAMES } from '../../protocol/wireSchema.js'
import { ANALYTICS_FILTERS, type AnalyticsFilterKey, type AnalyticsQuery, type AnalyticsStore, type Overview, type Performance, type PerformanceBreakdown, type TopEntry, type VitalSummary } from '../AnalyticsStore.js'
import type { HourlyTable } from './createRollupBuilder.js'
import { DAY_MS, DIMS, dimsOfRow, getOrAdd, GROUPED_VITALS, HOUR_MS, SEP, SLICE_FILTER_DIMS, type ResourceRow, type SessionRowOut, type SliceFamily, type SourceRow, type TaskRow, type ViewMetrics, type ViewRow } from './rollupCells.js'

const TOP = 10
const FILTER_KEYS: ReadonlySet<string> = new Set(ANALYTICS_FILTERS)

export interface SliceRow { t: number; gkey: string; a: number; b: number; c: number; d: number; metrics: string | null }

/** What the answers need of a database: each adapter reads its rollup tables with its own SQL. */
export interface RollupReader {
  /** The marked days in [from, to): their daily rows are being rebuilt, so their hourly rows are read instead. */
  dirtyDays(appId: number, from: number, to: number): Promise<number[]>
  /**
   * Calls `each` with every row of a table of one span whose `t` is in [from, to) and whose columns equal the
   * filters' values.
   */
  eachRow(table: HourlyTable, appId: number, span: number, from: number, to: number, filters: ReadonlyArray<readonly [column: string, value: string]>, each: (row: unknown) => void): Promise<void>
  /**
   * Calls `each` with the rollup_slices rows of one family, filter, grouping and span in [from, to), in `t` order
   * (long tasks' total milliseconds are summed in that order: the same on every adapter, to the last bit).
   */
  eachSlice(
    slice: { appId: number; family: SliceFamily; fdim: string; fkey: string; gdim: string },
    span: number,
    from: number,
    to: number,
    each: (row: SliceRow) => void,
  ): Promise<void>
}

/**
 * Reading the rollups (docs/ROLLUPS.md): the overview and performance views, the same on every adapter. A query
 * without a filter or with one reads rollup_slices (a few rows per bucket); two filters or more read the
 * full-dimension tables. Daily rows serve a range's whole days unless the day is marked (being rebuilt), hourly
 * rows the rest.
 */
export function createRollupAnswers(reader: RollupReader): Pick<AnalyticsStore, 'overview' | 'performance'> {
  /**
   * The rows of a table that cover [from, to): daily rows for whole days when the series is by day, hourly rows
   * for the rest. Sessions are filtered by page through their entry page.
   */
  async function eachRowOf<Row>(table: HourlyTable, query: AnalyticsQuery, each: (row: Row) => void, pageColumn = 'page'): Promise<void> {
    const filters: Array<[string, string]> = []
    for (const key of Object.keys(query.filters) as AnalyticsFilterKey[]) {
      const value = query.filters[key]
      if (value === undefined) continue
      // The key becomes a column name in the adapter's SQL.
      if (!FILTER_KEYS.has(key)) throw new RangeError(`Unknown analytics filter: ${String(key)}`)
      filters.push([key === 'page' ? pageColumn : key, value])
    }
    for (const [span, from, to] of await segmentsOf(query)) await reader.eachRow(table, query.appId, span, from, to, filters, each as (row: unknown) => void)
  }

  async function segmentsOf(query: AnalyticsQuery): Promise<Array<[number, number, number]>> {
    return segments(query, (from, to) => reader.dirtyDays(query.appId, from, to))
  }

  /** overview() for any filters, from the full-dimension rows (used for page filters and for two filters or more). */
  async function overviewFromFacts(query: AnalyticsQuery): Promise<Overview> {
    const { series, at } = overviewSeries(query)
    const totals = { sessions: 0, views: 0, actions: 0, errors: 0, bounces: 0, crashed: 0 }
    const duration: Histogram = {}
    const top = { pages: new Map<string, number>(), entry: new Map<string, number>(), exit: new Map<string, number>(), referrers: new Map<string, number>(), campaigns: new Map<string, number>(), countries: new Map<string, number>(), browsers: new Map<string, number>(), oses: new Map<string, number>(), devices: new Map<string, number>() }
    await eachRowOf<ViewRow>('rollup_views', query, (row) => {
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
    })
    await eachRowOf<SessionRowOut>('rollup_sessions', query, (row) => {
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
    }, 'entry_page')
    await eachRowOf<SourceRow>('rollup_sources', query, (row) => add(row.kind === 'referrer' ? top.referrers : top.campaigns, row.key, row.views))
    return overviewResult(totals, duration, series, top)
  }

  /** performance() for any filters, from the full-dimension rows. */
  async function performanceFromFacts(query: AnalyticsQuery & { by: PerformanceBreakdown }): Promise<Performance> {
    const acc = performanceAccumulator(query)
    const column = DIMS.indexOf(query.by)
    await eachRowOf<ViewRow>('rollup_views', query, (row) => {
      if (row.metrics.length <= 15) return // '{"h":{},"r":{}}': counts only
      const metrics = JSON.parse(row.metrics) as ViewMetrics
      acc.addMetrics(row.t, metrics)
      if (GROUPED_VITALS.some((name) => metrics.h[name])) acc.addBreakdown(dimsOfRow(row)[column]!, metrics, metrics.h.LCP ? histogramCount(metrics.h.LCP) : 0)
    })
    await eachRowOf<ResourceRow>('rollup_resources', query, (row) => acc.addResource(row.url, row.type, row.count, JSON.parse(row.histogram) as Histogram))
    await eachRowOf<TaskRow>('rollup_long_tasks', query, (row) => acc.addTasks(row.t, row.count, row.total_ms, JSON.parse(row.histogram) as Histogram))
    return acc.result()
  }

  /** The rollup_slices rows of one family, filter and grouping that cover the range (hourly and daily, as eachRowOf). */
  async function eachSliceOf(query: AnalyticsQuery, family: SliceFamily, gdim: string, each: (row: SliceRow) => void): Promise<void> {
    const [fdim, fkey] = singleFilter(query.filters)
    for (const [span, from, to] of await segmentsOf(query)) await reader.eachSlice({ appId: query.appId, family, fdim, fkey, gdim }, span, from, to, each)
  }

  /** overview() without a filter or with one on a sliced dimension, from rollup_slices: a few rows per bucket instead of every combination. */
  async function overviewFromSlices(query: AnalyticsQuery): Promise<Overview> {
    const { series, at } = overviewSeries(query)
    const totals = { sessions: 0, views: 0, actions: 0, errors: 0, bounces: 0, crashed: 0 }
    const duration: Histogram = {}
    await eachSliceOf(query, 'views', '', (row) => {
      totals.views += row.a
      totals.actions += row.b
      totals.errors += row.c
      const point = at(row.t)
      if (point) {
        point.views += row.a
        point.errors += row.c
      }
      if (row.metrics && row.metrics.includes('view_duration')) mergeHistogram(duration, (JSON.parse(row.metrics) as ViewMetrics).h.view_duration ?? {})
    })
    await eachSliceOf(query, 'sessions', '', (row) => {
      totals.sessions += row.a
      totals.bounces += row.b
      totals.crashed += row.c
      const point = at(row.t)
      if (point) point.sessions += row.a
    })
    const grouped = async (family: SliceFamily, gdim: string) => {
      const map = new Map<string, number>()
      await eachSliceOf(query, family, gdim, (row) => add(map, row.gkey, row.a))
      return map
    }
    return overviewResult(totals, duration, series, {
      pages: await grouped('views', 'page'),
      entry: await grouped('sessions', 'entry_page'),
      exit: await grouped('sessions', 'exit_page'),
      referrers: await grouped('sources', 'referrer'),
      campaigns: await grouped('sources', 'utm_campaign'),
      countries: await grouped('sessions', 'country'),
      browsers: await grouped('sessions', 'browser'),
      oses: await grouped('sessions', 'os'),
      devices: await grouped('sessions', 'device'),
    })
  }

  /** performance() without a filter or with one on a sliced dimension, from rollup_slices. */
  async function performanceFromSlices(query: AnalyticsQuery & { by: PerformanceBreakdown }): Promise<Performance> {
    const acc = performanceAccumulator(query)
    await eachSliceOf(query, 'views', '', (row) => {
      if (row.metrics) acc.addMetrics(row.t, JSON.parse(row.metrics) as ViewMetrics)
    })
    // The breakdown: only the keys that make the list are parsed, chosen by their LCP counts (column d).
    const byKey = new Map<string, { count: number; metrics: string[] }>()
    await eachSliceOf(query, 'views', query.by, (row) => {
      if (!row.metrics) return
      const entry = getOrAdd(byKey, row.gkey, () => ({ count: 0, metrics: [] as string[] }))
      entry.count += row.d
      entry.metrics.push(row.metrics)
    })
    for (const [key, entry] of [...byKey].sort(byCountThenKey).slice(0, BY_LIMIT)) {
      for (const metrics of entry.metrics) acc.addBreakdown(key, JSON.parse(metrics) as ViewMetrics, 0)
      acc.addBreakdownCount(key, entry.count)
    }
    await eachSliceOf(query, 'resources', 'resource', (row) => {
      const split = row.gkey.indexOf(SEP)
      acc.addResource(row.gkey.slice(split + 1), row.gkey.slice(0, split), row.a, JSON.parse(row.metrics!) as Histogram)
    })
    await eachSliceOf(query, 'long_tasks', '', (row) => acc.addTasks(row.t, row.a, row.d, JSON.parse(row.metrics!) as Histogram))
    return acc.result()
  }

  return {
    overview: (query) => (slicesAnswer(query) ? overviewFromSlices(query) : overviewFromFacts(query)),
    performance: (query) => (slicesAnswer(query) ? performanceFromSlices(query) : performanceFromFacts(query)),
  }
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

const BY_LIMIT = 50

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
async function segments(query: AnalyticsQuery, dirtyDays: (from: number, to: number) => Promise<number[]>): Promise<Array<[number, number, number]>> {
  if (query.bucket === 'hour') return [[HOUR_MS, query.from, query.to]]
  const firstDay = Math.ceil(query.from / DAY_MS) * DAY_MS
  const lastDay = Math.floor(query.to / DAY_MS) * DAY_MS
  if (firstDay >= lastDay) return [[HOUR_MS, query.from, query.to]]
  const out: Array<[number, number, number]> = [[HOUR_MS, query.from, firstDay]]
  let from = firstDay
  for (const day of (await dirtyDays(firstDay, lastDay)).sort((a, b) => a - b)) {
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

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
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
  const tasks = { count: 0, totalMs: createExactSum(), histogram: {} as Histogram, series: times.map((t) => ({ t, count: 0 })) }
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
      tasks.totalMs.add(totalMs)
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
          // Ties by URL, then type: the same URL fetched as two types must not follow the order rows were read in.
          .sort((a, b) => (b.p75_ms ?? 0) - (a.p75_ms ?? 0) || b.count - a.count || compareText(a.url, b.url) || compareText(a.type ?? '', b.type ?? ''))
          .slice(0, TOP),
        long_tasks: { count: tasks.count, total_ms: tasks.totalMs.value(), p75_ms: percentile(tasks.histogram, 0.75), series: tasks.series },
      }
    },
  }
}

/**
 * A sum of doubles that does not depend on the order they are added in (Shewchuk's exact partials, rounded
 * once at the end, as Python's math.fsum): long tasks' milliseconds have fractions, and each adapter reads rows
 * in its own order — the same rows must give the same total to the last bit.
 */
function createExactSum(): { add(x: number): void; value(): number } {
  const partials: number[] = []
  return {
    add(value) {
      let x = value
      let i = 0
      for (let y of partials) {
        if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x]
        const hi = x + y
        const lo = y - (hi - x)
        if (lo !== 0) partials[i++] = lo
        x = hi
      }
      partials.length = i
      partials.push(x)
    },
    value() {
      let n = partials.length
      if (n === 0) return 0
      let hi = partials[--n]!
      let lo = 0
      while (n > 0) {
        const x = hi
        const y = partials[--n]!
        hi = x + y
        lo = y - (hi - x)
        if (lo !== 0) break
      }
      // Round half to even across the partials left, as a single rounding of the exact sum would.
      if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
        const y = lo * 2
        const x = hi + y
        if (y === x - hi) hi = x
      }
      return hi
    },
  }
}

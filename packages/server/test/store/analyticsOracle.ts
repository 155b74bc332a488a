import { pagePath, referrerDomain, resourceUrl, utmCampaign } from '../../src/analytics/eventDimensions.js'
import { addToHistogram, histogramBuckets, histogramCount, percentile, type Histogram } from '../../src/analytics/histogram.js'
import { rateVital, VITAL_SCALE, type VitalName } from '../../src/analytics/webVitals.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { VITAL_NAMES } from '../../src/protocol/wireSchema.js'
import type { AnalyticsQuery, Overview, Performance, PerformanceBreakdown, TopEntry } from '../../src/store/AnalyticsStore.js'
import type { Store } from '../../src/store/Store.js'

/**
 * What the overview and performance views must show, worked out the slow way: by scanning every raw event and
 * session summary of the app. The rollups must give exactly these numbers.
 */
const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

interface Dims { page: string; country: string; browser: string; os: string; device: string; release: string; env: string }

function dimsOf(event: StoredEvent): Dims {
  return {
    page: pagePath(event.view?.url),
    country: event.geo?.country ?? '',
    browser: event.device?.browser ?? '',
    os: event.device?.os ?? '',
    device: event.device?.type ?? '',
    release: event.release ?? '',
    env: event.env ?? '',
  }
}

function matches(dims: Dims, filters: AnalyticsQuery['filters']): boolean {
  return Object.entries(filters).every(([key, value]) => value === undefined || dims[key as keyof Dims] === value)
}

function buckets(query: AnalyticsQuery): number[] {
  const size = query.bucket === 'hour' ? HOUR_MS : DAY_MS
  const out = []
  for (let t = Math.floor(query.from / size) * size; t < query.to; t += size) out.push(t)
  return out
}

const bucketOfTs = (ts: number, bucket: 'hour' | 'day') => Math.floor(ts / (bucket === 'hour' ? HOUR_MS : DAY_MS)) * (bucket === 'hour' ? HOUR_MS : DAY_MS)

function top(map: Map<string, number>, field: 'views' | 'sessions'): TopEntry[] {
  return [...map]
    .filter(([, n]) => n > 0)
    .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .slice(0, 10)
    .map(([key, n]) => ({ key: key === '' ? null : key, [field]: n }))
}

const inc = (map: Map<string, number>, key: string, n = 1) => map.set(key, (map.get(key) ?? 0) + n)

async function allEvents(store: Store, appId: number): Promise<StoredEvent[]> {
  const events: StoredEvent[] = []
  for await (const event of store.readEvents({ appId })) events.push(event)
  return events
}

export async function expectedOverview(store: Store, query: AnalyticsQuery): Promise<Overview> {
  const events = await allEvents(store, query.appId)
  const series = buckets(query).map((t) => ({ t, sessions: 0, views: 0, errors: 0 }))
  const at = (ts: number) => series.find((p) => p.t === bucketOfTs(ts, query.bucket))
  let views = 0, actions = 0, errors = 0
  const duration: Histogram = {}
  const pages = new Map<string, number>(), referrers = new Map<string, number>(), campaigns = new Map<string, number>()
  for (const e of events) {
    if (e.ts < query.from || e.ts >= query.to || !matches(dimsOf(e), query.filters)) continue
    if (e.type === 'view') {
      views++
      at(e.ts)!.views++
      inc(pages, pagePath(e.view.url))
      if (e.view.time_spent !== undefined) addToHistogram(duration, e.view.time_spent)
      const referrer = referrerDomain(e.view.referrer, e.view.url)
      if (referrer) inc(referrers, referrer)
      const campaign = utmCampaign(e.view.url)
      if (campaign) inc(campaigns, campaign)
    }
    if (e.type === 'action') actions++
    if (e.type === 'error') {
      errors++
      at(e.ts)!.errors++
    }
  }
  // Sessions: by start, with the entry page standing for `page`.
  const viewsBySession = new Map<string, StoredEvent[]>()
  for (const e of events) if (e.type === 'view' && e.session) viewsBySession.set(e.session.id, [...(viewsBySession.get(e.session.id) ?? []), e])
  let sessions = 0, bounces = 0, crashed = 0
  const entry = new Map<string, number>(), exit = new Map<string, number>(), countries = new Map<string, number>(), browsers = new Map<string, number>(), oses = new Map<string, number>(), devices = new Map<string, number>()
  for await (const s of store.readSessions({ appId: query.appId, since: query.from, until: query.to })) {
    const sessionViews = viewsBySession.get(s.sessionId) ?? []
    const first = sessionViews[0]
    const last = sessionViews.at(-1)
    const dims: Dims = { page: first ? pagePath(first.view?.url) : '', country: s.country ?? '', browser: s.browser ?? '', os: s.os ?? '', device: s.deviceType ?? '', release: s.release ?? '', env: first?.env ?? '' }
    if (!matches(dims, query.filters)) continue
    sessions++
    if (s.views === 1) bounces++
    if (s.hasError) crashed++
    at(s.start)!.sessions++
    inc(entry, dims.page)
    inc(exit, last ? pagePath(last.view?.url) : '')
    inc(countries, dims.country)
    inc(browsers, dims.browser)
    inc(oses, dims.os)
    inc(devices, dims.device)
  }
  const rate = (n: number, d: number) => (d === 0 ? null : n / d)
  return {
    totals: {
      sessions,
      views,
      actions,
      errors,
      error_rate: rate(errors, views),
      crash_free_rate: rate(sessions - crashed, sessions),
      bounce_rate: rate(bounces, sessions),
      view_duration_p50_ms: percentile(duration, 0.5),
      view_duration_p75_ms: percentile(duration, 0.75),
    },
    series,
    top: {
      pages: top(pages, 'views'),
      entry_pages: top(entry, 'sessions'),
      exit_pages: top(exit, 'sessions'),
      referrers: top(referrers, 'views'),
      utm_campaigns: top(campaigns, 'views'),
      countries: top(countries, 'sessions'),
      browsers: top(browsers, 'sessions'),
      oses: top(oses, 'sessions'),
      devices: top(devices, 'sessions'),
    },
  }
}

export async function expectedPerformance(store: Store, query: AnalyticsQuery & { by: PerformanceBreakdown }): Promise<Performance> {
  const times = buckets(query)
  const vitals = Object.fromEntries(VITAL_NAMES.map((n) => [n, { all: {} as Histogram, ratings: [0, 0, 0], series: times.map(() => ({}) as Histogram) }]))
  const by = new Map<string, { LCP: Histogram; INP: Histogram; CLS: Histogram; count: number }>()
  const nav = { ttfb: {} as Histogram, dcl: {} as Histogram, load: {} as Histogram }
  const resources = new Map<string, { url: string; type: string; count: number; h: Histogram }>()
  const tasks = { count: 0, total: 0, h: {} as Histogram, series: times.map((t) => ({ t, count: 0 })) }
  for (const e of await allEvents(store, query.appId)) {
    const dims = dimsOf(e)
    if (e.ts < query.from || e.ts >= query.to || !matches(dims, query.filters)) continue
    const slot = times.indexOf(bucketOfTs(e.ts, query.bucket))
    if (e.type === 'vital') {
      const name = e.vital.name as VitalName
      const v = vitals[name]!
      addToHistogram(v.all, e.vital.value * VITAL_SCALE[name])
      addToHistogram(v.series[slot]!, e.vital.value * VITAL_SCALE[name])
      v.ratings[rateVital(name, e.vital.value)]!++
      if (name === 'LCP' || name === 'INP' || name === 'CLS') {
        const key = dims[query.by]
        const g = by.get(key) ?? { LCP: {}, INP: {}, CLS: {}, count: 0 }
        by.set(key, g)
        addToHistogram(g[name], e.vital.value * VITAL_SCALE[name])
        if (name === 'LCP') g.count++
      }
    } else if (e.type === 'view') {
      if (e.view.first_byte !== undefined) addToHistogram(nav.ttfb, e.view.first_byte)
      if (e.view.dom_content_loaded !== undefined) addToHistogram(nav.dcl, e.view.dom_content_loaded)
      if (e.view.load_event !== undefined) addToHistogram(nav.load, e.view.load_event)
    } else if (e.type === 'resource') {
      const url = resourceUrl(e.resource.url)
      const type = e.resource.type ?? ''
      const r = resources.get(`${type} ${url}`) ?? { url, type, count: 0, h: {} }
      resources.set(`${type} ${url}`, r)
      r.count++
      addToHistogram(r.h, e.resource.duration)
    } else if (e.type === 'long_task') {
      tasks.count++
      tasks.total += e.long_task.duration
      addToHistogram(tasks.h, e.long_task.duration)
      tasks.series[slot]!.count++
    }
  }
  return {
    vitals: Object.fromEntries(
      VITAL_NAMES.map((name) => {
        const v = vitals[name]!
        const scale = VITAL_SCALE[name]
        const count = histogramCount(v.all)
        const share = (n: number) => (count === 0 ? 0 : n / count)
        return [name, {
          p50: percentile(v.all, 0.5, scale),
          p75: percentile(v.all, 0.75, scale),
          p90: percentile(v.all, 0.9, scale),
          count,
          good: share(v.ratings[0]!),
          needs_improvement: share(v.ratings[1]!),
          poor: share(v.ratings[2]!),
          series: v.series.map((h, i) => ({ t: times[i]!, p75: percentile(h, 0.75, scale) })),
          histogram: histogramBuckets(v.all, scale),
        }]
      }),
    ) as Performance['vitals'],
    by: [...by]
      .sort(([ka, a], [kb, b]) => b.count - a.count || (ka < kb ? -1 : 1))
      .slice(0, 50)
      .map(([key, g]) => ({ key: key === '' ? null : key, LCP_p75: percentile(g.LCP, 0.75), INP_p75: percentile(g.INP, 0.75), CLS_p75: percentile(g.CLS, 0.75, 1000), count: g.count })),
    navigation: { ttfb_p75: percentile(nav.ttfb, 0.75), dom_content_loaded_p75: percentile(nav.dcl, 0.75), load_p75: percentile(nav.load, 0.75) },
    slowest_resources: [...resources.values()]
      .map((r) => ({ url: r.url, type: r.type === '' ? null : r.type, p75_ms: percentile(r.h, 0.75), count: r.count }))
      .sort((a, b) => (b.p75_ms ?? 0) - (a.p75_ms ?? 0) || b.count - a.count || (a.url < b.url ? -1 : 1))
      .slice(0, 10),
    long_tasks: { count: tasks.count, total_ms: tasks.total, p75_ms: percentile(tasks.h, 0.75), series: tasks.series },
  }
}

/** Floating-point sums depend on their order: compare numbers to 9 significant digits. */
export function rounded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(9)) : v))) as T
}

import type { FastifyInstance } from 'fastify'
import { DAY_MS } from '../clock.js'
import { ANALYTICS_FILTERS, PERFORMANCE_BREAKDOWNS, type AnalyticsQuery, type PerformanceBreakdown } from '../store/AnalyticsStore.js'
import type { KeyAuthDeps } from './authenticateSecretKey.js'
import { authorizeApp } from './authorizeRequest.js'
import { BadRequest, badRequest, HOUR_MS, oneOf, single, text, type Query } from './queryParameters.js'

const MAX_SPAN_DAYS = 93
/** Hourly points beyond two weeks would be more than a chart can show (and than the daily rollups need to read). */
const MAX_HOURLY_SPAN_DAYS = 14
const MAX_FILTER = 200
const DEVICE_CLASSES = ['desktop', 'mobile', 'tablet', 'tv', 'unknown'] as const
const RANGE_KEYS = ['from', 'to', 'bucket', ...ANALYTICS_FILTERS] as const


/**
 * The dashboard's overview and performance views (docs/API.md, "Analytics"): read from the rollups
 * (store.analytics; docs/ROLLUPS.md), never by scanning events, so they stay fast on millions of events. Viewer
 * role; the range is widened to whole hours (UTC) and reported back as used.
 */
export async function analyticsRoutes(scope: FastifyInstance, deps: KeyAuthDeps): Promise<void> {
  scope.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff')
  })

  scope.get('/api/v1/apps/:app/overview', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    let query: AnalyticsQuery
    try {
      query = analyticsQuery(request.query as Query, found.app.id, deps.clock.now(), RANGE_KEYS)
    } catch (error) {
      return badRequest(reply, error)
    }
    const overview = await deps.store.analytics.overview(query)
    return { range: rangeJson(query), ...overview, series: overview.series.map((p) => ({ ...p, t: iso(p.t) })) }
  })

  scope.get('/api/v1/apps/:app/performance', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    let query: AnalyticsQuery
    let by: PerformanceBreakdown
    try {
      const raw = request.query as Query
      query = analyticsQuery(raw, found.app.id, deps.clock.now(), [...RANGE_KEYS, 'by'])
      by = oneOf(raw, 'by', PERFORMANCE_BREAKDOWNS) ?? 'page'
    } catch (error) {
      return badRequest(reply, error)
    }
    const result = await deps.store.analytics.performance({ ...query, by })
    const vitals = Object.fromEntries(
      Object.entries(result.vitals).map(([name, v]) => [name, { ...v, series: v.series.map((p) => ({ ...p, t: iso(p.t) })) }]),
    )
    return {
      range: rangeJson(query),
      ...result,
      vitals,
      by: { [by]: result.by },
      long_tasks: { ...result.long_tasks, series: result.long_tasks.series.map((p) => ({ ...p, t: iso(p.t) })) },
    }
  })
}

/** Range, bucket and filters from the query string; throws BadRequest with one sentence for the caller. */
function analyticsQuery(raw: Query, appId: number, now: number, allowed: readonly string[]): AnalyticsQuery {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) throw new BadRequest(`Unknown parameter "${key.slice(0, 40)}": this route takes ${allowed.join(', ')}.`)
  }
  const to = ceilHour(time(raw, 'to') ?? now)
  const from = Math.floor((time(raw, 'from') ?? to - DAY_MS) / HOUR_MS) * HOUR_MS
  if (from >= to) throw new BadRequest('"from" must be before "to".')
  if (to - from > MAX_SPAN_DAYS * DAY_MS) throw new BadRequest(`The range may span at most ${MAX_SPAN_DAYS} days.`)
  const bucket = oneOf(raw, 'bucket', ['hour', 'day'] as const) ?? (to - from <= 2 * DAY_MS ? 'hour' : 'day')
  if (bucket === 'hour' && to - from > MAX_HOURLY_SPAN_DAYS * DAY_MS) {
    throw new BadRequest(`Hourly points are available for ranges of up to ${MAX_HOURLY_SPAN_DAYS} days; use bucket=day.`)
  }
  const filters: AnalyticsQuery['filters'] = {}
  for (const key of ANALYTICS_FILTERS) {
    const value = key === 'device' ? oneOf(raw, key, DEVICE_CLASSES) : text(raw, key, MAX_FILTER)
    if (value !== undefined) filters[key] = value
  }
  if (filters.page !== undefined && !filters.page.startsWith('/')) throw new BadRequest('"page" is a path such as /cart.')
  return { appId, from, to, bucket, filters }
}

function rangeJson(query: AnalyticsQuery): { from: string; to: string; bucket: string } {
  return { from: iso(query.from), to: iso(query.to), bucket: query.bucket }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function ceilHour(ms: number): number {
  return Math.ceil(ms / HOUR_MS) * HOUR_MS
}



/** An ISO 8601 date-time with its zone (a bare date is UTC midnight), or milliseconds since the epoch, between 2000 and 2200. */
function time(query: Query, key: string): number | undefined {
  const value = single(query, key)
  if (value === undefined) return undefined
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) ? Date.parse(value) : NaN
  if (!Number.isFinite(ms) || ms < Date.UTC(2000, 0, 1) || ms > Date.UTC(2200, 0, 1)) {
    throw new BadRequest(`"${key}" must be an ISO 8601 time such as 2026-11-20T15:00:00Z, or milliseconds since 1970.`)
  }
  return ms
}



import type { Query } from './api.js'

/**
 * The time range and drill-down filters of the analytics views, kept in the URL's query string. The same
 * filters go to every panel's request, so clicking a country narrows every chart and list at once.
 */

export const RANGES = [
  { key: '1h', label: '1 hour', ms: 3_600_000 },
  { key: '24h', label: '24 hours', ms: 86_400_000 },
  { key: '7d', label: '7 days', ms: 7 * 86_400_000 },
  { key: '30d', label: '30 days', ms: 30 * 86_400_000 },
] as const

export const FILTER_KEYS = ['page', 'country', 'browser', 'os', 'device', 'release', 'env'] as const
export type FilterKey = (typeof FILTER_KEYS)[number]

export const FILTER_LABELS: Record<FilterKey, string> = {
  page: 'Page',
  country: 'Country',
  browser: 'Browser',
  os: 'OS',
  device: 'Device',
  release: 'Release',
  env: 'Environment',
}

/** The API query for the range and filters in `query` (the page's URL parameters). */
export function rangeQuery(query: URLSearchParams, now = Date.now()): Query {
  const result: Query = {}
  const range = query.get('range') ?? '24h'
  if (range === 'custom') {
    const from = Date.parse(query.get('from') ?? '')
    const to = Date.parse(query.get('to') ?? '')
    if (Number.isFinite(from)) result.from = new Date(from).toISOString()
    if (Number.isFinite(to)) result.to = new Date(to).toISOString()
  } else {
    const span = RANGES.find((r) => r.key === range)?.ms ?? 86_400_000
    // Rounded to the minute: re-rendering within a minute asks the same question (and the same URL).
    const end = Math.ceil(now / 60_000) * 60_000
    result.from = new Date(end - span).toISOString()
    result.to = new Date(end).toISOString()
  }
  for (const key of FILTER_KEYS) {
    const value = query.get(key)
    if (value) result[key] = value
  }
  return result
}

export function activeFilters(query: URLSearchParams): Array<[FilterKey, string]> {
  const active: Array<[FilterKey, string]> = []
  for (const key of FILTER_KEYS) {
    const value = query.get(key)
    if (value) active.push([key, value])
  }
  return active
}

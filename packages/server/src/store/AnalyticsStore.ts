import type { VitalName } from '../analytics/webVitals.js'

/**
 * Pre-aggregated analytics for the dashboard (issue 6, "Speed"; docs/ROLLUPS.md): rollups by hour and day and
 * by dimension, rebuilt exactly from the raw events of every hour the event writer marked as changed. The
 * results use the API's field names (docs/API.md, "Analytics"): they are what the routes send.
 */
export interface AnalyticsStore {
  /**
   * Rebuilds the rollups of every hour marked as changed since the last call, each hour in its own transaction,
   * and the daily rows of the changed days that ended at least an hour before `now` (until then, queries read
   * those days' hourly rows); returns how many hours and days. Idempotent; the server calls it every few seconds.
   */
  refreshRollups(input: {
    now: number
    /** Stops between steps (the server is stopping); the marks left are rebuilt next time. */
    signal?: AbortSignal
    /**
     * The most of the event loop the refresh may take (0–1, default 1): between its steps it waits so that its
     * work is at most this share of the time (analytics/createStepPacer.ts). The server's job uses 0.1.
     */
    share?: number
  }): Promise<{ hours: number; days: number }>
  overview(query: AnalyticsQuery): Promise<Overview>
  performance(query: AnalyticsQuery & { by: PerformanceBreakdown }): Promise<Performance>
  /**
   * Retention (DESIGN.md P7): deletes the app's rollups of buckets that start before `before` for one family —
   * `views` (views, actions, errors, vitals, referrers), `sessions`, `resources`, `long_tasks` — and rebuilds the
   * day that straddles it. Returns how many rows.
   */
  deleteRollupsBefore(input: { appId: number; family: RollupFamily; before: number }): Promise<number>
  /** Deletes an app's rollups; returns how many rows. */
  purgeApp(appId: number): Promise<number>
}

export const ROLLUP_FAMILIES = ['views', 'sessions', 'resources', 'long_tasks'] as const
export type RollupFamily = (typeof ROLLUP_FAMILIES)[number]

export const ANALYTICS_FILTERS = ['page', 'country', 'browser', 'os', 'device', 'release', 'env'] as const
export type AnalyticsFilterKey = (typeof ANALYTICS_FILTERS)[number]

export const PERFORMANCE_BREAKDOWNS = ['page', 'country', 'browser', 'device'] as const
export type PerformanceBreakdown = (typeof PERFORMANCE_BREAKDOWNS)[number]

export interface AnalyticsQuery {
  appId: number
  /** Whole hours (UTC): `from` inclusive, `to` exclusive. With `bucket: 'day'`, series points are UTC days. */
  from: number
  to: number
  bucket: 'hour' | 'day'
  /** Exact matches; '' matches events without the dimension. */
  filters: Partial<Record<AnalyticsFilterKey, string>>
}

export interface TopEntry {
  /** null for events without the dimension (no country, unknown browser, …). */
  key: string | null
  views?: number
  sessions?: number
}

export interface Overview {
  totals: {
    sessions: number
    views: number
    actions: number
    errors: number
    /** Errors per view; null without views. */
    error_rate: number | null
    /** Share of sessions without an error; null without sessions. */
    crash_free_rate: number | null
    /** Share of sessions with exactly one view; null without sessions. */
    bounce_rate: number | null
    view_duration_p50_ms: number | null
    view_duration_p75_ms: number | null
  }
  series: Array<{ t: number; sessions: number; views: number; errors: number }>
  top: Record<'pages' | 'entry_pages' | 'exit_pages' | 'referrers' | 'utm_campaigns' | 'countries' | 'browsers' | 'oses' | 'devices', TopEntry[]>
}

export interface VitalSummary {
  p50: number | null
  p75: number | null
  p90: number | null
  count: number
  /** Shares 0..1 by Google's thresholds (analytics/webVitals.ts); 0 without values. */
  good: number
  needs_improvement: number
  poor: number
  series: Array<{ t: number; p75: number | null }>
  histogram: Array<{ le: number; count: number }>
}

export interface Performance {
  vitals: Record<VitalName, VitalSummary>
  by: Array<{ key: string | null; LCP_p75: number | null; INP_p75: number | null; CLS_p75: number | null; count: number }>
  navigation: { ttfb_p75: number | null; dom_content_loaded_p75: number | null; load_p75: number | null }
  slowest_resources: Array<{ url: string; type: string | null; p75_ms: number | null; count: number }>
  long_tasks: { count: number; total_ms: number; p75_ms: number | null; series: Array<{ t: number; count: number }> }
}

/** Number and time formatting for the views, and the one place that decides whether a string may become a link. */

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 })
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 })

export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  return Math.abs(value) >= 100_000 ? compact.format(value) : integer.format(value)
}

export function formatPercent(share: number | null | undefined, digits = 1): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '–'
  return `${(share * 100).toFixed(digits)} %`
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const minutes = Math.floor(ms / 60_000)
  return minutes < 60 ? `${minutes} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** A Web Vital's value in its unit: CLS has none, the others are milliseconds. */
export function formatVital(metric: string, value: number | null | undefined): string {
  if (metric === 'CLS') return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(3)
  return formatMs(value)
}

export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '–'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return String(iso)
  return date.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '–'
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000)
  if (!Number.isFinite(seconds)) return String(iso)
  if (seconds < 60) return 'just now'
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  return `${Math.floor(seconds / 86_400)} d ago`
}

/**
 * The href for a URL that came from event data, or undefined when it must stay plain text: only absolute
 * http(s) URLs, after parsing (so `javascript:`, `data:`, `JaVaScRiPt:` with tabs or entities never become links).
 */
export function safeHref(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined
  } catch {
    return undefined
  }
}

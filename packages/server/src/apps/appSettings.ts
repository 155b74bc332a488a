import { WIRE_TYPES } from '../protocol/wireSchema.js'

/**
 * Per-app settings: what is stored is only what the operator changed (overrides), so defaults can improve
 * in a later release without rewriting rows. Every key is listed here with its parser; nothing else is
 * accepted by `tacit app set`.
 */

export const RETENTION_KINDS = [...WIRE_TYPES, 'session'] as const
export type RetentionKind = (typeof RETENTION_KINDS)[number]

/** DESIGN.md P7: 30 days for most data, 15 days for the high-volume resources and long tasks. */
export const DEFAULT_RETENTION_DAYS: Record<RetentionKind, number> = {
  view: 30,
  action: 30,
  error: 30,
  vital: 30,
  custom: 30,
  report: 30,
  session: 30,
  resource: 15,
  long_task: 15,
}
export const MAX_RETENTION_DAYS = 3650

export interface AppSettings {
  /** Origins allowed to send events from a browser; empty means any origin. */
  origins: string[]
  retention: Record<RetentionKind, number>
  /** Events per second the app may send (token bucket, burst of twice that); 0 means no limit. */
  rateLimit: number
  /** DESIGN.md P5, P6, P8: what may be derived from a request and kept. */
  privacy: {
    /** `truncated` stores the /24 (IPv4) or /48 (IPv6) network; `off` stores nothing of the address. */
    ip: 'off' | 'truncated'
    /** `city` only works when the operator configured a city database (TACIT_GEOIP_CITY_DB). */
    geo: 'off' | 'country' | 'city'
    /** Keep bot traffic, marked `bot: true`, instead of dropping it. */
    keepBots: boolean
    /** Drop events of requests that carry `Sec-GPC: 1` or `DNT: 1`. */
    honorGpc: boolean
    /** Keep `usr` fields sent by the SDK; otherwise they are dropped (the event is kept). */
    allowUserIdentity: boolean
    /** Minutes without events after which a visitor's next event starts a new session. */
    sessionTimeoutMinutes: number
  }
  /** DESIGN.md P8: inbound filters; each drop is counted under its own reason. */
  filters: {
    /** ISO 3166-1 alpha-2 codes, upper case. */
    blockCountries: string[]
    /** Globs over the view URL's path: `*` within a segment, `**` across segments. */
    blockPaths: string[]
    /** When non-empty, only these networks (CIDR) may send. */
    ipAllow: string[]
    ipDeny: string[]
  }
  /** DESIGN.md P4: the app's own additions to the built-in scrubbing rules. */
  scrub: {
    /** Extra patterns: each match is replaced by `[name]`. */
    patterns: Array<{ name: string; regex: string }>
    /** Extra key names (case-insensitive substrings) whose values become `[secret]`. */
    sensitiveKeys: string[]
    /** When set, URLs keep only these query parameters (others become `[redacted]`). */
    queryAllowList: string[] | null
    /** Path globs whose `*` segments are replaced, e.g. `/users/*\/settings` → `/users/[redacted]/settings`. */
    pathRules: string[]
    /** Replace numeric and UUID path segments by `:id`, so pages group well. */
    templateIds: boolean
  }
}

export interface AppSettingsOverrides {
  origins?: string[]
  retention?: Partial<Record<RetentionKind, number>>
  rate_limit?: number
  privacy?: Partial<AppSettings['privacy']>
  filters?: Partial<AppSettings['filters']>
  scrub?: Partial<AppSettings['scrub']>
}

export const DEFAULT_PRIVACY: AppSettings['privacy'] = {
  ip: 'off',
  geo: 'country',
  keepBots: false,
  honorGpc: false,
  allowUserIdentity: false,
  sessionTimeoutMinutes: 30,
}
export const DEFAULT_FILTERS: AppSettings['filters'] = { blockCountries: [], blockPaths: [], ipAllow: [], ipDeny: [] }
export const DEFAULT_SCRUB: AppSettings['scrub'] = { patterns: [], sensitiveKeys: [], queryAllowList: null, pathRules: [], templateIds: false }

export function resolveSettings(overrides: AppSettingsOverrides): AppSettings {
  return {
    origins: overrides.origins ?? [],
    retention: { ...DEFAULT_RETENTION_DAYS, ...overrides.retention },
    rateLimit: overrides.rate_limit ?? 0,
    privacy: { ...DEFAULT_PRIVACY, ...overrides.privacy },
    filters: { ...DEFAULT_FILTERS, ...overrides.filters },
    scrub: { ...DEFAULT_SCRUB, ...overrides.scrub },
  }
}

export class SettingError extends Error {}

/** Applies one `key=value` assignment as typed by an operator; throws a SettingError with one clear sentence. */
export function applySetting(overrides: AppSettingsOverrides, assignment: string): AppSettingsOverrides {
  const eq = assignment.indexOf('=')
  if (eq <= 0) throw new SettingError(`"${assignment}" is not a setting assignment: write key=value, e.g. retention.error=60.`)
  const key = assignment.slice(0, eq).trim()
  const value = assignment.slice(eq + 1).trim()
  if (key === 'origins') return { ...overrides, origins: parseOrigins(value) }
  if (key === 'rate_limit') return { ...overrides, rate_limit: parseWholeNumber(key, value, 0, 1_000_000) }
  if (key.startsWith('retention.')) {
    const kind = key.slice('retention.'.length)
    if (!(RETENTION_KINDS as readonly string[]).includes(kind)) {
      throw new SettingError(`Unknown retention kind "${kind}": use one of ${RETENTION_KINDS.join(', ')}.`)
    }
    const days = parseWholeNumber(key, value, 1, MAX_RETENTION_DAYS)
    return { ...overrides, retention: { ...overrides.retention, [kind]: days } }
  }
  throw new SettingError(`Unknown setting "${key}": use origins, rate_limit or retention.<type>.`)
}

function parseWholeNumber(key: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new SettingError(`${key} must be a whole number from ${min} to ${max}.`)
  }
  return Number(value)
}

/** Parses a comma-separated list of origins; `https://*.example.com` allows every subdomain. */
export function parseOrigins(list: string): string[] {
  if (list === '') return []
  return list.split(',').map((entry) => normalizeOrigin(entry.trim()))
}

export function normalizeOrigin(entry: string): string {
  const wildcard = /^(https?):\/\/\*\.([^/]+)\/?$/.exec(entry)
  let url: URL
  try {
    url = new URL(wildcard ? `${wildcard[1]}://${wildcard[2]}` : entry)
  } catch {
    throw new SettingError(`"${entry}" is not an origin: write it like https://shop.example.com.`)
  }
  if (wildcard && !url.hostname.includes('.')) {
    throw new SettingError(`"${entry}" would allow a whole top-level domain: name the site, like https://*.example.com.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SettingError(`"${entry}" is not an http or https origin.`)
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new SettingError(`"${entry}" has more than an origin: keep only scheme, host and port.`)
  }
  return wildcard ? `${url.protocol}//*.${url.host}` : url.origin
}

/** Whether a request's Origin header may send events to an app with these allowed origins. */
export function isOriginAllowed(allowed: readonly string[], origin: string): boolean {
  if (allowed.length === 0) return true
  for (const entry of allowed) {
    if (entry === origin) return true
    const star = entry.indexOf('//*.')
    if (star !== -1) {
      const scheme = entry.slice(0, star + 2)
      const suffix = entry.slice(star + 3)
      if (origin.startsWith(scheme) && origin.endsWith(suffix) && origin.length > scheme.length + suffix.length) return true
    }
  }
  return false
}

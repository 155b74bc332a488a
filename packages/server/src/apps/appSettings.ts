import { parseCidr } from '../privacy/network/ipNetwork.js'
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
    /** With user identity allowed, also keep `usr.name` and `usr.email` as sent instead of scrubbed. */
    allowUserDetails: boolean
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
  allowUserDetails: false,
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

export const MAX_SESSION_TIMEOUT_MINUTES = 1440
export const MAX_SCRUB_PATTERNS = 50
const MAX_LIST_ITEMS = 200

type Privacy = AppSettings['privacy']
type Filters = AppSettings['filters']
type Scrub = AppSettings['scrub']

/** Every key `tacit app set` accepts, for the "unknown setting" message and `tacit app show`. */
export const SETTING_KEYS = [
  'origins',
  'rate_limit',
  'retention.<type>',
  'ip',
  'geo',
  'keep_bots',
  'honor_gpc',
  'allow_user_identity',
  'allow_user_details',
  'session_timeout',
  'block_countries',
  'block_paths',
  'ip_allow',
  'ip_deny',
  'scrub.sensitive_keys',
  'scrub.query_allow',
  'scrub.path_rules',
  'scrub.template_ids',
  'scrub.pattern.<name>',
] as const

/** Applies one `key=value` assignment as typed by an operator; throws a SettingError with one clear sentence. */
export function applySetting(overrides: AppSettingsOverrides, assignment: string): AppSettingsOverrides {
  const eq = assignment.indexOf('=')
  if (eq <= 0) throw new SettingError(`"${assignment}" is not a setting assignment: write key=value, e.g. retention.error=60.`)
  const key = assignment.slice(0, eq).trim()
  const value = assignment.slice(eq + 1).trim()
  const privacy = (patch: Partial<Privacy>): AppSettingsOverrides => ({ ...overrides, privacy: { ...overrides.privacy, ...patch } })
  const filters = (patch: Partial<Filters>): AppSettingsOverrides => ({ ...overrides, filters: { ...overrides.filters, ...patch } })
  const scrub = (patch: Partial<Scrub>): AppSettingsOverrides => ({ ...overrides, scrub: { ...overrides.scrub, ...patch } })
  switch (key) {
    case 'origins':
      return { ...overrides, origins: parseOrigins(value) }
    case 'rate_limit':
      return { ...overrides, rate_limit: parseWholeNumber(key, value, 0, 1_000_000) }
    case 'ip':
      return privacy({ ip: parseChoice(key, value, ['off', 'truncated'] as const) })
    case 'geo':
      // `city` is accepted without knowing the server's configuration (settings live in the database,
      // config in the process): without TACIT_GEOIP_CITY_DB the pipeline stores the country instead.
      return privacy({ geo: parseChoice(key, value, ['off', 'country', 'city'] as const) })
    case 'keep_bots':
      return privacy({ keepBots: parseBoolean(key, value) })
    case 'honor_gpc':
      return privacy({ honorGpc: parseBoolean(key, value) })
    case 'allow_user_identity':
      return privacy({ allowUserIdentity: parseBoolean(key, value) })
    case 'allow_user_details':
      return privacy({ allowUserDetails: parseBoolean(key, value) })
    case 'session_timeout':
      return privacy({ sessionTimeoutMinutes: parseWholeNumber(`${key} (minutes)`, value, 1, MAX_SESSION_TIMEOUT_MINUTES) })
    case 'block_countries':
      return filters({ blockCountries: parseList(key, value, parseCountry) })
    case 'block_paths':
      return filters({ blockPaths: parseList(key, value, (entry) => parsePathGlob(key, entry)) })
    case 'ip_allow':
    case 'ip_deny':
      return filters({ [key === 'ip_allow' ? 'ipAllow' : 'ipDeny']: parseList(key, value, (entry) => parseNetwork(key, entry)) })
    case 'scrub.sensitive_keys':
      return scrub({ sensitiveKeys: parseList(key, value, (entry) => parseName(key, entry).toLowerCase()) })
    case 'scrub.query_allow':
      return scrub({ queryAllowList: value === '' ? null : parseList(key, value, (entry) => parseName(key, entry)) })
    case 'scrub.path_rules':
      return scrub({ pathRules: parseList(key, value, (entry) => parsePathRule(key, entry)) })
    case 'scrub.template_ids':
      return scrub({ templateIds: parseBoolean(key, value) })
  }
  if (key.startsWith('scrub.pattern.')) {
    const name = key.slice('scrub.pattern.'.length)
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(name)) {
      throw new SettingError(`"${name}" is not a pattern name: use lower-case letters, digits and _ (up to 32), e.g. scrub.pattern.order_id=ORD-\\d+.`)
    }
    const patterns = (overrides.scrub?.patterns ?? []).filter((pattern) => pattern.name !== name)
    if (value === '') return scrub({ patterns })
    if (patterns.length >= MAX_SCRUB_PATTERNS) throw new SettingError(`An app may have at most ${MAX_SCRUB_PATTERNS} scrub patterns.`)
    return scrub({ patterns: [...patterns, { name, regex: parsePattern(key, value) }] })
  }
  if (key.startsWith('retention.')) {
    const kind = key.slice('retention.'.length)
    if (!(RETENTION_KINDS as readonly string[]).includes(kind)) {
      throw new SettingError(`Unknown retention kind "${kind}": use one of ${RETENTION_KINDS.join(', ')}.`)
    }
    const days = parseWholeNumber(key, value, 1, MAX_RETENTION_DAYS)
    return { ...overrides, retention: { ...overrides.retention, [kind]: days } }
  }
  throw new SettingError(`Unknown setting "${key}": use one of ${SETTING_KEYS.join(', ')}.`)
}

function parseChoice<const T extends readonly string[]>(key: string, value: string, allowed: T): T[number] {
  if (!(allowed as readonly string[]).includes(value)) throw new SettingError(`${key} must be ${allowed.join(' or ')}.`)
  return value as T[number]
}

function parseBoolean(key: string, value: string): boolean {
  return parseChoice(key, value, ['true', 'false'] as const) === 'true'
}

/** A comma-separated list; an empty value clears it. Duplicates are dropped, order is kept. */
function parseList<T>(key: string, value: string, parse: (entry: string) => T): T[] {
  if (value === '') return []
  const entries = value.split(',').map((entry) => entry.trim())
  if (entries.some((entry) => entry === '')) throw new SettingError(`${key} has an empty entry: separate values with single commas.`)
  if (entries.length > MAX_LIST_ITEMS) throw new SettingError(`${key} may list at most ${MAX_LIST_ITEMS} values.`)
  return [...new Set(entries.map(parse))]
}

function parseCountry(entry: string): string {
  const code = entry.toUpperCase()
  if (!/^[A-Z]{2}$/.test(code)) throw new SettingError(`"${entry}" is not a country code: use ISO 3166-1 alpha-2 codes like FR,DE.`)
  return code
}

function parsePathGlob(key: string, entry: string): string {
  if (!entry.startsWith('/') || /[\s?#]/.test(entry) || entry.length > 512) {
    throw new SettingError(`${key}: "${entry}" is not a path glob: start with / and use * or **, like /admin/**.`)
  }
  return entry
}

function parsePathRule(key: string, entry: string): string {
  parsePathGlob(key, entry)
  if (!entry.includes('*')) throw new SettingError(`${key}: "${entry}" has no * segment to redact, like /users/*/settings.`)
  return entry
}

function parseNetwork(key: string, entry: string): string {
  const cidr = parseCidr(entry)
  if (!cidr || entry.startsWith('::ffff:')) {
    throw new SettingError(`${key}: "${entry}" is not an IP address or CIDR network like 203.0.113.0/24 or 2001:db8::/32.`)
  }
  return `${cidr.address}/${cidr.prefix}`
}

function parseName(key: string, entry: string): string {
  if (entry.length > 128 || /[\s=&,]/.test(entry)) throw new SettingError(`${key}: "${entry}" is not a parameter or key name.`)
  return entry
}

// A group holding a quantifier that is itself repeated — (a+)+, (\w*\s?)*, (x|y+){2,} — backtracks
// exponentially on a near-miss: the classic catastrophic pattern.
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,?\d*\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,?\d*\})/

function parsePattern(key: string, value: string): string {
  if (value.length > 500) throw new SettingError(`${key} is longer than 500 characters.`)
  let regex: RegExp
  try {
    regex = new RegExp(value, 'g')
  } catch {
    throw new SettingError(`${key} is not a valid regular expression.`)
  }
  if (['', 'x', 'abc 123', 'a.b@c'].some((sample) => emptyMatch(regex, sample))) {
    throw new SettingError(`${key} can match an empty string: make it require at least one character.`)
  }
  if (NESTED_QUANTIFIER.test(value)) {
    throw new SettingError(`${key} repeats a group that itself repeats, e.g. (a+)+, which can hang on some inputs: simplify it.`)
  }
  return value
}

function emptyMatch(regex: RegExp, sample: string): boolean {
  for (const match of sample.matchAll(regex)) if (match[0] === '') return true
  return false
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

export interface SettingLine {
  /** The key as `tacit app set` takes it. */
  key: string
  /** Typed for JSON; `formatSettingValue` gives the text `tacit app set` takes back. */
  value: string | number | boolean | string[] | null
  isDefault: boolean
}

/**
 * Every effective setting in `tacit app set` terms, so what `tacit app show` prints can be typed back.
 * The one place that knows how a setting reads: keep it beside applySetting.
 */
export function describeSettings(overrides: AppSettingsOverrides): SettingLine[] {
  const settings = resolveSettings(overrides)
  const line = (key: string, value: SettingLine['value'], isSet: boolean): SettingLine => ({ key, value, isDefault: !isSet })
  const { privacy, filters, scrub } = settings
  const p = overrides.privacy ?? {}
  const f = overrides.filters ?? {}
  const s = overrides.scrub ?? {}
  return [
    line('origins', settings.origins, overrides.origins !== undefined),
    line('rate_limit', settings.rateLimit, overrides.rate_limit !== undefined),
    ...RETENTION_KINDS.map((kind) => line(`retention.${kind}`, settings.retention[kind], overrides.retention?.[kind] !== undefined)),
    line('ip', privacy.ip, p.ip !== undefined),
    line('geo', privacy.geo, p.geo !== undefined),
    line('keep_bots', privacy.keepBots, p.keepBots !== undefined),
    line('honor_gpc', privacy.honorGpc, p.honorGpc !== undefined),
    line('allow_user_identity', privacy.allowUserIdentity, p.allowUserIdentity !== undefined),
    line('allow_user_details', privacy.allowUserDetails, p.allowUserDetails !== undefined),
    line('session_timeout', privacy.sessionTimeoutMinutes, p.sessionTimeoutMinutes !== undefined),
    line('block_countries', filters.blockCountries, f.blockCountries !== undefined),
    line('block_paths', filters.blockPaths, f.blockPaths !== undefined),
    line('ip_allow', filters.ipAllow, f.ipAllow !== undefined),
    line('ip_deny', filters.ipDeny, f.ipDeny !== undefined),
    line('scrub.sensitive_keys', scrub.sensitiveKeys, s.sensitiveKeys !== undefined),
    line('scrub.query_allow', scrub.queryAllowList, s.queryAllowList !== undefined),
    line('scrub.path_rules', scrub.pathRules, s.pathRules !== undefined),
    line('scrub.template_ids', scrub.templateIds, s.templateIds !== undefined),
    ...scrub.patterns.map((pattern) => line(`scrub.pattern.${pattern.name}`, pattern.regex, true)),
  ]
}

/** A setting's value as `tacit app set` takes it: lists comma-separated, nothing as empty. */
export function formatSettingValue(value: SettingLine['value']): string {
  if (value === null) return ''
  return Array.isArray(value) ? value.join(',') : String(value)
}

import { describe, expect, it } from 'vitest'
import {
  applySetting,
  DEFAULT_RETENTION_DAYS,
  isOriginAllowed,
  MAX_RETENTION_DAYS,
  MAX_SCRUB_PATTERNS,
  normalizeOrigin,
  parseOrigins,
  DEFAULT_FILTERS,
  DEFAULT_PRIVACY,
  DEFAULT_SCRUB,
  resolveSettings,
  RETENTION_KINDS,
  SettingError,
  type AppSettingsOverrides,
} from '../../src/apps/appSettings.js'
import { WIRE_TYPES } from '../../src/protocol/wireSchema.js'

describe('resolveSettings', () => {
  it('gives the privacy defaults when nothing was changed', () => {
    expect(resolveSettings({})).toEqual({
      origins: [],
      rateLimit: 0,
      retention: DEFAULT_RETENTION_DAYS,
      privacy: { ip: 'off', geo: 'country', keepBots: false, honorGpc: false, allowUserIdentity: false, allowUserDetails: false, sessionTimeoutMinutes: 30 },
      filters: { blockCountries: [], blockPaths: [], ipAllow: [], ipDeny: [] },
      scrub: { patterns: [], sensitiveKeys: [], queryAllowList: null, pathRules: [], templateIds: false },
    })
    expect(DEFAULT_RETENTION_DAYS).toEqual({
      view: 30,
      action: 30,
      error: 30,
      vital: 30,
      custom: 30,
      report: 30,
      session: 30,
      resource: 15,
      long_task: 15,
    })
  })

  it('has a retention default for every wire type', () => {
    for (const type of WIRE_TYPES) expect(DEFAULT_RETENTION_DAYS[type]).toBeGreaterThan(0)
  })

  it('applies overrides over the defaults, one retention kind at a time', () => {
    const settings = resolveSettings({ origins: ['https://a.example'], rate_limit: 50, retention: { error: 90 } })
    expect(settings).toEqual({
      origins: ['https://a.example'],
      rateLimit: 50,
      retention: { ...DEFAULT_RETENTION_DAYS, error: 90 },
      privacy: DEFAULT_PRIVACY,
      filters: DEFAULT_FILTERS,
      scrub: DEFAULT_SCRUB,
    })
  })
})

describe('applySetting', () => {
  it('sets origins, normalized', () => {
    expect(applySetting({}, 'origins=https://Shop.Example.com, https://*.example.org')).toEqual({
      origins: ['https://shop.example.com', 'https://*.example.org'],
    })
  })

  it('clears origins with an empty value', () => {
    expect(applySetting({ origins: ['https://a.example'] }, 'origins=')).toEqual({ origins: [] })
  })

  it('sets rate_limit from 0 to 1,000,000', () => {
    expect(applySetting({}, 'rate_limit=0')).toEqual({ rate_limit: 0 })
    expect(applySetting({}, 'rate_limit=250')).toEqual({ rate_limit: 250 })
    expect(applySetting({}, 'rate_limit=1000000')).toEqual({ rate_limit: 1_000_000 })
    for (const value of ['-1', '1000001', '1.5', 'abc', '', ' ', '1e3', '0x10']) {
      expect(() => applySetting({}, `rate_limit=${value}`)).toThrow(SettingError)
    }
  })

  it(`sets retention for every kind, from 1 to ${MAX_RETENTION_DAYS} days`, () => {
    for (const kind of RETENTION_KINDS) {
      expect(applySetting({}, `retention.${kind}=1`)).toEqual({ retention: { [kind]: 1 } })
      expect(applySetting({}, `retention.${kind}=${MAX_RETENTION_DAYS}`)).toEqual({ retention: { [kind]: MAX_RETENTION_DAYS } })
      for (const value of ['0', String(MAX_RETENTION_DAYS + 1), '-5', '7.5', 'forever', '']) {
        expect(() => applySetting({}, `retention.${kind}=${value}`), `${kind}=${value}`).toThrow(SettingError)
      }
    }
  })

  it('keeps the other retention kinds and settings when one is changed', () => {
    const start: AppSettingsOverrides = { origins: ['https://a.example'], rate_limit: 5, retention: { error: 60 } }
    const next = applySetting(start, 'retention.resource=7')
    expect(next).toEqual({ origins: ['https://a.example'], rate_limit: 5, retention: { error: 60, resource: 7 } })
    expect(start).toEqual({ origins: ['https://a.example'], rate_limit: 5, retention: { error: 60 } })
  })

  it('trims spaces around key and value', () => {
    expect(applySetting({}, '  retention.error =  45 ')).toEqual({ retention: { error: 45 } })
  })

  it('refuses unknown keys, unknown retention kinds and assignments without "="', () => {
    for (const assignment of ['geography=off', 'GEO=off', 'scrub.patterns=x', 'scrub=1', 'retention.replay=10', 'retention.=10', 'retention=10', 'rate_limit', '=5', '', 'ORIGINS=x']) {
      expect(() => applySetting({}, assignment), assignment).toThrow(SettingError)
    }
  })

  it('explains a mistake in one sentence', () => {
    expect(() => applySetting({}, 'retention.error=0')).toThrow('retention.error must be a whole number from 1 to 3650.')
    expect(() => applySetting({}, 'colour=blue')).toThrow(/^Unknown setting "colour"/)
    expect(() => applySetting({}, 'retention.replay=1')).toThrow(/^Unknown retention kind "replay"/)
  })
})

describe('applySetting: privacy, filters and scrub keys', () => {
  const refuses = (assignment: string, message?: RegExp | string) => {
    expect(() => applySetting({}, assignment), assignment).toThrow(SettingError)
    if (message) expect(() => applySetting({}, assignment)).toThrow(message)
  }

  it('sets ip to off or truncated', () => {
    expect(applySetting({}, 'ip=truncated')).toEqual({ privacy: { ip: 'truncated' } })
    expect(applySetting({}, 'ip=off')).toEqual({ privacy: { ip: 'off' } })
    for (const value of ['full', 'on', '', 'TRUNCATED']) refuses(`ip=${value}`, 'ip must be off or truncated.')
  })

  it('sets geo to off, country or city (city falls back to country without a city database)', () => {
    expect(applySetting({}, 'geo=off')).toEqual({ privacy: { geo: 'off' } })
    expect(applySetting({}, 'geo=country')).toEqual({ privacy: { geo: 'country' } })
    expect(applySetting({}, 'geo=city')).toEqual({ privacy: { geo: 'city' } })
    for (const value of ['region', '', 'true']) refuses(`geo=${value}`, 'geo must be off or country or city.')
  })

  it('sets the boolean switches from true or false only', () => {
    const cases = [
      ['keep_bots', 'keepBots'],
      ['honor_gpc', 'honorGpc'],
      ['allow_user_identity', 'allowUserIdentity'],
    ] as const
    for (const [key, field] of cases) {
      expect(applySetting({}, `${key}=true`)).toEqual({ privacy: { [field]: true } })
      expect(applySetting({}, `${key}=false`)).toEqual({ privacy: { [field]: false } })
      for (const value of ['yes', '1', '', 'True']) refuses(`${key}=${value}`, `${key} must be true or false.`)
    }
    expect(applySetting({}, 'scrub.template_ids=true')).toEqual({ scrub: { templateIds: true } })
    refuses('scrub.template_ids=on', 'scrub.template_ids must be true or false.')
  })

  it('sets session_timeout in minutes from 1 to 1440', () => {
    expect(applySetting({}, 'session_timeout=1')).toEqual({ privacy: { sessionTimeoutMinutes: 1 } })
    expect(applySetting({}, 'session_timeout=1440')).toEqual({ privacy: { sessionTimeoutMinutes: 1440 } })
    for (const value of ['0', '1441', '30m', '', '2.5']) refuses(`session_timeout=${value}`, 'session_timeout (minutes) must be a whole number from 1 to 1440.')
  })

  it('keeps the other privacy settings when one changes', () => {
    let overrides = applySetting({}, 'ip=truncated')
    overrides = applySetting(overrides, 'geo=off')
    expect(overrides).toEqual({ privacy: { ip: 'truncated', geo: 'off' } })
    expect(resolveSettings(overrides).privacy).toEqual({ ...DEFAULT_PRIVACY, ip: 'truncated', geo: 'off' })
  })

  it('sets block_countries as upper-case ISO 3166-1 alpha-2 codes', () => {
    expect(applySetting({}, 'block_countries=fr, DE,fr')).toEqual({ filters: { blockCountries: ['FR', 'DE'] } })
    expect(applySetting({ filters: { blockCountries: ['FR'] } }, 'block_countries=')).toEqual({ filters: { blockCountries: [] } })
    for (const value of ['France', 'F', 'FRA', 'F1', 'FR,,DE', 'FR,']) refuses(`block_countries=${value}`)
    refuses('block_countries=France', /is not a country code: use ISO 3166-1 alpha-2 codes like FR,DE\.$/)
  })

  it('sets block_paths as globs starting with /', () => {
    expect(applySetting({}, 'block_paths=/admin/**, /internal/*')).toEqual({ filters: { blockPaths: ['/admin/**', '/internal/*'] } })
    expect(applySetting({}, 'block_paths=')).toEqual({ filters: { blockPaths: [] } })
    for (const value of ['admin/**', '/a b', '/a?x=1', '/a#x']) refuses(`block_paths=${value}`, /is not a path glob/)
  })

  it('sets ip_allow and ip_deny as CIDR networks, IPv4 and IPv6, a bare address being one host', () => {
    expect(applySetting({}, 'ip_allow=10.0.0.0/8,2001:db8::/32')).toEqual({ filters: { ipAllow: ['10.0.0.0/8', '2001:db8::/32'] } })
    expect(applySetting({}, 'ip_deny=192.0.2.1,::1')).toEqual({ filters: { ipDeny: ['192.0.2.1/32', '::1/128'] } })
    expect(applySetting({ filters: { ipDeny: ['10.0.0.0/8'] } }, 'ip_deny=')).toEqual({ filters: { ipDeny: [] } })
    for (const value of ['10.0.0.0/33', 'example.com', '10.0.0/8', '::ffff:10.0.0.1', '2001:db8::/200']) {
      refuses(`ip_deny=${value}`, /is not an IP address or CIDR network/)
      refuses(`ip_allow=${value}`)
    }
  })

  it('sets scrub.sensitive_keys (lower-cased) and scrub.query_allow (empty turns it off)', () => {
    expect(applySetting({}, 'scrub.sensitive_keys=Customer_Ref,pin')).toEqual({ scrub: { sensitiveKeys: ['customer_ref', 'pin'] } })
    expect(applySetting({}, 'scrub.sensitive_keys=')).toEqual({ scrub: { sensitiveKeys: [] } })
    expect(applySetting({}, 'scrub.query_allow=page,sort')).toEqual({ scrub: { queryAllowList: ['page', 'sort'] } })
    expect(applySetting({ scrub: { queryAllowList: ['page'] } }, 'scrub.query_allow=')).toEqual({ scrub: { queryAllowList: null } })
    refuses('scrub.query_allow=a b')
    refuses('scrub.sensitive_keys=a=b')
  })

  it('sets scrub.path_rules as globs with a * segment', () => {
    expect(applySetting({}, 'scrub.path_rules=/users/*/settings,/orgs/*/**')).toEqual({ scrub: { pathRules: ['/users/*/settings', '/orgs/*/**'] } })
    refuses('scrub.path_rules=/users/settings', /has no \* segment/)
    refuses('scrub.path_rules=users/*')
  })

  it('adds, replaces and removes named scrub patterns', () => {
    let overrides = applySetting({}, 'scrub.pattern.order_id=ORD-\\d{6}')
    expect(overrides).toEqual({ scrub: { patterns: [{ name: 'order_id', regex: 'ORD-\\d{6}' }] } })
    overrides = applySetting(overrides, 'scrub.pattern.member=M[0-9]{8}')
    overrides = applySetting(overrides, 'scrub.pattern.order_id=ORD-[A-Z0-9]{6}')
    expect(overrides.scrub?.patterns).toEqual([
      { name: 'member', regex: 'M[0-9]{8}' },
      { name: 'order_id', regex: 'ORD-[A-Z0-9]{6}' },
    ])
    overrides = applySetting(overrides, 'scrub.pattern.member=')
    expect(overrides.scrub?.patterns).toEqual([{ name: 'order_id', regex: 'ORD-[A-Z0-9]{6}' }])
    // The value may itself contain "=".
    expect(applySetting({}, 'scrub.pattern.kv=key=[a-z]+').scrub?.patterns).toEqual([{ name: 'kv', regex: 'key=[a-z]+' }])
  })

  it('refuses scrub patterns that do not compile, match empty strings or backtrack catastrophically', () => {
    refuses('scrub.pattern.bad=ORD-(\\d+', 'scrub.pattern.bad is not a valid regular expression.')
    for (const value of ['a*', 'x?', '\\d*', '(?:)', '^', '\\b', 'a|']) refuses(`scrub.pattern.empty=${value}`, /can match an empty string/)
    for (const value of ['(a+)+b', '(\\w+\\s?)+$', '(x|y+){2,}', '(?:a*)*z']) refuses(`scrub.pattern.slow=${value}`, /repeats a group that itself repeats/)
    for (const name of ['Order', '1x', 'a-b', '', 'x'.repeat(33)]) refuses(`scrub.pattern.${name}=abc`, /is not a pattern name/)
    refuses(`scrub.pattern.long=${'a'.repeat(501)}`, /longer than 500/)
  })

  it(`allows at most ${MAX_SCRUB_PATTERNS} scrub patterns`, () => {
    let overrides: AppSettingsOverrides = {}
    for (let i = 0; i < MAX_SCRUB_PATTERNS; i++) overrides = applySetting(overrides, `scrub.pattern.p${i}=x${i}`)
    expect(() => applySetting(overrides, 'scrub.pattern.more=y')).toThrow(SettingError)
    expect(applySetting(overrides, 'scrub.pattern.p0=z').scrub?.patterns).toHaveLength(MAX_SCRUB_PATTERNS)
  })

  it('names every key in the unknown-setting sentence', () => {
    expect(() => applySetting({}, 'colour=blue')).toThrow(/ip, geo, keep_bots, honor_gpc, allow_user_identity, allow_user_details, session_timeout, block_countries/)
  })

  it('never changes the overrides it was given', () => {
    const start: AppSettingsOverrides = { privacy: { ip: 'truncated' }, filters: { blockCountries: ['FR'] }, scrub: { patterns: [{ name: 'a', regex: 'x' }] } }
    const copy = structuredClone(start)
    applySetting(start, 'geo=off')
    applySetting(start, 'block_paths=/x')
    applySetting(start, 'scrub.pattern.a=')
    expect(start).toEqual(copy)
  })
})

describe('origins', () => {
  it('normalizes case, default ports and a trailing slash', () => {
    expect(normalizeOrigin('HTTPS://Shop.Example.COM/')).toBe('https://shop.example.com')
    expect(normalizeOrigin('https://shop.example.com:443')).toBe('https://shop.example.com')
    expect(normalizeOrigin('http://localhost:80')).toBe('http://localhost')
    expect(normalizeOrigin('http://localhost:3000')).toBe('http://localhost:3000')
    expect(normalizeOrigin('https://*.Example.com/')).toBe('https://*.example.com')
    expect(normalizeOrigin('https://*.example.com:8443')).toBe('https://*.example.com:8443')
  })

  it('refuses what is not an http(s) origin', () => {
    for (const entry of [
      'shop.example.com',
      'ftp://example.com',
      'https://example.com/path',
      'https://example.com/?q=1',
      'https://example.com/#x',
      'https://user@example.com',
      'https://*.example.com/path',
      'javascript:alert(1)',
      '*',
    ]) {
      expect(() => normalizeOrigin(entry), entry).toThrow(SettingError)
    }
  })

  it('parses a comma-separated list', () => {
    expect(parseOrigins('')).toEqual([])
    expect(parseOrigins('https://a.example,http://b.example:8080')).toEqual(['https://a.example', 'http://b.example:8080'])
  })

  it('allows every origin when the list is empty', () => {
    expect(isOriginAllowed([], 'https://anything.example')).toBe(true)
    expect(isOriginAllowed([], 'null')).toBe(true)
  })

  it('matches an exact origin only with the same scheme, host and port', () => {
    const allowed = parseOrigins('https://shop.example.com,http://localhost:3000')
    expect(isOriginAllowed(allowed, 'https://shop.example.com')).toBe(true)
    expect(isOriginAllowed(allowed, 'http://localhost:3000')).toBe(true)
    expect(isOriginAllowed(allowed, 'http://shop.example.com')).toBe(false)
    expect(isOriginAllowed(allowed, 'https://shop.example.com:8443')).toBe(false)
    expect(isOriginAllowed(allowed, 'http://localhost:3001')).toBe(false)
    expect(isOriginAllowed(allowed, 'http://localhost')).toBe(false)
    expect(isOriginAllowed(allowed, 'https://www.shop.example.com')).toBe(false)
    expect(isOriginAllowed(allowed, 'https://shop.example.com.evil.net')).toBe(false)
    expect(isOriginAllowed(allowed, 'null')).toBe(false)
  })

  it('refuses a wildcard over a whole top-level domain', () => {
    expect(() => normalizeOrigin('https://*.com')).toThrow(SettingError)
    expect(() => normalizeOrigin('https://*.com')).toThrow(/top-level domain/)
    expect(normalizeOrigin('https://*.example.com')).toBe('https://*.example.com')
  })

  it('matches a wildcard against subdomains only, with the same scheme and port', () => {
    const allowed = parseOrigins('https://*.example.com')
    expect(isOriginAllowed(allowed, 'https://shop.example.com')).toBe(true)
    expect(isOriginAllowed(allowed, 'https://a.b.example.com')).toBe(true)
    expect(isOriginAllowed(allowed, 'https://example.com')).toBe(false)
    expect(isOriginAllowed(allowed, 'https://.example.com')).toBe(false)
    expect(isOriginAllowed(allowed, 'http://shop.example.com')).toBe(false)
    expect(isOriginAllowed(allowed, 'https://shop.example.com:8443')).toBe(false)
    expect(isOriginAllowed(allowed, 'https://badexample.com')).toBe(false)
    expect(isOriginAllowed(allowed, 'https://example.com.evil.net')).toBe(false)
    const withPort = parseOrigins('https://*.example.com:8443')
    expect(isOriginAllowed(withPort, 'https://shop.example.com:8443')).toBe(true)
    expect(isOriginAllowed(withPort, 'https://shop.example.com')).toBe(false)
  })
})

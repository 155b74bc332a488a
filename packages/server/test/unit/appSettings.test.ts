import { describe, expect, it } from 'vitest'
import {
  applySetting,
  DEFAULT_RETENTION_DAYS,
  isOriginAllowed,
  MAX_RETENTION_DAYS,
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
      privacy: { ip: 'off', geo: 'country', keepBots: false, honorGpc: false, allowUserIdentity: false, sessionTimeoutMinutes: 30 },
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
    for (const assignment of ['geo=off', 'retention.replay=10', 'retention.=10', 'retention=10', 'rate_limit', '=5', '', 'ORIGINS=x']) {
      expect(() => applySetting({}, assignment), assignment).toThrow(SettingError)
    }
  })

  it('explains a mistake in one sentence', () => {
    expect(() => applySetting({}, 'retention.error=0')).toThrow('retention.error must be a whole number from 1 to 3650.')
    expect(() => applySetting({}, 'colour=blue')).toThrow(/^Unknown setting "colour"/)
    expect(() => applySetting({}, 'retention.replay=1')).toThrow(/^Unknown retention kind "replay"/)
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

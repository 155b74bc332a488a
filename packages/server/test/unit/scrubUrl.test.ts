import { describe, expect, it } from 'vitest'
import { DEFAULT_SCRUB, type AppSettings } from '../../src/apps/appSettings.js'
import { compilePathRule } from '../../src/privacy/scrub/compilePathRule.js'
import { createScrubber } from '../../src/privacy/scrub/createScrubber.js'

const url = (input: string, options: Partial<AppSettings['scrub']> = {}) => createScrubber({ ...DEFAULT_SCRUB, ...options }).url(input)

describe('URL scrubbing', () => {
  it('leaves clean URLs byte-identical, encoding and all', () => {
    for (const clean of [
      'https://shop.example.com/products/shoes-42?color=red&size=42&page=2#reviews',
      'https://registry.npmjs.org/@types/node/-/node-20.19.43.tgz',
      'https://example.com/a%20b/?q=caf%C3%A9&empty=&flag',
      '/cart?step=2',
      'git+ssh://git@github.com/org/repo.git',
    ]) {
      expect(url(clean)).toBe(clean)
    }
  })

  it('replaces values of sensitive query parameters, whatever they look like', () => {
    expect(url('https://x.com/cb?Password=a&API_KEY=b&sessionId=c&x-auth-token=d&page=2')).toBe(
      'https://x.com/cb?Password=[secret]&API_KEY=[secret]&sessionId=[secret]&x-auth-token=[secret]&page=2',
    )
  })

  it('scrubs other query values, decoded', () => {
    expect(url('https://x.com/s?q=john%40example.com&p=%2B1%20415%20555%200132&n=1')).toBe('https://x.com/s?q=[email]&p=[phone]&n=1')
    expect(url('https://x.com/s?q=call+%2B1+415+555+0132')).toBe('https://x.com/s?q=call%20[phone]')
  })

  it('scrubs the path, credentials and fragment', () => {
    expect(url('https://alice:pw@x.com/u/john@example.com/orders')).toBe('https://[credentials]@x.com/u/[email]/orders')
    expect(url('https://x.com/#access_token=abc123&token_type=bearer')).toBe('https://x.com/#access_token=[secret]&token_type=[secret]')
    expect(url('https://x.com/app#/users/li@example.io?tab=2&email=x')).toBe('https://x.com/app#/users/[email]?tab=2&email=[secret]')
  })

  it('keeps only allow-listed query parameters when queryAllowList is set', () => {
    expect(url('https://x.com/s?utm_source=news&q=shoes&page=2&flag', { queryAllowList: ['page', 'utm_source'] })).toBe(
      'https://x.com/s?utm_source=news&q=[redacted]&page=2&flag',
    )
    // Sensitive names stay secret even when listed.
    expect(url('https://x.com/s?token=abc', { queryAllowList: ['token'] })).toBe('https://x.com/s?token=[secret]')
  })

  it('applies path rules', () => {
    const pathRules = ['/users/*/settings', '/teams/*/members/*', '/docs/**']
    expect(url('https://x.com/users/jane-doe/settings?tab=1', { pathRules })).toBe('https://x.com/users/[redacted]/settings?tab=1')
    expect(url('/teams/acme/members/bob/', { pathRules })).toBe('/teams/[redacted]/members/[redacted]/')
    expect(url('https://x.com/users/jane/settings/billing', { pathRules })).toBe('https://x.com/users/jane/settings/billing')
    expect(url('https://x.com/docs/a/b', { pathRules })).toBe('https://x.com/docs/a/b')
  })

  it('templates numeric and UUID segments when templateIds is on', () => {
    expect(url('https://x.com/orders/12345/items/550e8400-e29b-41d4-a716-446655440000?page=2', { templateIds: true })).toBe(
      'https://x.com/orders/:id/items/:id?page=2',
    )
    expect(url('https://x.com/orders/12345')).toBe('https://x.com/orders/12345')
    expect(url('https://x.com/v2/orders/a1b2', { templateIds: true })).toBe('https://x.com/v2/orders/a1b2')
  })
})

describe('compilePathRule', () => {
  it('redacts the segment where it matched, not where its text first occurs', () => {
    expect(compilePathRule('/a/*/a')('/a/a/a')).toBe('/a/[redacted]/a')
    expect(compilePathRule('/**/users/*')('/api/v1/users/bob')).toBe('/api/v1/users/[redacted]')
    expect(compilePathRule('/users/*')('/people/bob')).toBeUndefined()
  })
})

import { describe, expect, it } from 'vitest'
import { createApplyInboundFilters, globSource, urlPath } from '../../src/pipeline/stages/applyInboundFilters.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { fakeRequest, fakeView, RECEIVED_AT } from './fakeRequest.js'

const stage = createApplyInboundFilters()

function run(settings: string[], options: { ip?: string; country?: string; url?: string; event?: StoredEvent } = {}) {
  const request = fakeRequest({ settings, overrides: { ip: options.ip ?? '203.0.113.9' } })
  if (options.country) request.derived.country = options.country
  return stage.run(options.event ?? fakeView(options.url), request)
}

describe('applyInboundFilters', () => {
  it('lets everything through when the app has no filters', () => {
    expect(run([])).toBeUndefined()
  })

  it('drops blocked countries with reason country_blocked', () => {
    expect(run(['block_countries=fr,DE'], { country: 'FR' })).toBe('country_blocked')
    expect(run(['block_countries=fr,DE'], { country: 'DE' })).toBe('country_blocked')
    expect(run(['block_countries=fr,DE'], { country: 'GB' })).toBeUndefined()
    // Unknown country (private network, no database answer): not blocked.
    expect(run(['block_countries=FR'])).toBeUndefined()
  })

  it('drops denied networks, IPv4 and IPv6, with reason ip_blocked', () => {
    const settings = ['ip_deny=203.0.113.0/24,2001:db8::/32']
    expect(run(settings, { ip: '203.0.113.200' })).toBe('ip_blocked')
    expect(run(settings, { ip: '::ffff:203.0.113.200' })).toBe('ip_blocked')
    expect(run(settings, { ip: '2001:db8:1::1' })).toBe('ip_blocked')
    expect(run(settings, { ip: '198.51.100.1' })).toBeUndefined()
    expect(run(settings, { ip: '2001:db9::1' })).toBeUndefined()
  })

  it('with an allow-list, drops every network not on it', () => {
    const settings = ['ip_allow=10.0.0.0/8,2001:db8::/32']
    expect(run(settings, { ip: '10.1.2.3' })).toBeUndefined()
    expect(run(settings, { ip: '2001:db8::5' })).toBeUndefined()
    expect(run(settings, { ip: '203.0.113.9' })).toBe('ip_blocked')
    expect(run(settings, { ip: '2001:db9::5' })).toBe('ip_blocked')
  })

  it('lets deny win over allow', () => {
    expect(run(['ip_allow=10.0.0.0/8', 'ip_deny=10.6.0.0/16'], { ip: '10.6.1.1' })).toBe('ip_blocked')
  })

  it('drops views whose path matches a blocked glob with reason path_blocked', () => {
    const settings = ['block_paths=/admin/**,/internal/*,/preview-*.html']
    for (const url of ['https://shop.example.com/admin', 'https://shop.example.com/admin/', 'https://shop.example.com/admin/users/7?tab=1', 'https://shop.example.com/internal/x', 'https://shop.example.com/preview-7.html', '/admin/x']) {
      expect(run(settings, { url }), url).toBe('path_blocked')
    }
    for (const url of ['https://shop.example.com/', 'https://shop.example.com/administrator', 'https://shop.example.com/internal/x/y', 'https://shop.example.com/internal', 'https://shop.example.com/cart?next=/admin/x', 'https://shop.example.com/#/admin/x']) {
      expect(run(settings, { url }), url).toBeUndefined()
    }
  })

  it('leaves events without a view alone for path filters', () => {
    const event = { type: 'long_task', long_task: { duration: 80 }, ts: RECEIVED_AT, received_at: RECEIVED_AT } as StoredEvent
    expect(run(['block_paths=/**'], { event })).toBeUndefined()
  })

  it('applies a changed setting at once (new settings object, no stale cache)', () => {
    expect(run(['block_countries=FR'], { country: 'FR' })).toBe('country_blocked')
    expect(run(['block_countries=DE'], { country: 'FR' })).toBeUndefined()
  })
})

describe('path globs', () => {
  it('compiles * within a segment and ** across segments', () => {
    const match = (glob: string, path: string) => new RegExp(globSource(glob)).test(path)
    expect(match('/a/*/c', '/a/b/c')).toBe(true)
    expect(match('/a/*/c', '/a/b/x/c')).toBe(false)
    expect(match('/a/**/c', '/a/b/x/c')).toBe(true)
    expect(match('/a.b', '/aXb')).toBe(false)
    expect(match('/(x)+', '/(x)+')).toBe(true)
  })

  it('reads the path of absolute and relative URLs', () => {
    expect(urlPath('https://a.example/x/y?q=1#f')).toBe('/x/y')
    expect(urlPath('/x/y?q=1')).toBe('/x/y')
    expect(urlPath('x/y#f')).toBe('/x/y')
  })
})

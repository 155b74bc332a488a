import { describe, expect, it } from 'vitest'
import { blockedOrigin, groupReport } from '../../src/errors/groupReport.js'

const csp = (body: Record<string, unknown>) => groupReport({ type: 'csp-violation', body })
const same = (a: { fingerprint: string }, b: { fingerprint: string }) => expect(a.fingerprint).toBe(b.fingerprint)
const differ = (a: { fingerprint: string }, b: { fingerprint: string }) => expect(a.fingerprint).not.toBe(b.fingerprint)

describe('groupReport', () => {
  it('groups CSP violations by directive and blocked origin, whatever the path, query, line or page', () => {
    const a = csp({ effectiveDirective: 'img-src', blockedURL: 'https://cdn.example/a/logo.png?v=1', sourceFile: 'https://shop.example/app.3f9a2c1b.js', lineNumber: 10, documentURL: 'https://shop.example/cart' })
    const b = csp({ effectiveDirective: 'img-src', blockedURL: 'https://cdn.example/b/hero.jpg?user=42#x', lineNumber: 99, columnNumber: 3, documentURL: 'https://shop.example/' })
    same(a, b)
    expect(a.fingerprint).toMatch(/^[0-9a-f]{32}$/)
    expect(a.title).toBe('CSP img-src blocked https://cdn.example')
    expect(a.culprit).toBe('app.js')
    expect(b.culprit).toBeUndefined()
    // Another directive, host, scheme or port is another issue.
    differ(a, csp({ effectiveDirective: 'script-src-elem', blockedURL: 'https://cdn.example/a/logo.png' }))
    differ(a, csp({ effectiveDirective: 'img-src', blockedURL: 'https://tracker.example/a/logo.png' }))
    differ(a, csp({ effectiveDirective: 'img-src', blockedURL: 'http://cdn.example/a/logo.png' }))
    differ(a, csp({ effectiveDirective: 'img-src', blockedURL: 'https://cdn.example:8443/a/logo.png' }))
  })

  it('keeps only the origin of a blocked URL, or the keyword as given', () => {
    expect(blockedOrigin('https://user:secret@CDN.example:8443/p/a.js?token=x#f')).toBe('https://cdn.example:8443')
    expect(blockedOrigin('https://cdn.example:443/x')).toBe('https://cdn.example')
    expect(blockedOrigin('inline')).toBe('inline')
    expect(blockedOrigin('eval')).toBe('eval')
    expect(blockedOrigin('wasm-eval')).toBe('wasm-eval')
    expect(blockedOrigin('trusted-types-sink')).toBe('trusted-types-sink')
    expect(blockedOrigin('data')).toBe('data')
    expect(blockedOrigin('data:image/png;base64,iVBORw0KGgo=')).toBe('data')
    expect(blockedOrigin('blob:https://shop.example/1b4e28ba-2fa1-11d2-883f-0016d3cca427')).toBe('blob')
    expect(blockedOrigin('chrome-extension://abcdef/inject.js')).toBe('chrome-extension://abcdef')
    expect(blockedOrigin('/relative/path?q=1')).toBe('')
    expect(blockedOrigin('')).toBe('')
    same(csp({ effectiveDirective: 'script-src-elem', blockedURL: 'inline', lineNumber: 1 }), csp({ effectiveDirective: 'script-src-elem', blockedURL: 'inline', lineNumber: 7 }))
    expect(csp({ effectiveDirective: 'script-src', blockedURL: 'eval' }).title).toBe('CSP script-src blocked eval')
  })

  it('groups deprecations and interventions by id, else by the parameterised message', () => {
    const a = groupReport({ type: 'deprecation', body: { id: 'UnloadHandler', message: 'Unload handlers are deprecated', sourceFile: 'https://shop.example/vendor-5HDQGNTS.js', lineNumber: 3 } })
    const b = groupReport({ type: 'deprecation', body: { id: 'UnloadHandler', message: 'Something else', lineNumber: 80 } })
    same(a, b)
    expect(a.title).toBe('Deprecation: UnloadHandler')
    expect(a.culprit).toBe('vendor.js')
    differ(a, groupReport({ type: 'intervention', body: { id: 'UnloadHandler' } }))
    differ(a, groupReport({ type: 'deprecation', body: { id: 'NavigatorUserAgent' } }))
    const m1 = groupReport({ type: 'intervention', body: { message: 'Blocked 3 ads on https://a.example/x\nmore' } })
    const m2 = groupReport({ type: 'intervention', body: { message: 'Blocked 12 ads on https://b.example/y' } })
    same(m1, m2)
    expect(m1.title).toBe('Intervention: Blocked 3 ads on https://a.example/x')
  })

  it('groups crashes by reason, network errors by type and phase', () => {
    const oom = groupReport({ type: 'crash', body: { reason: 'oom', is_top_level: true } })
    same(oom, groupReport({ type: 'crash', body: { reason: 'oom', visibility_state: 'hidden' } }))
    differ(oom, groupReport({ type: 'crash', body: { reason: 'unresponsive' } }))
    expect(oom.title).toBe('Crash: oom')
    expect(groupReport({ type: 'crash', body: {} }).title).toBe('Crash: (unknown reason)')

    const dns = groupReport({ type: 'network-error', body: { type: 'dns.name_not_resolved', phase: 'dns', status_code: 0, elapsed_time: 12 } })
    same(dns, groupReport({ type: 'network-error', body: { type: 'dns.name_not_resolved', phase: 'dns', elapsed_time: 900, method: 'POST' } }))
    differ(dns, groupReport({ type: 'network-error', body: { type: 'dns.name_not_resolved', phase: 'connection' } }))
    differ(dns, groupReport({ type: 'network-error', body: { type: 'tcp.timed_out', phase: 'dns' } }))
    expect(dns.title).toBe('Network error: dns.name_not_resolved (dns)')
  })

  it('groups COOP and COEP by type and disposition, with the policy or destination', () => {
    const coop = groupReport({ type: 'coop', body: { type: 'navigation-to-response', disposition: 'enforce', effectivePolicy: 'same-origin', property: 'x' } })
    same(coop, groupReport({ type: 'coop', body: { type: 'navigation-to-response', disposition: 'enforce', effectivePolicy: 'same-origin', lineNumber: 4 } }))
    differ(coop, groupReport({ type: 'coop', body: { type: 'navigation-to-response', disposition: 'reporting', effectivePolicy: 'same-origin' } }))
    expect(coop.title).toBe('COOP: navigation-to-response, enforce, same-origin')
    const coep = groupReport({ type: 'coep', body: { type: 'corp', disposition: 'enforce', destination: 'script', blockedURL: 'https://a.example/1.js' } })
    same(coep, groupReport({ type: 'coep', body: { type: 'corp', disposition: 'enforce', destination: 'script', blockedURL: 'https://b.example/2.js' } }))
    differ(coep, groupReport({ type: 'coep', body: { type: 'corp', disposition: 'enforce', destination: 'image' } }))
    differ(coep, groupReport({ type: 'coop', body: { type: 'corp', disposition: 'enforce', effectivePolicy: 'script' } }))
    expect(coep.title).toBe('COEP: corp, enforce, script')
  })

  it('groups policy violations by feature and disposition', () => {
    const camera = groupReport({ type: 'permissions-policy-violation', body: { featureId: 'camera', disposition: 'enforce', sourceFile: 'https://shop.example/a.js', lineNumber: 1 } })
    same(camera, groupReport({ type: 'permissions-policy-violation', body: { featureId: 'camera', disposition: 'enforce', lineNumber: 2 } }))
    differ(camera, groupReport({ type: 'permissions-policy-violation', body: { featureId: 'camera', disposition: 'report' } }))
    differ(camera, groupReport({ type: 'permissions-policy-violation', body: { featureId: 'geolocation', disposition: 'enforce' } }))
    differ(camera, groupReport({ type: 'potential-permissions-policy-violation', body: { featureId: 'camera', disposition: 'enforce' } }))
    expect(camera.title).toBe('Permissions policy: camera, enforce')
    expect(groupReport({ type: 'document-policy-violation', body: { featureId: 'oversized-images', disposition: 'report' } }).title).toBe('Document policy: oversized-images, report')
  })

  it('groups other report types by type and id, feature or reason', () => {
    const a = groupReport({ type: 'future-thing', body: { id: 'x1', lineNumber: 1 } })
    same(a, groupReport({ type: 'future-thing', body: { id: 'x1', lineNumber: 2 } }))
    differ(a, groupReport({ type: 'future-thing', body: { id: 'x2' } }))
    differ(a, groupReport({ type: 'other-thing', body: { id: 'x1' } }))
    expect(a.title).toBe('future-thing: x1')
    expect(groupReport({ type: 'future-thing', body: { reason: 'r' } }).title).toBe('future-thing: r')
    expect(groupReport({ type: 'future-thing', body: {} }).title).toBe('future-thing')
  })

  it('never throws on hostile or missing fields, and keeps titles on one line within 200 characters', () => {
    const hostile: unknown[] = [
      {},
      { type: 'csp-violation' },
      { type: 'csp-violation', body: null },
      { type: 'csp-violation', body: [] },
      { type: 42, body: 'x' },
      { type: 'csp-violation', body: { effectiveDirective: 7, blockedURL: { toString: 1 }, sourceFile: ['a'] } },
      { type: 'csp-violation', body: { blockedURL: 'http://[::1' } },
      { type: 'csp-violation', body: { blockedURL: 'https://' + 'a'.repeat(5000) + '.example/' } },
      { type: 'deprecation', body: Object.create(null) },
      { type: 'deprecation', body: { __proto__: { id: 'inherited' } } },
      { type: 'crash', body: { reason: 'a\n\u0000b'.repeat(300) } },
      { type: 'network-error', body: { type: null, phase: undefined } },
      null,
      undefined,
    ]
    for (const report of hostile) {
      const issue = groupReport(report as never)
      expect(issue.fingerprint).toMatch(/^[0-9a-f]{32}$/)
      expect(issue.title.length).toBeLessThanOrEqual(200)
      expect(issue.title).not.toContain('\n')
      expect(issue.title).not.toContain('\u0000')
    }
    // An inherited field is not the body's.
    expect(groupReport({ type: 'deprecation', body: { __proto__: { id: 'inherited' } } as never }).title).toBe('Deprecation: (unknown)')
    expect(groupReport({ type: 'csp-violation', body: { effectiveDirective: 7 } }).title).toBe('CSP violation blocked (unknown)')
  })
})

import { describe, expect, it } from 'vitest'
import { resolveSettings } from '../../src/apps/appSettings.js'
import { runPipeline, type RequestContext } from '../../src/pipeline/runPipeline.js'
import { fingerprintError } from '../../src/pipeline/stages/fingerprintError.js'
import { scrubPii } from '../../src/pipeline/stages/scrubPii.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'

const AT = Date.UTC(2026, 10, 22, 12)
const request = (): RequestContext => ({ appId: 1, settings: resolveSettings({}), receivedAt: AT, ip: '203.0.113.9', userAgent: undefined, optOut: false, derived: {} })
const error = (message: string, stack?: string): StoredEvent =>
  ({ type: 'error', ts: AT, received_at: AT, view: { id: 'v', url: 'https://shop.example/cart' }, error: { message, type: 'TypeError', ...(stack ? { stack } : {}) } }) as StoredEvent

function issueOf(event: StoredEvent) {
  const outcome = runPipeline([scrubPii, fingerprintError], event, request()) as { stored: StoredEvent }
  return outcome.stored.issue!
}

describe('fingerprintError stage', () => {
  it('gives an error event its issue: a 32-hex fingerprint, a title and the culprit frame', () => {
    const issue = issueOf(error("Cannot read properties of undefined (reading 'price')", 'TypeError: x\n    at total (https://shop.example/assets/app.3f9a2c1b.js:1:4821)'))
    expect(issue.fingerprint).toMatch(/^[0-9a-f]{32}$/)
    expect(issue.title).toBe("TypeError: Cannot read properties of undefined (reading 'price')")
    expect(issue.culprit).toBe('total (app.js)')
  })

  it('groups after scrubbing: errors that differ only by personal data are one issue that does not name anyone', () => {
    const a = issueOf(error('No account for jane.doe@example.org'))
    const b = issueOf(error('No account for max.mustermann@example.de'))
    expect(a.fingerprint).toBe(b.fingerprint)
    expect(a.title).toBe('TypeError: No account for [email]')
  })

  it('gives a browser report event its issue by the report type\'s own rule, after scrubbing', () => {
    const report = (blockedURL: string, lineNumber: number) =>
      ({ type: 'report', ts: AT, received_at: AT, report: { type: 'csp-violation', body: { effectiveDirective: 'img-src', blockedURL, lineNumber, sourceFile: 'https://shop.example/app.3f9a2c1b.js' } } }) as StoredEvent
    const a = issueOf(report('https://cdn.example/u/jane.doe@example.org/avatar.png', 3))
    const b = issueOf(report('https://cdn.example/banner.png?v=2', 40))
    expect(a.fingerprint).toMatch(/^[0-9a-f]{32}$/)
    expect(a.fingerprint).toBe(b.fingerprint)
    expect(a).toEqual({ fingerprint: a.fingerprint, title: 'CSP img-src blocked https://cdn.example', culprit: 'app.js' })
  })

  it('leaves other event types alone', () => {
    const view = { type: 'view', ts: AT, received_at: AT, view: { id: 'v', url: 'https://shop.example/' } } as StoredEvent
    expect(fingerprintError.run(view, request())).toBeUndefined()
    expect(view.issue).toBeUndefined()
  })
})

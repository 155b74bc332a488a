import { describe, expect, it } from 'vitest'
import { buildJsonPayload, buildSlackPayload, slackEscape, type AlertContext } from '../../src/alerts/buildAlertPayload.js'
import type { Issue } from '../../src/store/issues/issue.js'

const T0 = Date.UTC(2024, 4, 1, 12)
const ISSUE: Issue = {
  id: 7,
  appId: 1,
  fingerprint: 'f'.repeat(32),
  kind: 'report',
  title: 'CSP img-src blocked https://cdn.example',
  culprit: null,
  type: 'csp-violation',
  status: 'open',
  resolvedAt: null,
  regressedAt: null,
  firstSeen: T0,
  lastSeen: T0 + 1,
  count: 1,
  sessions: 0,
  firstRelease: null,
  lastRelease: null,
  receivedAt: T0,
}
const context = (overrides: Partial<AlertContext> = {}): AlertContext => ({
  delivery: { id: 3, event: 'issue.new', createdAt: T0, errorCount: null },
  app: { id: 1, name: 'shop' },
  rule: { id: 2, kind: 'new-issue', threshold: null, windowMinutes: null },
  issue: ISSUE,
  ...overrides,
})

describe('alert payloads', () => {
  it('announce browser-report issues with their kind', () => {
    expect(buildJsonPayload(context()).issue).toMatchObject({ kind: 'report', type: 'csp-violation' })
    expect(buildSlackPayload(context()).text).toBe('New browser report issue in shop: CSP img-src blocked https://cdn.example')
  })

  it('never carry a fingerprint, the issue\'s receive time or anything beyond the listed fields', () => {
    const json = buildJsonPayload(context())
    expect(Object.keys(json).sort()).toEqual(['app', 'created_at', 'delivery_id', 'issue', 'rule', 'type'])
    expect(Object.keys(json.issue!).sort()).toEqual(
      ['count', 'culprit', 'first_release', 'first_seen', 'id', 'kind', 'last_release', 'last_seen', 'regressed_at', 'sessions', 'status', 'title', 'type'].sort(),
    )
  })

  it('mark a test delivery and an error-rate spike, whose count says where counting stopped', () => {
    const test = buildJsonPayload(context({ delivery: { id: 3, event: 'alert.test', createdAt: T0, errorCount: null }, issue: undefined }))
    expect(test).toMatchObject({ type: 'alert.test', test: true })
    expect(test.issue).toBeUndefined()
    const spike = context({
      delivery: { id: 4, event: 'error_rate.spike', createdAt: T0, errorCount: 500 },
      rule: { id: 2, kind: 'error-rate', threshold: 50, windowMinutes: 1 },
      issue: undefined,
    })
    expect(buildSlackPayload(spike).text).toBe('Error rate spike in shop: 500+ error events in the last 1 minute (threshold 50)')
    expect(buildJsonPayload(spike).error_rate).toEqual({ count: 500, counted_up_to: 500, threshold: 50, window_minutes: 1, since: new Date(T0 - 60_000).toISOString(), until: new Date(T0).toISOString() })
  })

  it('escape Slack\'s control characters and cut very long text', () => {
    expect(slackEscape('<!here> & <mailto:a@b|x>')).toBe('&lt;!here&gt; &amp; &lt;mailto:a@b|x&gt;')
    expect(slackEscape('&amp;')).toBe('&amp;amp;')
    const long = buildSlackPayload(context({ issue: { ...ISSUE, title: 'x'.repeat(5000) } }))
    expect(long.text.length).toBeLessThan(400)
    expect(long.text.endsWith('…')).toBe(true)
  })
})

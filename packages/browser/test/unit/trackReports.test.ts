// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { reportBody, trackReports } from '../../src/collectors/trackReports.js'
import { scrubUrl } from '../../src/privacy/scrubUrl.js'
import { collectorSdk } from './collectorSdk.js'

/** happy-dom has no ReportingObserver: this one records its options and lets the test deliver reports. */
function fakeReportingObserver() {
  const observers: Array<{ options: ReportingObserverOptions; observing: boolean; deliver(reports: object[]): void }> = []
  vi.stubGlobal(
    'ReportingObserver',
    function (callback: (reports: object[]) => void, options: ReportingObserverOptions) {
      const observer = {
        options,
        observing: false,
        deliver: (reports: object[]) => callback(reports),
        observe: () => void (observer.observing = true),
        disconnect: () => void (observer.observing = false),
      }
      observers.push(observer)
      return observer
    },
  )
  return observers
}

/** A deprecation body as Chromium builds it: fields are getters on the prototype, like ReportBody's. */
function deprecationBody(fields: Record<string, unknown>): object {
  return Object.create(Object.defineProperties({}, Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { get: () => v }]))))
}

/** happy-dom has no SecurityPolicyViolationEvent; the collector reads only these fields. */
function violation(fields: Record<string, unknown>): Event {
  return Object.assign(new Event('securitypolicyviolation', { bubbles: true, composed: true }), fields)
}

const cspFields = {
  effectiveDirective: 'script-src-elem',
  blockedURI: 'https://evil.example/x.js?token=abc',
  documentURI: 'https://shop.example/checkout?email=a@b.example',
  disposition: 'enforce',
  sourceFile: 'https://shop.example/app.js',
  lineNumber: 12,
  columnNumber: 4,
  statusCode: 200,
  sample: 'var card = "4111 1111 1111 1111"',
  originalPolicy: "script-src 'self'",
  referrer: 'https://ref.example/',
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('reportBody', () => {
  it('keeps only listed string and number fields and scrubs URLs', () => {
    const source = { id: 'X', message: 'm', sourceFile: 'https://a.example/s.js?token=t', lineNumber: 0, columnNumber: null, userAgent: 'Mozilla/5.0', extra: { a: 1 } }
    expect(reportBody(source, ['id', 'message', 'sourceFile', 'lineNumber', 'columnNumber', 'extra'], scrubUrl)).toEqual({
      id: 'X',
      message: 'm',
      sourceFile: 'https://a.example/s.js?token=[secret]',
      lineNumber: 0,
    })
  })

  it('keeps CSP keywords and drops empty strings', () => {
    expect(reportBody({ blockedURL: 'inline', documentURL: '' }, ['blockedURL', 'documentURL'], scrubUrl)).toEqual({ blockedURL: 'inline' })
  })
})

describe('trackReports', () => {
  it('reports a CSP violation with the allowed fields only', () => {
    const { sdk, events } = collectorSdk()
    const stop = trackReports(sdk)
    document.body.appendChild(document.createElement('script')).dispatchEvent(violation(cspFields))
    expect(events).toEqual([
      {
        type: 'report',
        report: {
          type: 'csp-violation',
          body: {
            effectiveDirective: 'script-src-elem',
            blockedURL: 'https://evil.example/x.js?token=[secret]',
            documentURL: 'https://shop.example/checkout?email=[secret]',
            disposition: 'enforce',
            sourceFile: 'https://shop.example/app.js',
            lineNumber: 12,
            columnNumber: 4,
            statusCode: 200,
          },
        },
      },
    ])
    stop()
    document.dispatchEvent(violation({ ...cspFields, lineNumber: 13 }))
    expect(events).toHaveLength(1)
  })

  it('sends identical reports once', () => {
    const { sdk, events } = collectorSdk()
    trackReports(sdk)
    for (let i = 0; i < 3; i++) document.dispatchEvent(violation({ ...cspFields, blockedURI: 'inline', effectiveDirective: 'style-src-attr' }))
    document.dispatchEvent(violation({ ...cspFields, blockedURI: 'eval' }))
    expect(events.map((e) => (e.report as { body: { blockedURL: string } }).body.blockedURL)).toEqual(['inline', 'eval'])
  })

  it('observes deprecations and interventions, buffered, keeping only allow-listed body fields', () => {
    const observers = fakeReportingObserver()
    const { sdk, events } = collectorSdk()
    const stop = trackReports(sdk)
    expect(observers[0]!.options).toEqual({ types: ['deprecation', 'intervention'], buffered: true })
    expect(observers[0]!.observing).toBe(true)
    observers[0]!.deliver([
      {
        type: 'deprecation',
        url: 'https://shop.example/?session=s',
        body: deprecationBody({ id: 'UnloadHandler', message: 'Unload event listeners are deprecated', sourceFile: 'https://shop.example/app.js?token=t', lineNumber: 3, columnNumber: 9, anticipatedRemoval: null, userAgent: 'Mozilla/5.0' }),
      },
      { type: 'intervention', body: deprecationBody({ id: 'HeavyAdIntervention', message: 'Ad was removed', sourceFile: null, lineNumber: null, columnNumber: null }) },
      { type: 'deprecation', body: null },
    ])
    expect(events).toEqual([
      { type: 'report', report: { type: 'deprecation', body: { id: 'UnloadHandler', message: 'Unload event listeners are deprecated', sourceFile: 'https://shop.example/app.js?token=[secret]', lineNumber: 3, columnNumber: 9 } } },
      { type: 'report', report: { type: 'intervention', body: { id: 'HeavyAdIntervention', message: 'Ad was removed' } } },
    ])
    stop()
    expect(observers[0]!.observing).toBe(false)
  })

  it('does nothing when turned off', () => {
    const observers = fakeReportingObserver()
    const { sdk, events } = collectorSdk({ trackReports: false })
    trackReports(sdk)
    document.dispatchEvent(violation(cspFields))
    expect(events).toEqual([])
    expect(observers).toEqual([])
  })
})

import { guard } from '../core/guard.js'
import type { Collector } from '../core/types.js'

/** The fields of deprecation and intervention reports that are kept (`anticipatedRemoval` is not worth it). */
const REPORT_KEYS = ['id', 'message', 'sourceFile', 'lineNumber', 'columnNumber']

/**
 * A report body with only the listed fields, each a string or a number: a browser adding fields one day
 * (or a user agent string) must not send them. URLs go through `scrubUrl`, which leaves CSP's `blockedURL`
 * keywords (`inline`, `eval`) as they are.
 */
export function reportBody(source: object, keys: string[], scrubUrl: (url: string) => string): Record<string, string | number> {
  const body: Record<string, string | number> = {}
  for (const key of keys) {
    const value = (source as Record<string, unknown>)[key]
    if (typeof value === 'number') body[key] = value
    else if (typeof value === 'string' && value) body[key] = /(URL|File)$/.test(key) ? scrubUrl(value) : value
  }
  return body
}

/**
 * `report` events for deprecations and interventions (Reporting API, Chromium) and Content Security Policy
 * violations (the DOM event, which every current browser fires).
 */
export const trackReports: Collector = (sdk) => {
  if (sdk.options.trackReports === false) return () => {}
  // Chromium reports a deprecation once per page, but a blocked inline style can violate CSP on every
  // render: identical reports are sent once.
  const sent = new Set<string>()
  const send = (type: string, body: Record<string, string | number>) => {
    const key = type + JSON.stringify(body)
    if (sent.has(key)) return
    sent.add(key)
    sdk.emit({ type: 'report', report: { type, body } })
  }

  const onViolation = guard((e: SecurityPolicyViolationEvent) => {
    // Named as in the Reporting API's CSP report body. Never `sample`: the first characters of the blocked
    // script or style, which can hold data.
    const csp = { effectiveDirective: e.effectiveDirective, blockedURL: e.blockedURI, documentURL: e.documentURI, disposition: e.disposition, sourceFile: e.sourceFile, lineNumber: e.lineNumber, columnNumber: e.columnNumber, statusCode: e.statusCode }
    send('csp-violation', reportBody(csp, Object.keys(csp), sdk.scrubUrl))
  })
  document.addEventListener('securitypolicyviolation', onViolation)

  let observer: ReportingObserver | undefined
  if (typeof ReportingObserver === 'function') {
    observer = new ReportingObserver(
      guard((reports: Report[]) => reports.forEach((r) => r.body && send(r.type, reportBody(r.body, REPORT_KEYS, sdk.scrubUrl)))),
      { types: ['deprecation', 'intervention'], buffered: true },
    )
    observer.observe()
  }

  return () => {
    document.removeEventListener('securitypolicyviolation', onViolation)
    observer?.disconnect()
  }
}


import type { Static } from '@sinclair/typebox'
import type { Problem, ProblemCode } from './decodeBatch.js'
import { CAPS, truncate } from './limits.js'
import type { FreeForm, ReportEvent } from './wireSchema.js'
import { parseJsonSafely } from './parseJsonSafely.js'

/**
 * The browser reports edge (`POST /api/v1/report`, docs/PROTOCOL.md): what browsers send to a `report-to`
 * or `report-uri` endpoint becomes wire `report` events here, and nowhere else.
 *
 * Report bodies are not free-form on the way in: each type has an allow-list of fields, each with a kind
 * and a cap, and everything else is dropped. Reports carry the visitor's full `user_agent`, CSP's `sample`
 * (the first characters of the blocked script, which can hold data), the policy text, and referrers
 * (where the visitor came from); none of them is on any list. Only scalar values of the expected kind are
 * kept, so a nested or oversized value cannot get through either.
 */

export type ReportWireEvent = Static<typeof ReportEvent>

/** A browser never sends more in one request: Chromium's report cache holds 100 reports in all. */
export const MAX_REPORTS_PER_REQUEST = 100

export interface DecodedReports {
  ok: true
  events: ReportWireEvent[]
  problems: Problem[]
  /** Reports dropped as invalid. */
  invalid: number
}

export interface RejectedReports {
  ok: false
  status: 400 | 413
  code: 'empty_body' | 'malformed_json' | 'too_many_reports'
  message: string
}

/** How a kept field is checked and capped. */
type FieldKind =
  /** A URL or a path (scrubbed as one later): capped at the URL cap. */
  | 'url'
  /** A keyword or short name: a directive, a feature id, a disposition, a method. */
  | 'name'
  /** Human-readable text from the browser: a deprecation message, a crash's call stack. */
  | 'text'
  /** A line, column or status code: an integer ≥ 0. */
  | 'count'
  /** A duration or a fraction: a finite number ≥ 0. */
  | 'number'
  | 'boolean'
  /** A date: an ISO string or ms since the epoch. */
  | 'date'

type FieldList = ReadonlyArray<readonly [key: string, kind: FieldKind]>

const SOURCE_LOCATION: FieldList = [
  ['sourceFile', 'url'],
  ['lineNumber', 'count'],
  ['columnNumber', 'count'],
]

/**
 * Fields of report types that do not have their own list: those that mean the same in every known body
 * (and are never personal beyond what the scrubber catches). A new report type is kept, with these only,
 * until it gets a list of its own.
 */
const GENERIC_FIELDS: FieldList = [
  ['id', 'name'],
  ['type', 'name'],
  ['reason', 'name'],
  ['featureId', 'name'],
  ['disposition', 'name'],
  ['message', 'text'],
  ...SOURCE_LOCATION,
]

/**
 * Per report type, from the specs' body definitions. Left out on purpose: `referrer` (CSP, COOP, NEL),
 * `originalPolicy` and `sample` (CSP), `server_ip` (NEL), the other windows' URLs of COOP access reports,
 * and `crash_report_api` (key-value pairs a site attaches to crash reports, not yet something Tacit keeps).
 */
const BODY_FIELDS: Record<string, FieldList> = {
  // https://w3c.github.io/webappsec-csp/#cspviolationreportbody
  'csp-violation': [
    ['effectiveDirective', 'name'],
    ['blockedURL', 'url'],
    ['documentURL', 'url'],
    ['disposition', 'name'],
    ...SOURCE_LOCATION,
    ['statusCode', 'count'],
  ],
  // https://wicg.github.io/deprecation-reporting/
  deprecation: [['id', 'name'], ['message', 'text'], ...SOURCE_LOCATION, ['anticipatedRemoval', 'date']],
  // https://wicg.github.io/intervention-reporting/
  intervention: [['id', 'name'], ['message', 'text'], ...SOURCE_LOCATION],
  // https://wicg.github.io/crash-reporting/ (`page_visibility` is the older name of `visibility_state`)
  crash: [
    ['reason', 'name'],
    ['stack', 'text'],
    ['is_top_level', 'boolean'],
    ['visibility_state', 'name'],
    ['page_visibility', 'name'],
  ],
  // https://w3c.github.io/network-error-logging/#generate-a-network-error-report
  'network-error': [
    ['type', 'name'],
    ['phase', 'name'],
    ['status_code', 'count'],
    ['elapsed_time', 'number'],
    ['method', 'name'],
    ['protocol', 'name'],
    ['sampling_fraction', 'number'],
  ],
  // https://html.spec.whatwg.org/multipage/browsers.html#coop-violation-report (navigation and access reports)
  coop: [['type', 'name'], ['disposition', 'name'], ['effectivePolicy', 'name'], ['property', 'name'], ...SOURCE_LOCATION],
  // https://html.spec.whatwg.org/multipage/browsers.html#coep-report-type
  coep: [
    ['type', 'name'],
    ['blockedURL', 'url'],
    ['disposition', 'name'],
    ['destination', 'name'],
  ],
  // https://w3c.github.io/webappsec-permissions-policy/#reporting
  'permissions-policy-violation': [
    ['featureId', 'name'],
    ['disposition', 'name'],
    ...SOURCE_LOCATION,
    ['allowAttribute', 'name'],
    ['srcAttribute', 'url'],
  ],
  'potential-permissions-policy-violation': [
    ['featureId', 'name'],
    ['disposition', 'name'],
    ...SOURCE_LOCATION,
    ['allowAttribute', 'name'],
    ['srcAttribute', 'url'],
  ],
  // https://wicg.github.io/document-policy/#reporting
  'document-policy-violation': [['featureId', 'name'], ['disposition', 'name'], ['message', 'text'], ...SOURCE_LOCATION],
}

/** Legacy `report-uri` fields, renamed to the Reporting API's CSP body names. */
const LEGACY_CSP_FIELDS: ReadonlyArray<readonly [legacy: string, key: string, kind: FieldKind]> = [
  ['effective-directive', 'effectiveDirective', 'name'],
  ['blocked-uri', 'blockedURL', 'url'],
  ['document-uri', 'documentURL', 'url'],
  ['disposition', 'disposition', 'name'],
  ['source-file', 'sourceFile', 'url'],
  ['line-number', 'lineNumber', 'count'],
  ['column-number', 'columnNumber', 'count'],
  ['status-code', 'statusCode', 'count'],
]

/** Report types are lowercase tokens (`csp-violation`, `network-error`): anything else is not a report. */
const REPORT_TYPE = /^[a-z][a-z0-9-]{0,63}$/
const CAP: Record<'url' | 'name' | 'text' | 'date', number> = { url: CAPS.url, name: CAPS.name, text: CAPS.freeFormString, date: CAPS.short * 2 }

/**
 * Decodes a reports body: a JSON array of Reporting API reports (v1 `Reporting-Endpoints` and v0
 * `Report-To` send the same form), a legacy `{"csp-report": {…}}` object, or either one alone or in an
 * array. `receivedAt` turns a report's `age` into its `ts`.
 */
export function decodeReports(text: string, receivedAt: number): DecodedReports | RejectedReports {
  if (text.trim() === '') return reject(400, 'empty_body', 'The request body is empty: send a JSON array of reports, or a {"csp-report": …} object.')
  const parsed = parseJsonSafely(text)
  if (!parsed.ok) return reject(400, 'malformed_json', `The body is not valid JSON${parsed.where}.`)
  const items = Array.isArray(parsed.value) ? parsed.value : [parsed.value]
  if (items.length > MAX_REPORTS_PER_REQUEST) {
    return reject(413, 'too_many_reports', `A request may carry at most ${MAX_REPORTS_PER_REQUEST} reports.`)
  }
  const result: DecodedReports = { ok: true, events: [], problems: [], invalid: 0 }
  items.forEach((item, i) => {
    const outcome = decodeReport(item, receivedAt)
    if ('event' in outcome) {
      result.events.push(outcome.event)
      return
    }
    result.invalid++
    result.problems.push(problem(i + 1, outcome.path, outcome.code, outcome.detail))
  })
  return result
}

type Outcome = { event: ReportWireEvent } | { path: string; code: ProblemCode; detail?: string }

function decodeReport(item: unknown, receivedAt: number): Outcome {
  if (!isObject(item)) return { path: '', code: 'not_an_object' }
  if (Object.hasOwn(item, 'csp-report')) return decodeLegacyCsp(item['csp-report'])

  const type = item.type
  if (type === undefined) return { path: '/type', code: 'missing_type' }
  if (typeof type !== 'string') return { path: '/type', code: 'wrong_type', detail: 'must be string' }
  if (!REPORT_TYPE.test(type)) return { path: '/type', code: 'not_allowed', detail: 'must be a report type such as csp-violation' }

  // A report without a body object still says that something happened (a crash with no known reason).
  const body = allowedReportBody(type, isObject(item.body) ? item.body : {})

  const event: ReportWireEvent = { type: 'report', report: { type, body } }
  const url = pageUrl(item.url)
  if (url !== undefined) event.view = pageView(url)
  // `age`: how long the browser held the report before sending it, in ms.
  const age = item.age
  if (typeof age === 'number' && Number.isFinite(age) && age >= 0) event.ts = Math.max(0, receivedAt - age)
  return { event }
}

/**
 * Only the allow-listed fields of a report body. Also applied to `report` events sent to the ingest
 * endpoint (decodeBatch.ts), so no client can store a body's `user_agent`, `sample` or `referrer` there.
 */
export function allowedReportBody(type: string, source: Record<string, unknown>): FreeForm {
  const body: FreeForm = {}
  for (const [key, kind] of BODY_FIELDS[type] ?? GENERIC_FIELDS) keep(body, key, own(source, key), kind)
  return body
}

function decodeLegacyCsp(report: unknown): Outcome {
  if (!isObject(report)) return { path: '/csp-report', code: 'wrong_type', detail: 'must be object' }
  const body: FreeForm = {}
  for (const [legacy, key, kind] of LEGACY_CSP_FIELDS) keep(body, key, own(report, legacy), kind)
  // CSP level 2 browsers send only `violated-directive`, with its source list ("script-src 'self'").
  const violated = own(report, 'violated-directive')
  if (body.effectiveDirective === undefined && typeof violated === 'string') keep(body, 'effectiveDirective', violated.trim().split(/\s/)[0], 'name')
  const ordered = orderedLike(body, BODY_FIELDS['csp-violation']!)
  const event: ReportWireEvent = { type: 'report', report: { type: 'csp-violation', body: ordered } }
  const url = pageUrl(own(report, 'document-uri'))
  if (url !== undefined) event.view = pageView(url)
  return { event }
}

/**
 * The page the report is about. A report does not say which page view sent it, so `view.id` is empty;
 * `view.url` is scrubbed like every page URL, and the app's path filters apply to it.
 */
function pageView(url: string): NonNullable<ReportWireEvent['view']> {
  return { id: '', url }
}

function pageUrl(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? truncate(value, CAPS.url) : undefined
}

function keep(body: FreeForm, key: string, value: unknown, kind: FieldKind): void {
  switch (kind) {
    case 'url':
    case 'name':
    case 'text':
      if (typeof value === 'string' && value !== '') body[key] = truncate(value, CAP[kind])
      return
    case 'count':
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) body[key] = value
      return
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) body[key] = value
      return
    case 'boolean':
      if (typeof value === 'boolean') body[key] = value
      return
    case 'date':
      if (typeof value === 'string' && value !== '') body[key] = truncate(value, CAP.date)
      else if (typeof value === 'number' && Number.isFinite(value) && value >= 0) body[key] = value
      return
  }
}

/** The body's fields in the order of the Reporting API's list, so both CSP forms store alike. */
function orderedLike(body: FreeForm, fields: FieldList): FreeForm {
  const ordered: FreeForm = {}
  for (const [key] of fields) if (body[key] !== undefined) ordered[key] = body[key]
  return ordered
}

function own(source: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(source, key) ? source[key] : undefined
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Problems name the report's position, a JSON pointer and a code; never the sender's text. */
function problem(index: number, path: string, code: ProblemCode, detail?: string): Problem {
  const message = `report ${index}: ${path === '' ? 'the report' : path} ${detail ?? PROBLEM_MESSAGES[code] ?? 'is not valid'} (${code})`
  return { index, path, code, message }
}

const PROBLEM_MESSAGES: Partial<Record<ProblemCode, string>> = {
  not_an_object: 'must be a JSON object',
  missing_type: 'is required',
}

function reject(status: 400 | 413, code: RejectedReports['code'], message: string): RejectedReports {
  return { ok: false, status, code, message }
}

import { rateVital } from '../../analytics/webVitals.js'
import { ERROR_SOURCES, FRUSTRATION_TYPES, LOADING_TYPES, RESOURCE_TYPES, VITAL_RATINGS, type VITAL_NAMES } from '../../protocol/wireSchema.js'
import { parseDdtags } from './parseDdtags.js'
import { rewriteDatadogStack } from './rewriteDatadogStack.js'
import { asObject } from '../untrusted.js'

export { parseDdtags } from './parseDdtags.js'

/**
 * One event of a Datadog RUM batch (what @datadog/browser-rum v5–v7 posts: one JSON event per line) becomes
 * Tacit wire events (docs/PROTOCOL.md) through an allow-list (issue 9, "Datadog RUM intake"). The output is
 * still untrusted wire data: the caller runs it through decodeBatch, which validates and caps it, and the
 * privacy pipeline then treats it like any other event. Checked against payloads captured from the real SDK
 * (test/fixtures/datadog/, see its README).
 *
 * Datadog durations are nanoseconds; Tacit's are milliseconds. Read, and where it goes:
 * - every event: `date` → `ts`; `service`; `version` → `release`; `env` from the event's own `ddtags` (v7)
 *   or else the batch's (`ddtags` in the query, v5/v6), which also stand in for a missing service or version;
 *   `view` { id, url, referrer, name } → `view`; `context` (global, view and event attributes) → `context`;
 *   `usr` { id, name, email } → `usr` (the server drops it unless the app allows user identity).
 * - `view`: `_dd.document_version` → `view.version` (the server keeps the highest per view id), loading type,
 *   time spent, navigation timings and the action/error/resource/long task counts. A view whose `is_active`
 *   is false has ended and its values are final: it also yields its Web Vitals as `vital` events (LCP, FCP,
 *   CLS, INP, TTFB, with the element's selector), so each view's vitals are stored once — see DatadogBatch
 *   for the last view of a page, which the SDK never ends.
 * - `action`: type, `target.name` → name, frustration types, `loading_time` → duration.
 * - `error`: message, type, stack (printed back in V8's format, see rewriteDatadogStack), `handling` →
 *   handled, source, fingerprint.
 * - `resource`: url, duration, type (`native` → `other`), method, status code, size, transfer size,
 *   `render_blocking_status` → render_blocking.
 * - `long_task`: duration, `entry_type` → type, blocking duration, and the longest script's URL, function,
 *   invoker and invoker type.
 * - `vital` of type `duration` (`addDurationVital`, `start/stopDurationVital`): a `custom` event named after
 *   the vital, its duration in `context.vital_duration_ms`. Datadog's Web Vitals never come as `vital`
 *   events: they are fields of the view.
 *
 * Skipped as `unsupported` (valid Datadog events Tacit does not store): `telemetry` (the SDK's own
 * diagnostics, sent in batches of their own), `view_update` (partial view diffs, off by default behind a
 * proxy: `betaEnableViewUpdates`), `transition` (mobile), and operation-step and WebSocket vitals.
 * Anything else, or an event missing what Tacit requires, is `invalid`.
 *
 * Never read (so never stored): `session` (the SDK's session id: Tacit's sessions come from its own visitor
 * map), `_dd` (bar the document version), `application`, `tab` (a random per-tab id v7 keeps in
 * sessionStorage as `_dd_tab_id`), `usr.anonymous_id`, `account`, `device`, `os`, `display`,
 * `connectivity`, `ci_test`, `synthetics`, `feature_flags`, `privacy`, `container`, `action.id` lists,
 * resource timings and headers, error causes and `handling_stack` (the SDK's own call site), and anything else.
 */

export type DatadogTranslation = { event: Record<string, unknown> } | { skip: 'unsupported' | 'invalid' }

export interface DatadogBatch {
  /** The batch's `ddtags` (query parameter, v5/v6), parsed with parseDdtags. */
  tags: Record<string, string>
  /**
   * The batch was sent as the page may be exiting (`_dd.api=beacon` in the intake query: the SDK uses
   * sendBeacon only then — tab hidden, page hide, before unload). The SDK never ends the last view of a page
   * (it is sent one last time, still `is_active: true`, when the page unloads), so with only ended views
   * counted a multi-page site's views would have no vitals. When true, the active views of the batch yield
   * their vitals too; a tab hidden and shown again then sends them again later (stored twice).
   */
  pageExit?: boolean
}

type VitalName = (typeof VITAL_NAMES)[number]
type Json = Record<string, unknown>

const INVALID: DatadogTranslation = { skip: 'invalid' }
const UNSUPPORTED: DatadogTranslation = { skip: 'unsupported' }

/** Datadog's action types Tacit has (it never sends `submit`). */
const ACTION_TYPES = new Set(['click', 'tap', 'scroll', 'swipe', 'custom', 'application_start', 'back'])
const UNSUPPORTED_TYPES = new Set(['telemetry', 'view_update', 'transition'])
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
const NS_PER_MS = 1e6

export function translateDatadogEvent(raw: unknown, batch: DatadogBatch): DatadogTranslation[] {
  try {
    return translate(raw, batch)
  } catch {
    // Every read below is type-checked; this only keeps the promise of never throwing on hostile input
    // (a value that is not plain JSON, say).
    return [INVALID]
  }
}

function translate(raw: unknown, batch: DatadogBatch): DatadogTranslation[] {
  const e = asObject(raw)
  if (!e) return [INVALID]
  const type = own(e, 'type')
  if (typeof type !== 'string') return [INVALID]
  if (UNSUPPORTED_TYPES.has(type)) return [UNSUPPORTED]
  switch (type) {
    case 'view':
      return translateView(e, batch)
    case 'action':
      return [one(e, batch, 'action', action(asObject(own(e, 'action'))))]
    case 'error':
      return [one(e, batch, 'error', error(asObject(own(e, 'error'))))]
    case 'resource':
      return [one(e, batch, 'resource', resource(asObject(own(e, 'resource'))))]
    case 'long_task':
      return [one(e, batch, 'long_task', longTask(asObject(own(e, 'long_task'))))]
    case 'vital':
      return [vital(e, batch)]
    default:
      return [INVALID]
  }
}

/** The fields every Tacit event may carry. */
function common(e: Json, batch: DatadogBatch): Json {
  const out: Json = {}
  const ts = finite(own(e, 'date'))
  if (ts !== undefined && ts >= 0) out.ts = ts
  const eventTags = parseDdtags(text(own(e, 'ddtags')))
  const tag = (key: string) => nonEmpty(own(eventTags, key)) ?? nonEmpty(own(batch.tags, key))
  const service = nonEmpty(own(e, 'service')) ?? tag('service')
  if (service !== undefined) out.service = service
  const env = tag('env')
  if (env !== undefined) out.env = env
  const release = nonEmpty(own(e, 'version')) ?? tag('version')
  if (release !== undefined) out.release = release
  const view = viewRef(asObject(own(e, 'view')))
  if (view) out.view = view
  const context = freeForm(own(e, 'context'))
  if (context) out.context = context
  const usr = user(asObject(own(e, 'usr')))
  if (usr) out.usr = usr
  return out
}

function one(e: Json, batch: DatadogBatch, type: string, body: Json | undefined): DatadogTranslation {
  if (!body) return INVALID
  return { event: { type, ...common(e, batch), [type]: body } }
}

function viewRef(view: Json | undefined): Json | undefined {
  const id = text(own(view, 'id'))
  const url = text(own(view, 'url'))
  if (id === undefined || url === undefined) return undefined
  const ref: Json = { id, url }
  // The SDK sends an empty referrer for a page opened directly.
  const referrer = nonEmpty(own(view, 'referrer'))
  if (referrer !== undefined) ref.referrer = referrer
  const name = nonEmpty(own(view, 'name'))
  if (name !== undefined) ref.name = name
  return ref
}

function translateView(e: Json, batch: DatadogBatch): DatadogTranslation[] {
  const v = asObject(own(e, 'view'))
  const ref = viewRef(v)
  if (!v || !ref) return [INVALID]
  const view: Json = { ...ref }
  const loadingType = own(v, 'loading_type')
  if (isOneOf(LOADING_TYPES, loadingType)) view.loading_type = loadingType
  const version = own(asObject(own(e, '_dd')), 'document_version')
  if (Number.isSafeInteger(version) && (version as number) >= 0) view.version = version
  for (const field of ['time_spent', 'first_byte', 'dom_interactive', 'dom_content_loaded', 'dom_complete', 'load_event']) {
    const ms = nsToMs(own(v, field))
    if (ms !== undefined) view[field] = ms
  }
  for (const kind of ['action', 'error', 'resource', 'long_task']) {
    const n = count(own(asObject(own(v, kind)), 'count'))
    if (n !== undefined) view[`${kind}_count`] = n
  }
  const base = common(e, batch)
  const out: DatadogTranslation[] = [{ event: { type: 'view', ...base, view } }]
  if (own(v, 'is_active') === false || batch.pageExit === true) {
    for (const vital of webVitals(v)) out.push({ event: { type: 'vital', ...base, view: ref, vital } })
  }
  return out
}

/** The view's Web Vitals, as Datadog measured them (browser-rum-core's viewCollection). */
function webVitals(v: Json): Json[] {
  const performance = asObject(own(v, 'performance'))
  const selector = (field: string, metric: string) =>
    nonEmpty(own(v, `${field}_target_selector`)) ?? nonEmpty(own(asObject(own(performance, metric)), 'target_selector'))
  const measured: Array<[VitalName, number | undefined, string | undefined]> = [
    ['LCP', nsToMs(own(v, 'largest_contentful_paint')), selector('largest_contentful_paint', 'lcp')],
    ['FCP', nsToMs(own(v, 'first_contentful_paint')), undefined],
    ['CLS', nonNegative(own(v, 'cumulative_layout_shift')), selector('cumulative_layout_shift', 'cls')],
    ['INP', nsToMs(own(v, 'interaction_to_next_paint')), selector('interaction_to_next_paint', 'inp')],
    ['TTFB', nsToMs(own(v, 'first_byte')), undefined],
  ]
  const vitals: Json[] = []
  for (const [name, value, target] of measured) {
    if (value === undefined) continue
    const vital: Json = { name, value, rating: VITAL_RATINGS[rateVital(name, value)] }
    if (target !== undefined) vital.target = target
    vitals.push(vital)
  }
  return vitals
}

function action(a: Json | undefined): Json | undefined {
  const type = own(a, 'type')
  const name = text(own(asObject(own(a, 'target')), 'name'))
  if (typeof type !== 'string' || !ACTION_TYPES.has(type) || name === undefined) return undefined
  const out: Json = { type, name }
  const frustration = own(asObject(own(a, 'frustration')), 'type')
  if (Array.isArray(frustration)) {
    // Mobile SDKs' rage_tap and error_tap are not in Tacit's list (nor sent by the browser SDK).
    const kept = FRUSTRATION_TYPES.filter((kind) => frustration.includes(kind))
    if (kept.length > 0) out.frustration = kept
  }
  const duration = nsToMs(own(a, 'loading_time'))
  if (duration !== undefined) out.duration = duration
  return out
}

function error(er: Json | undefined): Json | undefined {
  const message = text(own(er, 'message'))
  if (message === undefined) return undefined
  const out: Json = { message }
  const type = nonEmpty(own(er, 'type'))
  if (type !== undefined) out.type = type
  const stack = nonEmpty(own(er, 'stack'))
  if (stack !== undefined) out.stack = rewriteDatadogStack(stack)
  const handling = own(er, 'handling')
  if (handling === 'handled' || handling === 'unhandled') out.handled = handling === 'handled'
  // Datadog's sources are Tacit's, plus `webview` (errors of a native app's web view).
  const source = own(er, 'source')
  out.source = isOneOf(ERROR_SOURCES, source) ? source : 'custom'
  const fingerprint = nonEmpty(own(er, 'fingerprint'))
  if (fingerprint !== undefined) out.fingerprint = fingerprint
  return out
}

function resource(r: Json | undefined): Json | undefined {
  const url = text(own(r, 'url'))
  const duration = nsToMs(own(r, 'duration'))
  if (url === undefined || duration === undefined) return undefined
  const out: Json = { url, duration }
  const type = own(r, 'type')
  // `native`: a resource of a mobile app's own code, not a web resource type.
  if (typeof type === 'string') out.type = isOneOf(RESOURCE_TYPES, type) ? type : 'other'
  const method = nonEmpty(own(r, 'method'))
  if (method !== undefined) out.method = method
  const status = own(r, 'status_code')
  if (Number.isInteger(status) && (status as number) >= 0 && (status as number) <= 999) out.status_code = status
  for (const field of ['size', 'transfer_size']) {
    const bytes = count(own(r, field))
    if (bytes !== undefined) out[field] = bytes
  }
  const blocking = own(r, 'render_blocking_status')
  if (blocking === 'blocking' || blocking === 'non-blocking') out.render_blocking = blocking === 'blocking'
  return out
}

function longTask(t: Json | undefined): Json | undefined {
  const duration = nsToMs(own(t, 'duration'))
  if (duration === undefined) return undefined
  // v5+ sends `long-task` or `long-animation-frame`; older SDKs sent no entry type (Long Tasks API only).
  const type = own(t, 'entry_type') === 'long-animation-frame' ? 'long-animation-frame' : 'longtask'
  const out: Json = { duration, type }
  const blocking = nsToMs(own(t, 'blocking_duration'))
  if (blocking !== undefined) out.blocking_duration = blocking
  const script = longestScript(own(t, 'scripts'))
  if (script) {
    const fields: Array<[string, string]> = [
      ['source_url', 'script_url'],
      ['source_function_name', 'script_function'],
      ['invoker', 'invoker'],
      ['invoker_type', 'invoker_type'],
    ]
    for (const [from, to] of fields) {
      const value = nonEmpty(own(script, from))
      if (value !== undefined) out[to] = value
    }
  }
  return out
}

/** The script that ran longest in a long animation frame: the one the frame is most likely about. */
function longestScript(scripts: unknown): Json | undefined {
  if (!Array.isArray(scripts)) return undefined
  let longest: Json | undefined
  let longestDuration = -1
  for (const item of scripts) {
    const script = asObject(item)
    if (!script) continue
    const duration = nonNegative(own(script, 'duration')) ?? 0
    if (duration > longestDuration) {
      longest = script
      longestDuration = duration
    }
  }
  return longest
}

function vital(e: Json, batch: DatadogBatch): DatadogTranslation {
  const v = asObject(own(e, 'vital'))
  const type = own(v, 'type')
  if (typeof type !== 'string') return INVALID
  // `operation_step` (startOperation/succeedOperation…) and `websocket` vitals: not durations.
  if (type !== 'duration') return UNSUPPORTED
  const name = nonEmpty(own(v, 'name'))
  if (name === undefined) return INVALID
  // v5 put the duration under `custom`, keyed by the vital's name; later versions in `duration`.
  const ms = nsToMs(own(v, 'duration')) ?? nsToMs(own(asObject(own(v, 'custom')), name))
  if (ms === undefined) return INVALID
  const base = common(e, batch)
  return { event: { type: 'custom', ...base, context: { ...(base.context as Json | undefined), vital_duration_ms: ms }, custom: { name } } }
}

function user(usr: Json | undefined): Json | undefined {
  if (!usr) return undefined
  const out: Json = {}
  for (const field of ['id', 'name', 'email']) {
    const value = own(usr, field)
    // setUser takes any value; the SDK's own sanitizer keeps numbers as numbers.
    const kept = typeof value === 'number' && Number.isFinite(value) ? String(value) : nonEmpty(value)
    if (kept !== undefined) out[field] = kept
  }
  return Object.keys(out).length > 0 ? out : undefined
}

/** A shallow copy without prototype keys; deeper levels are capped and cleaned by the decoder. */
function freeForm(value: unknown): Json | undefined {
  const source = asObject(value)
  if (!source) return undefined
  const out: Json = {}
  let any = false
  for (const key of Object.keys(source)) {
    if (FORBIDDEN_KEYS.has(key)) continue
    out[key] = source[key]
    any = true
  }
  return any ? out : undefined
}

/** An own property only: a missing key must not find Object.prototype's `constructor` and the like. */
function own(object: Json | undefined, key: string): unknown {
  return object !== undefined && Object.hasOwn(object, key) ? object[key] : undefined
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

function nonNegative(value: unknown): number | undefined {
  const n = finite(value)
  return n !== undefined && n >= 0 ? n : undefined
}

/** Nanoseconds (Datadog's ServerDuration) to milliseconds; a negative or non-numeric duration is dropped. */
function nsToMs(value: unknown): number | undefined {
  const ns = nonNegative(value)
  return ns === undefined ? undefined : ns / NS_PER_MS
}

function count(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined
}

function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value)
}

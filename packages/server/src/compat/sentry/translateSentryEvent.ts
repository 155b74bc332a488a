import { MAX_FRAMES } from '../../errors/parseStack.js'
import { CAPS, LIMITS, truncate } from '../../protocol/limits.js'
import { asObject, asString } from '../untrusted.js'

/**
 * A Sentry event (an envelope's `event` item, or the JSON body of the legacy `/store/` endpoint) becomes one
 * Tacit `error` event (docs/PROTOCOL.md) through an allow-list (issue 9, "Sentry intake"): only the fields
 * named here are read, and everything else an SDK sends is left behind. The output is still untrusted wire
 * data: the caller runs it through decodeBatch, which validates and caps it, and the privacy pipeline then
 * treats it like any other event (scrubbing, identity setting, sessions from Tacit's own visitor map).
 *
 * Read, and where it goes:
 * - `exception.values` (or a bare array, as old SDKs sent): Sentry orders a chain oldest first, so the LAST
 *   value is the error that was thrown or captured and its causes come before it (checked on
 *   @sentry/browser and @sentry/node 11: `new Error('…', { cause })` arrives as [cause, error], with
 *   `mechanism.exception_id` 1 and 0). The last value gives `error.type`, `error.message` (its `value`),
 *   `error.stack` and `error.handled` (its `mechanism.handled`); the others are kept as
 *   `context.exception_chain`, type and message only, nearest cause first.
 * - The stack is rebuilt from `stacktrace.frames` in V8's format, the one errors/parseStack.ts reads and
 *   source maps resolve: Sentry lists frames oldest first, V8 prints the newest first, so the order is
 *   reversed; each frame is `    at function (file:line:column)`, with `abs_path` preferred to `filename`.
 * - `message` / `logentry` (captureMessage): the message of an event without an exception, and its text when
 *   the SDK attached a synthetic exception with no type (what @sentry/browser 11 does).
 *   `logentry.params` are not substituted: they are the values a log call formats, often user data.
 * - `fingerprint` → `error.fingerprint` (see fingerprintOf); `release`; `environment` → `env`;
 *   `timestamp` (seconds since the epoch, or an ISO date) → `ts` in ms.
 * - `request.url` → `view.url`, the page the error happened on (for a server SDK, the URL of the request
 *   being handled); `transaction` → `view.name` (the route). `view.id` is empty, as for browser reports
 *   (decodeReports.ts): Sentry has no page-view id, and one made up per event (from `event_id`, say) would
 *   count every error as a page view of its own.
 * - `user` → `usr` ({ id, username → name, email }); the server drops `usr` unless the app allows identity.
 * - Into `context` (free-form, scrubbed by the server like any context): `tags` → `context.tags`;
 *   `breadcrumbs` → `context.breadcrumbs` (the last MAX_BREADCRUMBS, each { category, message, level,
 *   timestamp }); `extra` → `context.extra` (it is the site's own free-form data, exactly what `context` is
 *   for); `level`, `platform`, `logger`, `dist` and `event_id` (a random id the SDK also shows the
 *   application, useful to find one event) as themselves.
 *
 * Never read (so never stored): `request.headers` (the User-Agent, cookies, Referer, Authorization…),
 * `request.cookies`, `request.env` (server SDKs put REMOTE_ADDR there), `request.data`, `request.query_string`,
 * `user.ip_address` (a real address from server SDKs, `{{auto}}` asking Sentry to fill it in from browsers),
 * `user.geo`, `user.data`, `contexts` (browser, os, device, runtime, culture, trace, and the site's own
 * `setContext` entries: Tacit derives the device from the User-Agent in the request's scope, and
 * `setExtra`/`setTag` reach `context`), `sdk`, `debug_meta`, `modules`, `server_name` (a host name),
 * `threads`, `spans`, `measurements`, stack frames' `vars`, `pre_context`/`context_line`/`post_context`
 * (source lines, which Tacit gets from uploaded source maps), breadcrumbs' `data` (bar the method, URL and
 * status of an HTTP breadcrumb, and a navigation's from/to, which make its message), and anything else.
 */

export type TranslatedSentryEvent = { event: Record<string, unknown> } | { skip: 'invalid' }

/** Breadcrumbs kept, the most recent. Sentry keeps up to 100; the last few explain an error. */
export const MAX_BREADCRUMBS = 20
/** Other exceptions of a chain kept in `context.exception_chain`. Sentry's linkedErrors stops at 5. */
export const MAX_CHAIN = 10
/** Tags kept. Sentry's own limit is on lengths (keys 32, values 200), not on their number. */
export const MAX_TAGS = 100

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

// Keys that would reach Object.prototype when assigned (the decoder drops them too).
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
// Sentry's server-side placeholders: `{{auto}}` asks it to infer the value (an IP address) from the request.
const PLACEHOLDER = /^\{\{\s*[a-z_.]+\s*\}\}$/
// Sentry event types that are errors; `default` is a message. Others (`transaction`, `csp`, `feedback`…)
// are not errors and never arrive as `event` items from current SDKs.
const ERROR_TYPES = new Set(['error', 'default'])

export function translateSentryEvent(raw: unknown): TranslatedSentryEvent {
  try {
    return translate(raw)
  } catch {
    // Every read below is type-checked; this only keeps the promise of never throwing on hostile input.
    return { skip: 'invalid' }
  }
}

function translate(raw: unknown): TranslatedSentryEvent {
  const event = asObject(raw)
  if (!event) return { skip: 'invalid' }
  if (event.type !== undefined && !(typeof event.type === 'string' && ERROR_TYPES.has(event.type))) return { skip: 'invalid' }

  const values = exceptionValues(event.exception)
  const primary = values[values.length - 1]
  const eventMessage = messageOf(event)

  const type = primary ? oneLine(asString(primary.type)) : undefined
  // A synthetic exception without a type is captureMessage's (or captureException of a string): its `value`
  // is the message itself.
  const message = (primary ? asString(primary.value) : undefined) ?? eventMessage ?? ''
  const frames = primary ? framesOf(primary.stacktrace) : framesOf(event.stacktrace)
  const stack = frames.length > 0 ? stackOf(type, message, frames) : undefined
  if (message === '' && !type && !stack) return { skip: 'invalid' }

  const mechanism = primary ? asObject(primary.mechanism) : undefined
  const handled = typeof mechanism?.handled === 'boolean' ? mechanism.handled : primary ? undefined : true
  const isMessage = eventMessage !== undefined && !type

  const error: Record<string, unknown> = { message: truncate(message, CAPS.message) }
  if (type) error.type = truncate(type, CAPS.name)
  if (stack) error.stack = truncate(stack, CAPS.stack)
  if (handled !== undefined) error.handled = handled
  // As @tacit/node reports them: uncaught → source, captureMessage → logger, captureException → custom;
  // captureConsoleIntegration marks its events with logger "console".
  error.source = handled === false ? 'source' : event.logger === 'console' ? 'console' : isMessage ? 'logger' : 'custom'
  const fingerprint = fingerprintOf(event.fingerprint, { type, message, transaction: asString(event.transaction), level: asString(event.level) })
  if (fingerprint) error.fingerprint = truncate(fingerprint, CAPS.name)

  const out: Record<string, unknown> = { type: 'error', error }
  const ts = timestampMs(event.timestamp)
  if (ts !== undefined) out.ts = ts
  const release = asString(event.release)
  if (release) out.release = truncate(release, CAPS.name)
  const env = asString(event.environment)
  if (env) out.env = truncate(env, CAPS.name)

  const request = asObject(event.request)
  const url = request ? asString(request.url) : undefined
  const transaction = asString(event.transaction)
  if (url) {
    const view: Record<string, unknown> = { id: '', url: truncate(url, CAPS.url) }
    if (transaction) view.name = truncate(transaction, CAPS.name)
    out.view = view
  }

  const usr = userOf(event.user)
  if (usr) out.usr = usr

  const context: JsonObject = {}
  const platform = shortString(event.platform)
  if (platform) context.platform = platform
  const level = shortString(event.level)
  if (level) context.level = level
  const logger = shortString(event.logger)
  if (logger) context.logger = logger
  const dist = asString(event.dist)
  if (dist) context.dist = truncate(dist, CAPS.name)
  const eventId = shortString(event.event_id, CAPS.id)
  if (eventId) context.event_id = eventId
  if (transaction && !url) context.transaction = truncate(transaction, CAPS.freeFormString)
  const tags = tagsOf(event.tags)
  if (tags) context.tags = tags
  const chain = chainOf(values)
  if (chain) context.exception_chain = chain
  const breadcrumbs = breadcrumbsOf(event.breadcrumbs)
  if (breadcrumbs) context.breadcrumbs = breadcrumbs
  const extra = asObject(event.extra)
  // `extra` is context's child: two levels of the decoder's depth budget are already spent.
  if (extra) {
    const copy = copyObject(extra, 2)
    if (Object.keys(copy).length > 0) context.extra = copy
  }
  if (Object.keys(context).length > 0) out.context = context

  fitEventSize(out, error, context)
  return { event: out }
}

// ---------------------------------------------------------------------------------------------------------
// Exceptions and stacks

function exceptionValues(exception: unknown): Array<Record<string, unknown>> {
  const list = Array.isArray(exception) ? exception : asObject(exception)?.values
  if (!Array.isArray(list)) return []
  const values: Array<Record<string, unknown>> = []
  for (const value of list) {
    const object = asObject(value)
    if (object) values.push(object)
  }
  return values
}

/** The other exceptions of the chain, nearest cause first (Sentry's order reversed), type and message only. */
function chainOf(values: Array<Record<string, unknown>>): Json[] | undefined {
  if (values.length < 2) return undefined
  const chain: Json[] = []
  for (let i = values.length - 2; i >= 0 && chain.length < MAX_CHAIN; i--) {
    const value = values[i] as Record<string, unknown>
    const entry: JsonObject = {}
    const type = asString(value.type)
    if (type) entry.type = truncate(type, CAPS.name)
    const message = asString(value.value)
    if (message !== undefined) entry.value = truncate(message, CAPS.freeFormString)
    if (Object.keys(entry).length > 0) chain.push(entry)
  }
  return chain.length > 0 ? chain : undefined
}

interface Frame {
  function?: string
  file?: string
  line?: number
  column?: number
}

/** Sentry frames, oldest first, as the newest MAX_FRAMES: deeper frames never reach grouping or display. */
function framesOf(stacktrace: unknown): Frame[] {
  const list = asObject(stacktrace)?.frames
  if (!Array.isArray(list)) return []
  const frames: Frame[] = []
  for (let i = Math.max(0, list.length - MAX_FRAMES); i < list.length; i++) {
    const raw = asObject(list[i])
    if (!raw) continue
    const frame: Frame = {}
    const name = oneLine(asString(raw.function))
    // Sentry's stack parsers write an anonymous method as `?` (`Object.<anonymous>` → `Object.?`): print V8's.
    if (name) frame.function = name.endsWith('.?') ? `${name.slice(0, -1)}<anonymous>` : name
    const file = oneLine(asString(raw.abs_path) || asString(raw.filename))
    if (file) frame.file = file
    const line = position(raw.lineno)
    if (line !== undefined) frame.line = line
    const column = position(raw.colno)
    if (column !== undefined) frame.column = column
    frames.push(frame)
  }
  return frames
}

/** Characters of the message repeated in the stack's first line (the whole message is `error.message`). */
const STACK_HEADER_CAP = 1024

/**
 * `Type: message` and one `    at …` line per frame, newest first, as V8 prints a stack. Only the message's
 * first line goes into the header, cut at STACK_HEADER_CAP: a later line shaped like a frame would otherwise
 * be read as one. A frame without a function is printed `at file:line:column`, as V8 prints
 * anonymous frames; one without a file gets V8's `<anonymous>`.
 */
function stackOf(type: string | undefined, message: string, frames: Frame[]): string {
  const firstLine = truncate(oneLine(message.split('\n', 1)[0]) ?? '', STACK_HEADER_CAP)
  let stack = type && firstLine ? `${type}: ${firstLine}` : type || firstLine
  for (let i = frames.length - 1; i >= 0; i--) {
    const frame = frames[i] as Frame
    let location = frame.file ?? '<anonymous>'
    if (frame.line !== undefined) location += frame.column !== undefined ? `:${frame.line}:${frame.column}` : `:${frame.line}`
    const name = frame.function && frame.function !== '?' ? frame.function : undefined
    const line = `\n    at ${name ? `${name} (${location})` : location}`
    // Whole lines only: the decoder's cap would cut the last frame in the middle of its position.
    if (stack.length + line.length > CAPS.stack) break
    stack += line
  }
  return stack
}

function position(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

// ---------------------------------------------------------------------------------------------------------
// Message, fingerprint, time, user

/** captureMessage's text: `logentry` (the current name), else the legacy `message`, a string or an object. */
function messageOf(event: Record<string, unknown>): string | undefined {
  for (const field of [event.logentry, event['sentry.interfaces.Message'], event.message]) {
    if (typeof field === 'string') return field
    const entry = asObject(field)
    const text = entry ? (asString(entry.formatted) ?? asString(entry.message)) : undefined
    if (text !== undefined) return text
  }
  return undefined
}

/**
 * Sentry's `fingerprint` is a list; Tacit's a string that replaces grouping. `{{ default }}` means "Sentry's
 * own grouping", alone or extended (`['{{ default }}', 'checkout']`): Tacit cannot extend its grouping, and
 * the list joined with the placeholder in it would put unrelated errors into one issue, so such a fingerprint
 * is ignored and Tacit groups by stack. The variables Tacit knows (`{{ type }}`, `{{ message }}`,
 * `{{ transaction }}`, `{{ level }}`, and `{{ error.type }}`/`{{ error.value }}`) are filled in; any other
 * (`{{ function }}`, `{{ stack }}`…) cannot be, and makes the fingerprint ignored too. One value stands as
 * itself; several are written as a JSON array, so `['a b']` and `['a', 'b']` stay apart.
 */
function fingerprintOf(raw: unknown, known: { type?: string | undefined; message: string; transaction?: string | undefined; level?: string | undefined }): string | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined
  const variables: Record<string, string> = {
    type: known.type ?? '',
    'error.type': known.type ?? '',
    message: known.message,
    'error.value': known.message,
    transaction: known.transaction ?? '',
    level: known.level ?? '',
  }
  const parts: string[] = []
  for (const value of raw.slice(0, 32)) {
    let part: string
    if (typeof value === 'string') part = value
    else if (typeof value === 'number' && Number.isFinite(value)) part = String(value)
    else return undefined
    const variable = /^\{\{\s*([a-z_.]+)\s*\}\}$/.exec(part)?.[1]
    if (variable !== undefined) {
      const filled = variables[variable]
      if (filled === undefined) return undefined
      part = filled
    }
    parts.push(part)
  }
  return parts.length === 1 ? parts[0] : JSON.stringify(parts)
}

/** Seconds since the epoch (a float, as the JavaScript SDKs send) or an RFC 3339 date (older SDKs), in ms. */
function timestampMs(value: unknown): number | undefined {
  let ms: number | undefined
  if (typeof value === 'number') ms = value * 1000
  else if (typeof value === 'string') {
    const seconds = Number(value)
    ms = value.trim() !== '' && Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value)
  }
  // 8.64e15 ms is the last instant a Date can hold; the server clamps anything far off anyway.
  return ms !== undefined && Number.isFinite(ms) && ms >= 0 && ms <= 8.64e15 ? Math.round(ms) : undefined
}

/** `setUser`'s id, username and email; never `ip_address`, `geo`, `segment` or `data`. */
function userOf(raw: unknown): Record<string, string> | undefined {
  const user = asObject(raw)
  if (!user) return undefined
  const usr: Record<string, string> = {}
  const id = typeof user.id === 'number' && Number.isFinite(user.id) ? String(user.id) : asString(user.id)
  if (id && !PLACEHOLDER.test(id)) usr.id = truncate(id, CAPS.id)
  const name = asString(user.username) || asString(user.name)
  if (name && !PLACEHOLDER.test(name)) usr.name = truncate(name, CAPS.name)
  const email = asString(user.email)
  if (email && !PLACEHOLDER.test(email)) usr.email = truncate(email, CAPS.name)
  return Object.keys(usr).length > 0 ? usr : undefined
}

// ---------------------------------------------------------------------------------------------------------
// Context: tags, breadcrumbs, extra

/** `{ key: value }` (current SDKs) or `[[key, value], …]` (older ones); values as strings. */
function tagsOf(raw: unknown): JsonObject | undefined {
  const entries: Array<[unknown, unknown]> = []
  if (Array.isArray(raw)) {
    for (const pair of raw) if (Array.isArray(pair) && pair.length === 2) entries.push([pair[0], pair[1]])
  } else {
    const object = asObject(raw)
    if (object) for (const key of Object.keys(object)) entries.push([key, object[key]])
  }
  const tags: JsonObject = {}
  let count = 0
  for (const [key, value] of entries) {
    if (count === MAX_TAGS) break
    if (typeof key !== 'string' || key === '' || FORBIDDEN_KEYS.has(key)) continue
    const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined
    if (text === undefined) continue
    tags[truncate(key, CAPS.freeFormKey)] = truncate(text, CAPS.freeFormString)
    count++
  }
  return count > 0 ? tags : undefined
}

/** `{ values: [...] }` (the protocol) or a bare array (what the JavaScript SDKs send); the last MAX_BREADCRUMBS. */
function breadcrumbsOf(raw: unknown): Json[] | undefined {
  const list = Array.isArray(raw) ? raw : asObject(raw)?.values
  if (!Array.isArray(list)) return undefined
  const crumbs: Json[] = []
  for (let i = Math.max(0, list.length - MAX_BREADCRUMBS); i < list.length; i++) {
    const crumb = asObject(list[i])
    if (!crumb) continue
    const out: JsonObject = {}
    const category = shortString(crumb.category, CAPS.name)
    if (category) out.category = category
    const message = asString(crumb.message) ?? describeCrumbData(crumb)
    if (message) out.message = truncate(message, CAPS.freeFormString)
    const level = shortString(crumb.level)
    if (level) out.level = level
    const timestamp = timestampMs(crumb.timestamp)
    if (timestamp !== undefined) out.timestamp = timestamp
    if (Object.keys(out).length > 0) crumbs.push(out)
  }
  return crumbs.length > 0 ? crumbs : undefined
}

/**
 * HTTP and navigation breadcrumbs carry no message, only `data`: what Sentry's UI shows for them is made
 * from a few of its fields (`GET /api/price?sku=42 [200]`, `/cart → /checkout`); the rest of `data`
 * (console arguments, request bodies in some integrations) is never read.
 */
function describeCrumbData(crumb: Record<string, unknown>): string | undefined {
  const data = asObject(crumb.data)
  if (!data) return undefined
  if (crumb.type === 'http' || crumb.category === 'fetch' || crumb.category === 'xhr' || crumb.category === 'http') {
    const url = asString(data.url)
    if (!url) return undefined
    const method = shortString(data.method) ?? shortString(data['http.request.method'])
    const status = position(data.status_code)
    return `${method ? `${method} ` : ''}${url}${status !== undefined ? ` [${status}]` : ''}`
  }
  if (crumb.category === 'navigation') {
    const from = asString(data.from)
    const to = asString(data.to)
    if (from !== undefined && to !== undefined) return `${from} → ${to}`
  }
  return undefined
}

/**
 * A JSON copy of `source`, which sits at `depth` levels (context itself is level 1): values that would nest
 * past the decoder's depth limit become `[Object]` / `[Array]`, as Sentry's own normalize() writes them, so
 * a deep `extra` costs its deepest values, not the whole event (the decoder refuses an event nested too deep).
 */
function copyObject(source: Record<string, unknown>, depth: number): JsonObject {
  const copy: JsonObject = {}
  for (const key of Object.keys(source)) {
    if (FORBIDDEN_KEYS.has(key)) continue
    const value = copyValue(source[key], depth)
    if (value !== undefined) copy[truncate(key, CAPS.freeFormKey)] = value
  }
  return copy
}

function copyValue(value: unknown, depth: number): Json | undefined {
  if (typeof value === 'string') return truncate(value, CAPS.freeFormString)
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'boolean' || value === null) return value
  if (Array.isArray(value)) {
    if (depth + 1 > LIMITS.freeFormDepth) return '[Array]'
    return value.map((item) => copyValue(item, depth + 1) ?? null)
  }
  const object = asObject(value)
  if (!object) return undefined
  if (depth + 1 > LIMITS.freeFormDepth) return '[Object]'
  return copyObject(object, depth + 1)
}

// ---------------------------------------------------------------------------------------------------------
// Size

/**
 * The decoder drops a whole event over LIMITS.eventBytes, before it caps anything. A Sentry event can be
 * far larger than a Tacit one (`extra` of any size, 100 breadcrumbs, 50 frames with long URLs), and losing
 * the error for its trimmings would be wrong: shed context first (extra, breadcrumbs, chain, tags, then the
 * rest), then the message beyond STACK_HEADER_CAP characters, then the oldest frames (the newest decide the
 * issue), and only then the rest of the message and the stack.
 */
function fitEventSize(out: Record<string, unknown>, error: Record<string, unknown>, context: JsonObject): void {
  const fits = () => Buffer.byteLength(JSON.stringify(out)) <= LIMITS.eventBytes
  if (fits()) return
  for (const key of ['extra', 'breadcrumbs', 'exception_chain', 'tags']) {
    if (!(key in context)) continue
    delete context[key]
    if (fits()) return
  }
  delete out.context
  for (let round = 0; round < 100 && !fits(); round++) {
    const message = error.message as string
    const lines = typeof error.stack === 'string' ? error.stack.split('\n') : []
    if (message.length > STACK_HEADER_CAP) {
      error.message = truncate(message, Math.max(STACK_HEADER_CAP, Math.floor(message.length / 2)))
    } else if (lines.length > 2) {
      // The header and the newest half of the frames.
      error.stack = lines.slice(0, Math.max(2, Math.ceil(lines.length / 2))).join('\n')
    } else if (message.length > 0) {
      error.message = message.length === 1 ? '' : truncate(message, Math.floor(message.length / 2))
    } else if (lines.length > 0) {
      delete error.stack
    } else {
      return
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading untrusted values


/** A short identifier-like string (level, platform, method…): longer ones are not what SDKs send. */
function shortString(value: unknown, cap: number = CAPS.short): string | undefined {
  return typeof value === 'string' && value !== '' ? truncate(value, cap) : undefined
}

/** Line breaks inside a function name or file would split a stack line in two. */
function oneLine(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  return /[\r\n\u2028\u2029]/.test(value) ? value.replace(/[\r\n\u2028\u2029]+/g, ' ') : value
}

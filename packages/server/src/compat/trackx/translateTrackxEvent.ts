import { CAPS, LIMITS, truncate } from '../../protocol/limits.js'
import { parseJsonSafely } from '../../protocol/parseJsonSafely.js'
import { asObject, asString } from '../untrusted.js'

/**
 * What the `trackx` client (npm `trackx` 0.6.1: its default, modern, lite, compat and node builds) posts to
 * `POST /v1/<key>/event` becomes one Tacit `error` event (docs/PROTOCOL.md), through an allow-list (issue 9,
 * "TrackX intake"). The output is still untrusted wire data: the caller runs it through decodeBatch, which
 * validates and caps it, and the privacy pipeline then treats it like any other event (scrubbing, sessions
 * from Tacit's own visitor map). Checked against requests captured from the real client in Chromium and Node
 * (test/fixtures/trackx/, see its README for the request shapes, retries and the localStorage lock).
 *
 * The body is one JSON object, `Content-Type: application/json` (so browsers send a CORS preflight first):
 * `{ name?, message, stack?, type, uri?, meta }`, built by the client as
 * `{ name: ex.name, message: String(ex.message || x), stack: ex.stack || new Error().stack, type, uri:
 * location.href, meta: { _c, _v, ...meta, ...extraMeta } }`, where `x` is what was thrown, rejected, logged or
 * passed to `sendEvent`. Read, and where it goes:
 * - `message` → `error.message`; `name` → `error.type` (`TypeError`…; absent when `x` was not an Error).
 * - `stack` → `error.stack`, as the browser printed it — except when `x` was not an Error (no `name`): the
 *   client then made the stack itself with `new Error()`, and its first two frames are the client's own
 *   (captureEvent and the onerror / unhandledrejection / console.error / sendEvent hook that called it,
 *   in every build and engine). Those two are removed (see withoutClientFrames): left in, they would make
 *   the client's code the culprit of every such issue and group unrelated errors by the client's frames. What
 *   remains is where console.error or sendEvent was called; for a thrown or rejected non-Error nothing
 *   remains, and the event has no stack (grouped by its message, as Tacit groups any stackless error).
 * - `type`, TrackX's EventType (trackx/types.ts) → `error.source` and `error.handled`, see TRACKX_EVENT_TYPES.
 *   Absent means UnknownEvent, as the TrackX server reads it. Report kinds (5–13, 96) are `unsupported`
 *   here: TrackX makes those from browser reports on `/report` (translateTrackxReport), never from a client
 *   event. Not an integer in 0–99 (the TrackX server's own bounds): `invalid`.
 * - `uri` (`location.href`) → `view.url`, scrubbed like every page URL; path filters apply to it. `view.id` is
 *   empty, as for browser reports (decodeReports.ts) and Sentry events: TrackX has no page-view id, and one
 *   made up per event would count every error as a page view of its own. The node client's `uri` is the
 *   `file://` path of the calling module, not a page: no view.
 * - `meta` → `context` (free-form; the server scrubs it), less what is lifted out of it: `release` (TrackX's
 *   documented example) or else `version` (its README's `trackx.meta.version = …`) → `release`;
 *   `environment` or else `env` → `env`; the client's reserved `_c` (client build) and `_v` (its version) →
 *   `context._trackx` { client, version, event_type } in words. Values nested past the decoder's depth limit
 *   become `[Object]` / `[Array]`; the largest entries go first if the event would exceed the size limit.
 * - `ts` is the receive time: the client sends no timestamp (it sends at once, or retries within 85 s).
 *
 * The client sends nothing else: no session, user or device fields, nothing in the query string. Unknown
 * fields (which the TrackX server refuses with 400) are ignored. What the request itself carries (Origin,
 * Referer, User-Agent and client hints; never cookies, unless the intake is same-origin with the site) is the
 * route's business, reduced in the request's scope like any request's.
 */

export type TrackxTranslation = { event: Record<string, unknown> } | { skip: 'invalid' | 'unsupported' }

interface EventKind {
  /** `context._trackx.event_type`. */
  name: string
  source: 'source' | 'console' | 'custom' | 'logger'
  /** Absent when the kind does not say. */
  handled?: boolean
}

/**
 * TrackX's EventType (trackx/types.ts) as Tacit reads it. Uncaught errors and unhandled rejections are
 * `source`, not handled (as Tacit's own SDK reports them); console.error calls are `console` and sendEvent
 * calls `custom`, both handled: the application reported them itself.
 */
export const TRACKX_EVENT_TYPES: Readonly<Record<number, EventKind>> = {
  1: { name: 'unhandled_error', source: 'source', handled: false },
  2: { name: 'unhandled_rejection', source: 'source', handled: false },
  3: { name: 'console_error', source: 'console', handled: true },
  4: { name: 'programmatic', source: 'custom', handled: true },
  70: { name: 'custom_logger', source: 'logger', handled: true },
  97: { name: 'unknown_event', source: 'custom' },
  98: { name: 'unknown', source: 'custom' },
  99: { name: 'test', source: 'custom' },
}
/** Kinds TrackX's server gives events it makes from browser reports (CSP 5 … Document Policy 13, Unknown 96). */
const REPORT_TYPES = new Set([5, 6, 7, 8, 9, 10, 11, 12, 13, 96])
const UNKNOWN_EVENT = 97
const OTHER_KIND: EventKind = { name: 'other', source: 'custom' }

/** The `_c` codes of trackx's builds (ClientType in trackx/types.ts). */
const CLIENTS: Readonly<Record<string, string>> = { d: 'default', l: 'lite', m: 'modern', e: 'extended', c: 'compat', n: 'node', _: 'custom' }

/**
 * Frames a client-made stack starts with: the function that called `new Error()` (captureEvent, or
 * sendCapturedEvent in lite) and the hook that called it. Checked in trackx 0.6.1's sources for every build.
 */
const CLIENT_FRAMES = 2

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

// Keys that would reach Object.prototype when assigned (the decoder drops them too).
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
/** Values copied from `meta` at most: JSON within the event size limit cannot hold more. */
const MAX_META_VALUES = 20_000

/**
 * `raw` is the request body: its text, or the value JSON.parse made of it. Never throws. `receivedAt` (ms
 * since the epoch) becomes the event's `ts`.
 */
export function translateTrackxEvent(raw: unknown, meta: { receivedAt: number }): TrackxTranslation {
  try {
    return translate(typeof raw === 'string' ? parsed(raw) : raw, meta.receivedAt)
  } catch {
    // Every read below is type-checked; this only keeps the promise of never throwing on hostile input
    // (a getter or a Proxy trap that throws, when the caller passes an object it did not parse itself).
    return { skip: 'invalid' }
  }
}

function parsed(text: string): unknown {
  const result = parseJsonSafely(text)
  return result.ok ? result.value : undefined
}

function translate(raw: unknown, receivedAt: number): TrackxTranslation {
  const payload = asObject(raw)
  if (!payload) return { skip: 'invalid' }

  const type = payload.type === undefined ? UNKNOWN_EVENT : payload.type
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > 99) return { skip: 'invalid' }
  if (REPORT_TYPES.has(type)) return { skip: 'unsupported' }
  const kind = TRACKX_EVENT_TYPES[type] ?? OTHER_KIND

  const name = asString(payload.name)
  const message = asString(payload.message)
  const rawStack = asString(payload.stack)
  if (!name && !message && !rawStack) return { skip: 'invalid' }

  // `ex.name` is read from what was thrown: every Error has one (from its prototype), anything else none.
  const stack = rawStack && (name ? rawStack : withoutClientFrames(rawStack))

  const error: Record<string, unknown> = { message: truncate(clean(message ?? ''), CAPS.message) }
  if (name) error.type = truncate(oneLine(clean(name)), CAPS.name)
  if (stack) error.stack = wholeLines(clean(stack), CAPS.stack)
  if (kind.handled !== undefined) error.handled = kind.handled
  error.source = kind.source

  const out: Record<string, unknown> = { type: 'error', error }
  if (Number.isFinite(receivedAt) && receivedAt >= 0) out.ts = receivedAt

  const metaIn = asObject(payload.meta)
  const client = metaIn ? clientOf(metaIn._c) : undefined
  const uri = asString(payload.uri)
  if (uri && client !== 'node') out.view = { id: '', url: truncate(clean(uri), CAPS.url) }

  const context: JsonObject = {}
  const lifted = new Set(['_c', '_v'])
  if (metaIn) {
    const release = liftString(metaIn, ['release', 'version'], lifted)
    if (release) out.release = truncate(release, CAPS.name)
    const env = liftString(metaIn, ['environment', 'env'], lifted)
    if (env) out.env = truncate(env, CAPS.name)
    const budget = { values: MAX_META_VALUES }
    for (const key of Object.keys(metaIn)) {
      if (lifted.has(key) || FORBIDDEN_KEYS.has(key) || key === '_trackx') continue
      const value = copyValue(metaIn[key], 1, budget)
      if (value !== undefined) context[truncate(clean(key), CAPS.freeFormKey)] = value
    }
  }
  const trackx: JsonObject = {}
  if (client) trackx.client = client
  const version = metaIn ? asString(metaIn._v) : undefined
  if (version) trackx.version = truncate(clean(version), CAPS.short)
  trackx.event_type = kind === OTHER_KIND ? `${kind.name}_${type}` : kind.name
  context._trackx = trackx
  out.context = context

  fitEventSize(out, error, context)
  return { event: out }
}

// ---------------------------------------------------------------------------------------------------------
// Stacks

/**
 * A stack the client made with `new Error()` (the value reported was not an Error), without the client's own
 * two frames; undefined when nothing else remains. V8 (and old IE) print it as `Error` and `    at …` lines;
 * Firefox and Safari as `fn@url:line:column` lines with no header. A stack of any other shape is not the
 * client's making (an object thrown with a `stack` of its own) and is kept whole.
 */
function withoutClientFrames(stack: string): string | undefined {
  const lines = stack.split('\n')
  const header = lines[0]?.trim() === 'Error' ? 1 : 0
  const clientLines = lines.slice(header, header + CLIENT_FRAMES)
  if (clientLines.length < CLIENT_FRAMES || !clientLines.every((line) => isFrameLine(line, header === 1))) return stack
  const rest = lines.slice(header + CLIENT_FRAMES)
  if (rest.every((line) => line.trim() === '')) return undefined
  return (header ? [lines[0] as string, ...rest] : rest).join('\n')
}

function isFrameLine(line: string, v8: boolean): boolean {
  const trimmed = line.trim()
  return v8 ? trimmed.startsWith('at ') : trimmed.includes('@')
}

/** At most `cap` characters, cut after a whole line: the decoder's cap would cut a frame mid-position. */
function wholeLines(text: string, cap: number): string {
  if (text.length <= cap) return text
  const end = text.lastIndexOf('\n', cap)
  return end > 0 ? text.slice(0, end) : truncate(text, cap)
}

// ---------------------------------------------------------------------------------------------------------
// Meta

function clientOf(code: unknown): string | undefined {
  if (typeof code !== 'string' || code === '') return undefined
  return Object.hasOwn(CLIENTS, code) ? CLIENTS[code] : truncate(clean(code), CAPS.short)
}

/** The first of `keys` holding a non-empty string, marked as lifted out of meta (the others stay in context). */
function liftString(meta: Record<string, unknown>, keys: string[], lifted: Set<string>): string | undefined {
  for (const key of keys) {
    const value = Object.hasOwn(meta, key) ? asString(meta[key]) : undefined
    if (value) {
      lifted.add(key)
      return clean(value)
    }
  }
  return undefined
}

/**
 * A JSON copy of a meta value sitting at `depth` levels (context itself is level 1): values that would nest
 * past the decoder's depth limit become `[Object]` / `[Array]`, so a deep meta costs its deepest values, not
 * the whole event (the decoder refuses an event nested too deep). Non-JSON values (undefined, functions,
 * symbols, bigints, non-finite numbers: only possible when the caller parsed the body itself) are left out.
 */
function copyValue(value: unknown, depth: number, budget: { values: number }): Json | undefined {
  if (budget.values-- <= 0) return undefined
  if (typeof value === 'string') return truncate(clean(value), CAPS.freeFormString)
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'boolean' || value === null) return value
  if (Array.isArray(value)) {
    if (depth + 1 > LIMITS.freeFormDepth) return '[Array]'
    const copy: Json[] = []
    for (const item of value) {
      if (budget.values <= 0) break
      copy.push(copyValue(item, depth + 1, budget) ?? null)
    }
    return copy
  }
  const object = asObject(value)
  if (!object) return undefined
  if (depth + 1 > LIMITS.freeFormDepth) return '[Object]'
  const copy: JsonObject = {}
  for (const key of Object.keys(object)) {
    if (budget.values <= 0) break
    if (FORBIDDEN_KEYS.has(key)) continue
    const item = copyValue(object[key], depth + 1, budget)
    if (item !== undefined) copy[truncate(clean(key), CAPS.freeFormKey)] = item
  }
  return copy
}

// ---------------------------------------------------------------------------------------------------------
// Size

/** Characters of the message always kept when shortening it to fit. */
const MESSAGE_KEEP = 1024

/**
 * The decoder drops a whole event over LIMITS.eventBytes, before it caps anything, and a TrackX event may be
 * larger (the TrackX server takes 128,000 characters of meta and any stack): losing the error for its
 * trimmings would be wrong. Shed meta first, largest entries first (`_trackx` last), then the message beyond
 * MESSAGE_KEEP characters, then the oldest frames (the newest decide the issue), then the rest.
 */
function fitEventSize(out: Record<string, unknown>, error: Record<string, unknown>, context: JsonObject): void {
  const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value))
  const fits = () => size(out) <= LIMITS.eventBytes
  if (fits()) return
  const entries = Object.keys(context)
    .filter((key) => key !== '_trackx')
    .map((key) => [key, size(context[key])] as const)
    .sort((a, b) => b[1] - a[1])
  for (const [key] of entries) {
    delete context[key]
    if (fits()) return
  }
  for (let round = 0; round < 100 && !fits(); round++) {
    const message = error.message as string
    const lines = typeof error.stack === 'string' ? error.stack.split('\n') : []
    if (message.length > MESSAGE_KEEP) {
      error.message = truncate(message, Math.max(MESSAGE_KEEP, Math.floor(message.length / 2)))
    } else if (lines.length > 2) {
      error.stack = lines.slice(0, Math.max(2, Math.ceil(lines.length / 2))).join('\n')
    } else if (typeof error.stack === 'string' && error.stack.length > MESSAGE_KEEP) {
      error.stack = truncate(error.stack, Math.floor(error.stack.length / 2))
    } else if (message.length > 0) {
      error.message = message.length === 1 ? '' : truncate(message, Math.floor(message.length / 2))
    } else if (error.stack !== undefined) {
      delete error.stack
    } else if (out.view !== undefined) {
      delete out.view
    } else {
      return
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading untrusted values


/**
 * U+0000 becomes U+FFFD, as parseJsonSafely does for bodies the server parses: PostgreSQL cannot store it,
 * and a caller may have parsed the body with plain JSON.parse.
 */
function clean(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text
}

/** A line break inside an error type would split the stack's and the issue title's first line. */
function oneLine(text: string): string {
  return /[\r\n\u2028\u2029]/.test(text) ? text.replace(/[\r\n\u2028\u2029]+/g, ' ') : text
}

import { createTransport, MAX_BATCH, type Post } from './createTransport.js'
import { describeError, describeRejection, MESSAGE_CAP, STACK_CAP, type ErrorDescription } from './describeError.js'
import { guard } from './guard.js'
import type { SyncRequest } from './sendSync.js'
import type { ErrorOrigin } from './trackProcessErrors.js'
import type { BeforeSend, Context, TacitErrorEvent, TacitNodeClient, TacitNodeOptions } from './types.js'

/** What the client is told by the process (see init.ts for the real wiring). */
export interface ProcessHooks {
  captureUncaught: boolean
  captureRejections: boolean
  report(thrown: unknown, origin: ErrorOrigin, fatal: boolean): void
  /** The event loop is empty and the process is about to end on its own. */
  beforeExit(): void
  /** The process is ending (`process.exit()`, or after `beforeExit`); only synchronous work happens now. */
  exit(): void
}

/** Everything the client takes from Node, passed in so unit tests can fake it. */
export interface ClientDeps {
  post: Post
  now(): number
  setTimer(fn: () => void, ms: number, keepAlive?: boolean): unknown
  clearTimer(timer: unknown): void
  sendSync(request: SyncRequest, timeoutMs: number): boolean
  /** Installs the process listeners; returns a function that removes them. */
  trackProcess(hooks: ProcessHooks): () => void
  userAgent: string
  /** One line for the `debug` option. */
  warn(message: string): void
}

const DEFAULTS = { flushTimeoutMs: 2000, flushIntervalMs: 5000, batchSize: 50, maxQueue: 1000, shutdownTimeoutMs: 2000, requestTimeoutMs: 10_000 }
const FINGERPRINT_CAP = 256
const TYPE_CAP = 256

const INERT: TacitNodeClient = {
  captureException() {},
  captureMessage() {},
  flush: () => Promise.resolve(true),
  close: () => Promise.resolve(true),
}

/**
 * One SDK instance: options → events → beforeSend → transport, plus what happens when the process ends.
 * Nothing here throws into the host: every entry point is guarded, and a misconfigured client is inert.
 */
export function createClient(options: TacitNodeOptions, deps: ClientDeps): TacitNodeClient {
  const warn = (message: string) => {
    if (options?.debug) guard(deps.warn)(`[tacit] ${message}`)
  }
  const url = ingestUrl(options?.endpoint)
  if (!url || typeof options.token !== 'string' || options.token === '') {
    warn('not sending anything: init needs a token and an http(s) endpoint')
    return INERT
  }

  const shutdownTimeoutMs = number(options.shutdownTimeoutMs, DEFAULTS.shutdownTimeoutMs, 0, 60_000)
  const headers: Record<string, string> = {
    'content-type': 'application/x-ndjson',
    'user-agent': deps.userAgent,
    // In a header rather than the query string, so proxies and access logs between here and the server do
    // not record it.
    'x-tacit-token': options.token,
  }
  if (typeof options.origin === 'string' && options.origin !== '') headers.origin = options.origin
  const transport = createTransport({
    url,
    headers,
    post: deps.post,
    now: deps.now,
    setTimer: deps.setTimer,
    clearTimer: deps.clearTimer,
    flushIntervalMs: number(options.flushIntervalMs, DEFAULTS.flushIntervalMs, 0, 3_600_000),
    batchSize: Math.floor(number(options.batchSize, DEFAULTS.batchSize, 1, MAX_BATCH)),
    maxQueue: Math.floor(number(options.maxQueue, DEFAULTS.maxQueue, 1, 1_000_000)),
    requestTimeoutMs: DEFAULTS.requestTimeoutMs,
    warn,
  })
  const beforeSend = typeof options.beforeSend === 'function' ? options.beforeSend : undefined

  let closed = false
  // The same Error object often comes by twice (captureException, then rethrown and uncaught; or rejected,
  // then rethrown by an application's unhandledRejection listener): only the first sighting is sent.
  const seen = new WeakSet<object>()
  // Stops a loop when beforeSend itself reports an error.
  let busy = false
  // Events queued so far, and how many there were at the last send attempted while the process ends: the
  // `exit` listener does not try again (and hold the process again) for events that just failed to go.
  let queued = 0
  let triedAtExit = -1

  function capture(thrown: unknown, description: ErrorDescription, handled: boolean, source: TacitErrorEvent['error']['source'], context: unknown, soon = false): void {
    if (closed || busy) return
    if (thrown !== null && typeof thrown === 'object') {
      if (seen.has(thrown)) return
      seen.add(thrown)
    }
    busy = true
    try {
      const json = prepare({ ...description, handled, source }, context)
      if (json === undefined) return
      queued++
      transport.push(json, soon)
    } finally {
      busy = false
    }
  }

  /** The event as it will be sent, serialized; undefined when beforeSend drops it or it cannot be sent. */
  function prepare(error: TacitErrorEvent['error'], context: unknown): string | undefined {
    const event: TacitErrorEvent = { type: 'error', ts: deps.now(), error }
    if (typeof options.service === 'string') event.service = options.service
    if (typeof options.env === 'string') event.env = options.env
    if (typeof options.release === 'string') event.release = options.release
    if (context !== undefined && context !== null) {
      const json = toJsonObject(context)
      if (json) event.context = json
      else warn('context left out: it must be an object that JSON.stringify can write')
    }
    const final = beforeSend ? applyBeforeSend(beforeSend, event) : event
    if (!final) return undefined
    try {
      return JSON.stringify(final)
    } catch {
      warn('dropped an event: beforeSend left something JSON.stringify cannot write')
      return undefined
    }
  }

  function applyBeforeSend(fn: BeforeSend, event: TacitErrorEvent): TacitErrorEvent | undefined {
    const copy = JSON.parse(JSON.stringify(event)) as TacitErrorEvent
    let result: ReturnType<BeforeSend>
    try {
      result = fn(copy)
    } catch {
      // Dropped, not sent unedited: beforeSend is often where an application removes data it must not send.
      warn('dropped an event: beforeSend threw')
      return undefined
    }
    if (result === null || result === false) return undefined
    const edited = (result && typeof result === 'object' ? result : copy) as Partial<TacitErrorEvent>
    const error = edited.error && typeof edited.error === 'object' ? edited.error : copy.error
    if (typeof error.message === 'string') event.error.message = error.message.slice(0, MESSAGE_CAP)
    editOptional(event.error, error, 'type', TYPE_CAP)
    editOptional(event.error, error, 'stack', STACK_CAP)
    editOptional(event.error, error, 'fingerprint', FINGERPRINT_CAP)
    const context = edited.context
    if (context === undefined || context === null) delete event.context
    else if (typeof context === 'object' && !Array.isArray(context)) event.context = context
    return event
  }

  /** Sends what is queued before the process ends, blocking it for at most shutdownTimeoutMs. */
  function deliverNow(): void {
    triedAtExit = queued
    const bodies = transport.drainBodies()
    if (bodies.length > 0 && !deps.sendSync({ url: url!, headers, bodies }, shutdownTimeoutMs)) {
      warn(`could not deliver ${bodies.length} request(s) before the process ended`)
    }
  }

  const stopTracking = deps.trackProcess({
    captureUncaught: options.captureUncaught !== false,
    captureRejections: options.captureRejections !== false,
    report: guard((thrown: unknown, origin: ErrorOrigin, fatal: boolean) => {
      const description = origin === 'unhandledRejection' ? describeRejection(thrown) : describeError(thrown)
      // When the application handles the error itself and keeps running, the event goes out with the next
      // turn of the event loop; if its handler calls process.exit() first, the `exit` listener sends it.
      capture(thrown, description, false, 'source', undefined, !fatal)
      if (fatal) deliverNow()
    }),
    beforeExit: guard(() => {
      if (shutdownTimeoutMs === 0 || transport.pending() === 0 || queued === triedAtExit) return
      triedAtExit = queued
      // One attempt, holding the process only while requests are open, and for at most shutdownTimeoutMs.
      void transport.flush(shutdownTimeoutMs, { once: true })
    }),
    exit: guard(() => {
      if (shutdownTimeoutMs > 0 && queued !== triedAtExit) deliverNow()
    }),
  }) ?? (() => undefined)

  return {
    captureException: guard((error: unknown, context?: Context) => capture(error, describeError(error), true, 'custom', context)),
    captureMessage: guard((message: string, context?: Context) => {
      const text = typeof message === 'string' ? message : describeError(message).message
      capture(undefined, { message: text.slice(0, MESSAGE_CAP) || 'Empty message' }, true, 'logger', context)
    }),
    flush: (timeoutMs?: number) => safely(() => transport.flush(number(timeoutMs, DEFAULTS.flushTimeoutMs, 0, 3_600_000))),
    close: (timeoutMs?: number) =>
      safely(() => {
        if (!closed) {
          closed = true
          guard(stopTracking)()
        }
        return transport.flush(number(timeoutMs, DEFAULTS.flushTimeoutMs, 0, 3_600_000)).finally(() => transport.stop())
      }),
  }
}

/** `${endpoint}/api/v1/ingest`, or undefined when the endpoint is not an http(s) URL. */
function ingestUrl(endpoint: unknown): string | undefined {
  if (typeof endpoint !== 'string') return undefined
  try {
    const parsed = new URL(endpoint)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined
  } catch {
    return undefined
  }
  return `${endpoint.replace(/\/+$/, '')}/api/v1/ingest`
}

function number(value: unknown, fallback: number, min: number, max: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback
}

/** A plain JSON object (a deep copy), or undefined for anything else. */
function toJsonObject(value: unknown): Context | undefined {
  if (typeof value !== 'object' || Array.isArray(value)) return undefined
  try {
    const copy = JSON.parse(JSON.stringify(value)) as unknown
    return copy !== null && typeof copy === 'object' && !Array.isArray(copy) ? (copy as Context) : undefined
  } catch {
    return undefined
  }
}

function editOptional(target: TacitErrorEvent['error'], source: Partial<TacitErrorEvent['error']>, field: 'type' | 'stack' | 'fingerprint', cap: number): void {
  const value = source[field]
  if (typeof value === 'string' && value !== '') target[field] = value.slice(0, cap)
  else if (value === undefined || value === null || value === '') delete target[field]
}

function safely(fn: () => Promise<boolean>): Promise<boolean> {
  try {
    return fn().catch(() => false)
  } catch {
    return Promise.resolve(false)
  }
}

/**
 * The SDK's public shapes. Events follow the Tacit wire protocol (docs/PROTOCOL.md): a Node process has no
 * page view, so an error event carries no `view` (the protocol makes it optional outside `view` events).
 */

/** Free-form attributes sent as the event's `context` (JSON values; the server caps depth and sizes). */
export type Context = Record<string, unknown>

/** An `error` event as sent on the wire. */
export interface TacitErrorEvent {
  type: 'error'
  /** When it happened, ms since the Unix epoch. */
  ts: number
  error: {
    message: string
    /** The error's class, e.g. `TypeError`; absent for thrown non-Errors and `captureMessage`. */
    type?: string
    /** The raw V8 stack string; the server parses it. */
    stack?: string
    /** `false` for uncaught exceptions and unhandled rejections, `true` for what the application reports. */
    handled: boolean
    /** `source` (uncaught, unhandled rejection), `custom` (captureException), `logger` (captureMessage). */
    source: 'source' | 'custom' | 'logger'
    /** Overrides the server's grouping: events with the same fingerprint form one issue. */
    fingerprint?: string
  }
  service?: string
  env?: string
  release?: string
  context?: Context
}

/**
 * `beforeSend` gets a copy of each event. Returning `null` or `false` drops it; returning the event (or
 * nothing, after editing the copy in place) sends it. Only `error.message`, `error.type`, `error.stack`,
 * `error.fingerprint` and `context` are taken from the result (DESIGN.md §3.9: the SDK keeps the rest
 * well-formed).
 */
export type BeforeSend = (event: TacitErrorEvent) => TacitErrorEvent | null | false | undefined | void

export interface TacitNodeOptions {
  /** The app's client token (`tc_…`). Without it (or without `endpoint`), `init` returns a client that does nothing. */
  token?: string
  /** The Tacit server's base URL; events go to `${endpoint}/api/v1/ingest`. */
  endpoint?: string
  /** Added to every event. */
  service?: string
  env?: string
  release?: string
  /** Sent as the `Origin` header, for apps that list allowed origins (`tacit app set <app> origins=…`). */
  origin?: string
  beforeSend?: BeforeSend
  /** Report uncaught exceptions (default `true`). The process still ends exactly as it would have. */
  captureUncaught?: boolean
  /** Report unhandled promise rejections (default `true`), without changing what Node does with them. */
  captureRejections?: boolean
  /** Queued events are sent at most this long after the first of them is queued (default 5,000 ms). */
  flushIntervalMs?: number
  /** Events per request; a full batch is sent at once (default 50, at most 500). */
  batchSize?: number
  /** Events kept in memory while the server is slow or down; beyond it the oldest go first (default 1,000). */
  maxQueue?: number
  /**
   * How long the process may be held when it ends with events still queued: on a crash, on `process.exit()`,
   * and when it exits naturally (default 2,000 ms; `0` sends nothing then).
   */
  shutdownTimeoutMs?: number
  /** Write one line to stderr when the SDK drops events or cannot deliver them (default `false`). */
  debug?: boolean
}

/** What `init` returns. No method throws. */
export interface TacitNodeClient {
  /** Reports a handled error (`source: 'custom'`); anything thrown is accepted, not only `Error`s. */
  captureException(error: unknown, context?: Context): void
  /** Reports a message as an error event without a stack (`source: 'logger'`). */
  captureMessage(message: string, context?: Context): void
  /**
   * Sends everything queued now and resolves `true` once the server has answered for all of it, or `false`
   * when `timeoutMs` (default 2,000) passes first; requests still open then are abandoned and retried later.
   */
  flush(timeoutMs?: number): Promise<boolean>
  /** Stops capturing (removes the process listeners), then flushes like `flush`. */
  close(timeoutMs?: number): Promise<boolean>
}

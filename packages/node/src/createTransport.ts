/** What the transport needs from a response: the status and, for 429, `Retry-After`. */
export interface TransportResponse {
  status: number
  headers: { get(name: string): string | null }
}

export type Post = (
  url: string,
  init: { method: 'POST'; body: string; headers: Record<string, string>; signal: AbortSignal },
) => Promise<TransportResponse>

export interface TransportOptions {
  url: string
  headers: Record<string, string>
  post: Post
  now: () => number
  /**
   * Timers for batching and retries must not keep the process alive (the host decides when it ends); a
   * `flush` deadline does (`keepAlive`), since the caller is waiting on it.
   */
  setTimer: (fn: () => void, ms: number, keepAlive?: boolean) => unknown
  clearTimer: (timer: unknown) => void
  flushIntervalMs: number
  batchSize: number
  maxQueue: number
  requestTimeoutMs: number
  /** Told when events are dropped or cannot be delivered (the `debug` option prints it). */
  warn: (message: string) => void
}

export interface Transport {
  /** Queues one serialized event; `soon` sends it with the next turn of the event loop. */
  push(json: string, soon?: boolean): void
  /**
   * Sends what is queued now (skipping a retry's backoff, not a 429's wait) and waits for the answers,
   * through retries, until `timeoutMs`. With `once`, the first failure ends the wait instead: as the process
   * ends, a second attempt after a backoff would only hold it longer.
   */
  flush(timeoutMs: number, options?: { once?: boolean }): Promise<boolean>
  /**
   * Takes everything queued as request bodies, for a synchronous send while the process ends. Requests
   * already in flight are not included: they may have reached the server, and sending them again would
   * store them twice.
   */
  drainBodies(): string[]
  /** Events queued or in flight. */
  pending(): number
  /** Cancels the batching and retry timers; queued events stay until `flush` or `drainBodies`. */
  stop(): void
}

/** Limits. The server takes 500 events and 1 MiB per request and drops one event over 64 KiB. */
export const MAX_BATCH = 500
const REQUEST_BYTES = 512 * 1024
const EVENT_BYTES = 64 * 1024
const ATTEMPTS = 5
const RETRY_AFTER_DEFAULT_MS = 10_000
const RETRY_AFTER_MAX_MS = 3_600_000
// A few requests at once: enough to drain a backlog after an outage, few enough not to flood a server
// that is just coming back.
const CONCURRENT_REQUESTS = 2

interface Line {
  json: string
  bytes: number
}

interface Request {
  lines: Line[]
  controller: AbortController
}

/**
 * Batches events as NDJSON in memory and posts them: at `batchSize` events, or `flushIntervalMs` after the
 * first queued one (a timer runs only while something is queued, and never holds the process open). A 429
 * is respected (`Retry-After`, seconds or an HTTP date, else 10 s); 5xx and network errors are retried after
 * 1, 2, 4 and 8 s, then the batch is dropped; other 4xx are final (the data will not improve). The same
 * policy as the browser SDK's transport, so a server sees the same behaviour from both.
 */
export function createTransport(o: TransportOptions): Transport {
  let queue: Line[] = []
  const inflight = new Set<Request>()
  // Pending flushes: told when everything is answered, and (for `once`) when a request fails.
  const waiters = new Set<{ idle(): void; failed?(): void }>()
  let timer: unknown
  // Nothing is sent before `waitUntil` (a backoff or a 429); `flush` skips a backoff but not `limitedUntil`,
  // the wait the server asked for.
  let waitUntil = 0
  let limitedUntil = 0
  let failures = 0

  function schedule(ms: number): void {
    o.clearTimer(timer)
    timer = o.setTimer(pump, Math.max(0, ms))
  }

  function unschedule(): void {
    o.clearTimer(timer)
    timer = undefined
  }

  function trim(): void {
    const excess = queue.length - o.maxQueue
    if (excess > 0) {
      queue.splice(0, excess)
      o.warn(`dropped ${excess} queued event(s): more than maxQueue (${o.maxQueue}) waiting`)
    }
  }

  function takeBatch(): Line[] {
    let bytes = 0
    let count = 0
    while (count < queue.length && count < o.batchSize && (count === 0 || bytes + queue[count]!.bytes <= REQUEST_BYTES)) {
      bytes += queue[count]!.bytes
      count++
    }
    return queue.splice(0, count)
  }

  function idle(): boolean {
    return queue.length === 0 && inflight.size === 0
  }

  function settle(): void {
    if (idle()) for (const waiter of [...waiters]) waiter.idle()
  }

  function pump(): void {
    unschedule()
    if (queue.length === 0) return settle()
    const wait = waitUntil - o.now()
    if (wait > 0) return schedule(wait)
    while (queue.length > 0 && inflight.size < CONCURRENT_REQUESTS) send(takeBatch())
  }

  function requeue(lines: Line[]): void {
    queue = lines.concat(queue)
    trim()
  }

  /** Returns whether the batch went back to the queue for another attempt. */
  function failed(lines: Line[], why: string): boolean {
    // Given up after a few attempts rather than retried forever against a server that is down.
    if (++failures < ATTEMPTS) {
      requeue(lines)
      waitUntil = Math.max(waitUntil, o.now() + 1000 * 2 ** (failures - 1))
      return true
    }
    failures = 0
    o.warn(`dropped ${lines.length} event(s) after ${ATTEMPTS} attempts: ${why}`)
    return false
  }

  /** Returns whether the batch went back to the queue for another attempt. */
  function answered(lines: Line[], response: TransportResponse): boolean {
    const status = response.status
    if (status === 429) {
      requeue(lines)
      limitedUntil = waitUntil = o.now() + retryAfterMs(response.headers.get('retry-after'), o.now())
      return true
    }
    if (status >= 500) return failed(lines, `server answered ${status}`)
    failures = 0
    if (status >= 300) o.warn(`dropped ${lines.length} event(s): server answered ${status}`)
    return false
  }

  function send(lines: Line[]): void {
    const request: Request = { lines, controller: new AbortController() }
    inflight.add(request)
    const timeout = o.setTimer(() => request.controller.abort(), o.requestTimeoutMs)
    let answer: Promise<TransportResponse>
    try {
      answer = o.post(o.url, { method: 'POST', body: lines.map((line) => line.json).join('\n'), headers: o.headers, signal: request.controller.signal })
    } catch (error) {
      answer = Promise.reject(error)
    }
    let requeued = false
    answer
      .then(
        (response) => (requeued = answered(lines, response)),
        (error: unknown) => (requeued = failed(lines, error instanceof Error ? error.message : 'network error')),
      )
      .catch(() => undefined)
      .finally(() => {
        o.clearTimer(timeout)
        inflight.delete(request)
        // A retry is due after its backoff; a full batch or a waiting flush goes now. Anything else keeps
        // waiting for the batch timer, so a steady trickle of events is not sent one request per event.
        if (requeued) for (const waiter of [...waiters]) waiter.failed?.()
        if (requeued || queue.length >= o.batchSize || waiters.size > 0) pump()
        else if (queue.length > 0 && timer === undefined) schedule(o.flushIntervalMs)
        settle()
      })
      .catch(() => undefined)
  }

  return {
    push(json, soon = false) {
      const bytes = Buffer.byteLength(json) + 1
      if (bytes > EVENT_BYTES) {
        o.warn(`dropped an event of ${bytes} bytes: the server takes at most ${EVENT_BYTES}`)
        return
      }
      queue.push({ json, bytes })
      trim()
      if (queue.length >= o.batchSize) pump()
      else if (soon) schedule(Math.max(0, waitUntil - o.now()))
      else if (timer === undefined) schedule(o.flushIntervalMs)
    },

    flush(timeoutMs, options = {}) {
      if (idle()) return Promise.resolve(true)
      return new Promise<boolean>((resolve) => {
        const finish = (ok: boolean) => {
          waiters.delete(waiter)
          o.clearTimer(deadline)
          resolve(ok)
        }
        const giveUp = () => {
          finish(false)
          // Requests still open would hold the process (a server that accepts connections and never
          // answers); they are abandoned, and their events go back to the queue for a later attempt.
          for (const request of inflight) request.controller.abort()
        }
        const waiter = { idle: () => finish(true), failed: options.once ? giveUp : undefined }
        waiters.add(waiter)
        const deadline = o.setTimer(giveUp, Math.max(0, timeoutMs), true)
        waitUntil = limitedUntil
        pump()
      })
    },

    drainBodies() {
      unschedule()
      const bodies: string[] = []
      while (queue.length > 0) bodies.push(takeBatch().map((line) => line.json).join('\n'))
      return bodies
    },

    pending() {
      return queue.length + [...inflight].reduce((sum, request) => sum + request.lines.length, 0)
    },

    stop() {
      unschedule()
    },
  }
}

/** `Retry-After` is either seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterMs(header: string | null, now: number): number {
  if (header) {
    const seconds = Number(header)
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Math.max(0, Date.parse(header) - now)
    if (ms >= 0) return Math.min(ms, RETRY_AFTER_MAX_MS)
  }
  return RETRY_AFTER_DEFAULT_MS
}

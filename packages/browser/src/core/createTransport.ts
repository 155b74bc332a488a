import { guard } from './guard.js'
import type { RumEvent } from './types.js'

/** What the transport needs from a response: the status and, for 429, `Retry-After`. */
export interface TransportResponse {
  status: number
  headers: { get(name: string): string | null }
}

export interface TransportOptions {
  url: string
  /**
   * Cookies go only to a proxy on the site's own origin (an authentication proxy checks the visitor's session
   * with them, issue 8); to Tacit itself, never. sendBeacon always sends them, and only to that proxy too.
   */
  sameOriginCredentials?: boolean
  now: () => number
  /** Runs once when the page is hidden, before the final flush: collectors emit their final values. */
  onBeforeHideFlush: () => void
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (timer: unknown) => void
  fetch?: (url: string, init: RequestInit) => Promise<TransportResponse>
  sendBeacon?: (url: string, data: string) => boolean
}

export interface Transport {
  push(event: RumEvent): void
  /** Sends what is queued now, unless the server asked to wait (429) or a retry is backing off. */
  flush(): void
  /** Drops everything queued, including batches waiting for a retry (consent revoked). */
  clear(): void
  /** Registers the page-hide listeners; returns a function that removes them. */
  start(): () => void
}

/** Limits, as a const enum so the bundler writes the numbers in place. */
const enum Limit {
  Events = 50,
  Bytes = 16384,
  WaitMs = 10000,
  // sendBeacon and fetch keepalive share a 64 KiB in-flight quota per page; stay under it with headroom.
  BeaconBytes = 60000,
  // The queue only grows past one batch while retries wait; then the oldest events go first.
  BufferEvents = 200,
  BufferBytes = 262144,
  Attempts = 5,
}

type Line = [json: string, bytes: number]

/**
 * Batches events as NDJSON lines (each event serialized once) and sends them as strings: fetch and
 * sendBeacon both label a string body `text/plain;charset=UTF-8`, which keeps every request a CORS simple
 * request (no preflight) without a Content-Type header or Blob. A timer runs only while events are
 * queued, so an idle page costs nothing. On page hide the queue goes out with `sendBeacon`, which
 * survives unload.
 */
export function createTransport(o: TransportOptions): Transport {
  const setTimer = o.setTimer || setTimeout
  const clearTimer = o.clearTimer || (clearTimeout as (timer: unknown) => void)
  // Called unbound, as a plain function: WebIDL then uses the global as `this`. Taken once, so requests to
  // Tacit skip wrappers other code (or our own trace context) puts on `fetch` later.
  const post = o.fetch || fetch
  // Where sendBeacon is missing this throws, which counts as a refusal (see flushOnHide).
  const beacon = guard(o.sendBeacon || ((url: string, data: string) => navigator.sendBeacon(url, data)))
  let queue: Line[] = []
  let bytes = 0
  let timer: unknown
  // Nothing is sent before `waitUntil` (a backoff or a 429). The beacon on hide waits only for
  // `limitedUntil` (a 429: the server asked), because after a backoff it is the last chance to deliver.
  let waitUntil = 0
  let limitedUntil = 0
  let failures = 0
  // Bumped by clear(), so a request that fails after consent was revoked is not queued again.
  let generation = 0
  let hidden = false

  function schedule(ms: number): void {
    clearTimer(timer)
    timer = setTimer(guard(flush), ms)
  }

  function unschedule(): void {
    clearTimer(timer)
    timer = undefined
  }

  function trim(): void {
    while (queue.length > Limit.BufferEvents || bytes > Limit.BufferBytes) bytes -= queue.shift()![1]
  }

  /** Takes the whole queue: the caller sends it. */
  function drain(): Line[] {
    const lines = queue
    unschedule()
    queue = []
    bytes = 0
    return lines
  }

  function send(lines: Line[]): void {
    const body = lines.map((line) => line[0]).join('\n')
    const sent = generation
    // A failed batch goes back to the front of the queue, so the buffer's limits drop the oldest events.
    const retry = (ms: number) => {
      if (sent != generation) return
      queue = lines.concat(queue)
      lines.forEach((line) => (bytes += line[1]))
      trim()
      waitUntil = o.now() + ms
      schedule(ms)
    }
    const failed = () => {
      // Given up after a few attempts rather than retried forever against a server that is down.
      if (++failures < Limit.Attempts) retry(1000 * 2 ** (failures - 1))
      else failures = 0
    }
    try {
      post(o.url, { method: 'POST', body, keepalive: size(body) < Limit.BeaconBytes, credentials: o.sameOriginCredentials ? 'same-origin' : 'omit' }).then(
        guard((response: TransportResponse) => {
          const status = response.status
          if (status == 429) {
            // Cross-origin, the header is readable only when the server lists it in Access-Control-Expose-Headers.
            const seconds = Number(response.headers.get('Retry-After'))
            retry((seconds > 0 ? seconds : 10) * 1000)
            limitedUntil = waitUntil
          } else if (status >= 500) failed()
          // Any other answer is final: 2xx is done, and a 4xx means the data is bad and will not improve.
          else failures = 0
        }),
        // A keepalive request rejected while the page is hidden or unloading may well have been delivered
        // (the browser lets it finish after the page is gone): sending it again by beacon would store it twice.
        guard(() => hidden || failed()),
      )
    } catch {
      guard(failed)()
    }
  }

  function flush(): void {
    const wait = waitUntil - o.now()
    if (!queue.length) unschedule()
    else if (wait > 0) schedule(wait)
    else send(drain())
  }

  /** Everything queued, in chunks under the beacon quota; a chunk the browser refuses goes by fetch keepalive. */
  function flushOnHide(): void {
    if (o.now() < limitedUntil) return
    let chunk: Line[] = []
    let chunkBytes = 0
    const sendChunk = () => {
      if (chunk.length && !beacon(o.url, chunk.map((line) => line[0]).join('\n'))) send(chunk)
      chunk = []
      chunkBytes = 0
    }
    for (const line of drain()) {
      if (chunkBytes + line[1] > Limit.BeaconBytes) sendChunk()
      chunk.push(line)
      chunkBytes += line[1]
    }
    sendChunk()
  }

  // visibilitychange→hidden and pagehide usually both fire when a page goes away (in either order): the
  // collectors' final values are asked for once per hidden period, and the queue is empty by the second
  // event. Listening on window in the bubble phase runs this after listeners on document and web-vitals'
  // capturing ones, so the final vitals are queued first.
  const onHide = guard((event: Event) => {
    if (event.type != 'pagehide' && document.visibilityState != 'hidden') {
      hidden = false
      return
    }
    if (!hidden) {
      hidden = true
      guard(o.onBeforeHideFlush)()
    }
    flushOnHide()
  })

  return {
    push: guard((event: RumEvent) => {
      const json = JSON.stringify(event)
      const line: Line = [json, size(json) + 1]
      queue.push(line)
      bytes += line[1]
      trim()
      if (queue.length >= Limit.Events || bytes >= Limit.Bytes) flush()
      else if (timer === undefined) schedule(Limit.WaitMs)
    }),
    flush: guard(flush),
    clear: guard(() => {
      drain()
      generation++
      failures = 0
    }),
    start() {
      const each = (method: (type: string, listener: (event: Event) => void) => void) => ['visibilitychange', 'pagehide'].map((type) => method(type, onHide))
      each(addEventListener)
      return () => each(removeEventListener)
    },
  }
}

/** UTF-8 bytes, or a little more: every non-ASCII UTF-16 unit counts 3 (an overestimate is safe here). */
function size(text: string): number {
  return text.length + text.replace(/[\0-\x7f]/g, '').length * 2
}

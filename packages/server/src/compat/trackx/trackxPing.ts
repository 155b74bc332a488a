/**
 * `GET|POST /v1/<key>/ping`: what it is, and what Tacit keeps of it.
 *
 * The client's `trackx.ping()` ("Send ping to register a session", trackx 0.6.1) carries nothing: no body, no
 * query, no page URL, no time. The default build loads it as an image (`new Image()`,
 * `crossOrigin = ''`: a CORS-mode GET with `Accept: image/…`, Origin and an origin-only Referer); the modern
 * build posts it with `fetch(…, { method: 'POST', keepalive: true, mode: 'no-cors' })` (no Content-Type, no
 * preflight, the answer is never read); the node build sends a GET with `Origin: node`; lite and compat have
 * no ping. Nothing retries it. It is meant to be called as a page loads, after `setup()`; TrackX's docs say
 * calling it more often is fine, because the TrackX server only uses it to register the visitor's session of
 * the day, marked error-free until an event arrives, so that it can show the share of sessions with errors.
 *
 * So a ping is a session marker, not a page view, and Tacit stores it as a `custom` event named
 * `trackx.ping` (TRACKX_PING_EVENT):
 * - Stored, not only counted: Tacit's sessions are made from stored events. Were pings only counted, a TrackX
 *   app's only sessions would be those with an error, and its crash-free rate would read 0 %. The event gives
 *   the visitor a session from Tacit's own visitor map like any other event, so error-free sessions count.
 * - Not a `view`: a view needs the page's URL, which the ping does not carry (the Referer is the origin
 *   alone under browsers' default referrer policy), so every TrackX view would be the site's root page, and
 *   repeated pings (route changes in a single-page app) would each count as one more view of it. It would
 *   also need an id: a fresh random one per ping would make each a distinct view, a fixed one would merge all
 *   visitors' pings into one view.
 * - A server client's ping (the node build: Tacit gives server senders no session) says nothing Tacit can
 *   use: the route should count it and store nothing (`serverClient: true`).
 *
 * Either way the answer is 200 with `Cache-Control: no-store` (a cached answer would hide the next ping):
 * a 1×1 GIF when the request accepts images, as the TrackX server answers, so the client's image loads
 * cleanly; `ok` otherwise. The route adds the CORS headers (the image is loaded in CORS mode).
 */

export const TRACKX_PING_EVENT = 'trackx.ping'

/** The TrackX server's answer to an image ping: a white 1×1 GIF, 35 bytes. */
export const TRACKX_PING_GIF: Buffer = Buffer.from('R0lGODlhAQABAID/AP///wAAACwAAAAAAQABAAACAkQBADs=', 'base64')

export interface TrackxPingRequest {
  /** When the ping arrived, ms since the epoch: the event's `ts`. */
  receivedAt: number
  /** The request's Accept header: an image is answered when it names one. */
  accept?: string | undefined
  /** The sender is a server (the node build), not a browser: count the ping, store nothing. */
  serverClient?: boolean
}

export interface TrackxPingAnswer {
  status: 200
  headers: Record<string, string>
  body: Buffer | string
}

export interface TrackxPingDecision {
  /** A wire event for decodeBatch and the privacy pipeline, or none when the ping is only counted. */
  event?: Record<string, unknown>
  answer: TrackxPingAnswer
}

export function trackxPing(request: TrackxPingRequest): TrackxPingDecision {
  const image = typeof request.accept === 'string' && request.accept.toLowerCase().includes('image')
  const answer: TrackxPingAnswer = image
    ? { status: 200, headers: { 'content-type': 'image/gif', 'cache-control': 'no-store' }, body: TRACKX_PING_GIF }
    : { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: 'ok' }
  if (request.serverClient) return { answer }
  const event: Record<string, unknown> = { type: 'custom', custom: { name: TRACKX_PING_EVENT } }
  if (Number.isFinite(request.receivedAt) && request.receivedAt >= 0) event.ts = request.receivedAt
  return { event, answer }
}

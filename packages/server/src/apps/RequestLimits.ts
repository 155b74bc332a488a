import type { ClientRateLimits } from './createClientRateLimits.js'
import type { RateLimiter } from './createRateLimiter.js'

export type LimitVerdict = { ok: true } | { ok: false; limit: 'ip' | 'token' | 'app'; retryAfterSeconds: number }

export interface LimitedRequest {
  /**
   * The client address, or `relay:<visitor key>` for a relayed request (issue 8): only ever used as an HMAC,
   * never stored or logged.
   */
  ip: string
  token: string
  appId: number
  /** The app's `rate_limit` setting (events per second; 0 is off) and this request's events. */
  eventsPerSecond: number
  events: number
}

/**
 * The ingest limits (issue 7: one interface, two implementations, one contract suite in
 * test/unit/requestLimitsContract.ts): a request from this client address, then one with this token, then the
 * request's events from the app's bucket, each a token bucket holding two seconds' worth. The first bucket that
 * cannot pay refuses the request and says how long to wait; those before it have paid. In the process's memory
 * (one node) or in Redis (every node shares them, createRedisRequestLimits.ts).
 */
export interface RequestLimits {
  take(request: LimitedRequest): Promise<LimitVerdict>
}

/** One node's limits, in its memory: the per-client and per-token buckets, then the app's. */
export function createMemoryRequestLimits(parts: { clientLimits: ClientRateLimits; rateLimiter: RateLimiter }): RequestLimits {
  return {
    async take({ ip, token, appId, eventsPerSecond, events }) {
      const client = parts.clientLimits.take(ip, token)
      if (!client.ok) return client
      const app = parts.rateLimiter.take(appId, eventsPerSecond, events)
      return app.ok ? app : { ok: false, limit: 'app', retryAfterSeconds: app.retryAfterSeconds }
    },
  }
}

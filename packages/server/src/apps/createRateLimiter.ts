import type { Clock } from '../clock.js'
import { LIMITS } from '../protocol/limits.js'

export interface RateLimiter {
  /** Takes `events` from the app's bucket; when it cannot, says how many seconds until it could. */
  take(appId: number, eventsPerSecond: number, events: number): { ok: true } | { ok: false; retryAfterSeconds: number }
}

/**
 * A token bucket per app, in this process's memory. It holds twice the per-second rate, and never less
 * than one full request, so any valid request can pass once the bucket has refilled.
 */
export function createRateLimiter(clock: Clock): RateLimiter {
  const buckets = new Map<number, { tokens: number; updatedAt: number }>()
  return {
    take(appId, eventsPerSecond, events) {
      if (eventsPerSecond <= 0) return { ok: true }
      const capacity = Math.max(eventsPerSecond * 2, LIMITS.eventsPerRequest)
      const now = clock.now()
      const bucket = buckets.get(appId) ?? { tokens: capacity, updatedAt: now }
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * eventsPerSecond)
      bucket.updatedAt = now
      buckets.set(appId, bucket)
      if (bucket.tokens >= events) {
        bucket.tokens -= events
        return { ok: true }
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((events - bucket.tokens) / eventsPerSecond)) }
    },
  }
}

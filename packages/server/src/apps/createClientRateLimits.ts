import { createHmac } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { RandomSource } from '../randomSource.js'

export interface ClientRateLimits {
  /** One request from this client address with this token; says which limit refused it, and for how long. */
  take(ip: string, token: string): { ok: true } | { ok: false; limit: 'ip' | 'token'; retryAfterSeconds: number }
}

export interface ClientRateLimitSettings {
  /** Requests per second from one client address (burst twice that); 0 turns the limit off. */
  requestsPerIp: number
  /** Requests per second with one client token (burst twice that); 0 turns the limit off. */
  requestsPerToken: number
}

/** Defaults, stated in the README: generous enough for a busy office behind one NAT address. */
export const DEFAULT_CLIENT_RATE_LIMITS: ClientRateLimitSettings = { requestsPerIp: 200, requestsPerToken: 5000 }

/**
 * Per-client and per-token request limits, in this process's memory. Client buckets are keyed by an HMAC
 * of the address with a random key made at start, so the map holds no IP address (and the key dies with
 * the process); nothing of it is ever logged. Bounded: when full, buckets that have refilled go first.
 */
export function createClientRateLimits(deps: { clock: Clock; random: RandomSource; settings: ClientRateLimitSettings; maxBuckets?: number }): ClientRateLimits {
  const secret = deps.random.bytes(32)
  const maxBuckets = deps.maxBuckets ?? 100_000
  const buckets = new Map<string, { tokens: number; updatedAt: number }>()

  function take(key: string, perSecond: number): number {
    if (perSecond <= 0) return 0
    const now = deps.clock.now()
    const capacity = perSecond * 2
    let bucket = buckets.get(key)
    if (!bucket) {
      if (buckets.size >= maxBuckets) forgetRefilled(now)
      bucket = { tokens: capacity, updatedAt: now }
      buckets.set(key, bucket)
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * perSecond)
    bucket.updatedAt = now
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond))
  }

  function forgetRefilled(now: number): void {
    // A bucket untouched for long enough is full again: forgetting it changes nothing.
    for (const [key, bucket] of buckets) {
      if (now - bucket.updatedAt > 10_000) buckets.delete(key)
    }
    if (buckets.size >= maxBuckets) buckets.clear()
  }

  return {
    take(ip, token) {
      const ipKey = deps.settings.requestsPerIp > 0 ? `ip ${createHmac('sha256', secret).update(ip).digest('base64')}` : ''
      const ipWait = take(ipKey, deps.settings.requestsPerIp)
      if (ipWait > 0) return { ok: false, limit: 'ip', retryAfterSeconds: ipWait }
      // Tokens are public and already held in memory by the token cache: no need to hash them.
      const tokenWait = take(`token ${token}`, deps.settings.requestsPerToken)
      if (tokenWait > 0) return { ok: false, limit: 'token', retryAfterSeconds: tokenWait }
      return { ok: true }
    },
  }
}

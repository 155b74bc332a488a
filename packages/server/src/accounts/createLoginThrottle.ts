import { createHmac } from 'node:crypto'
import type { Clock } from '../clock.js'
import { truncateIp, unmapIpv4 } from '../privacy/network/ipNetwork.js'
import type { RandomSource } from '../randomSource.js'

/**
 * Login throttling (issue 6) per account and per client address, with backoff and lockout. In memory behind
 * this small interface, asynchronous so a Redis implementation can replace it when several nodes run (issue 7).
 * Every failure counts: wrong passwords, unknown emails (keyed by the email typed, so an unknown account
 * behaves exactly like a known one) and wrong current passwords on a password change.
 */
export interface LoginThrottle {
  /** Whether an attempt for these keys may be checked now; when not, how long to wait. */
  check(keys: ThrottleKeys): Promise<ThrottleDecision>
  recordFailure(keys: ThrottleKeys): Promise<void>
  /** Clears the account's failures; the client's stay (one good password must not reset a sprayer's count). */
  recordSuccess(keys: ThrottleKeys): Promise<void>
}

export interface ThrottleKeys {
  /** The normalized email (or the raw input when it is not an email: it is only hashed). */
  account: string
  /** The client address (clientKey below turns it into a network). */
  client: string
}

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterMs: number; locked: boolean }

export interface ThrottlePolicy {
  /** Failures allowed without any wait. */
  free: number
  /** After `free`, each further attempt waits base · 2^(failures − free), up to maxDelayMs. */
  baseDelayMs: number
  maxDelayMs: number
  /** At this many failures the key is locked for lockMs (and again on each failure after it). */
  lockAt: number
  lockMs: number
  /** Failures are forgotten this long after the last one (when not locked). */
  forgetMs: number
}

/**
 * Per account: 3 free tries, then 1 s, 2 s, 4 s … and a 15-minute lockout at 10 failures: an online guesser
 * gets about 40 guesses an hour per account. Per client network: 20 free failures (an office behind one NAT),
 * lockout at 100, which stops one address spraying many accounts. Lockout lets a stranger lock a known
 * account for 15 minutes: that is the accepted cost (OWASP ASVS 2.2.1), bounded by the short lock.
 */
export const ACCOUNT_POLICY: ThrottlePolicy = { free: 3, baseDelayMs: 1000, maxDelayMs: 60_000, lockAt: 10, lockMs: 15 * 60_000, forgetMs: 15 * 60_000 }
export const CLIENT_POLICY: ThrottlePolicy = { free: 20, baseDelayMs: 1000, maxDelayMs: 60_000, lockAt: 100, lockMs: 15 * 60_000, forgetMs: 15 * 60_000 }
/** Per scope, so a flood of made-up emails or addresses cannot grow memory without bound (oldest are dropped). */
const MAX_ENTRIES = 50_000

interface Entry {
  failures: number
  lastFailureAt: number
  lockedUntil: number
}

export function createLoginThrottle(deps: {
  clock: Clock
  random: RandomSource
  account?: ThrottlePolicy
  client?: ThrottlePolicy
  maxEntries?: number
}): LoginThrottle {
  // Keys are kept as keyed hashes: memory holds no email or address that a heap dump could list.
  const secret = deps.random.bytes(32)
  const scopes = [
    { policy: deps.account ?? ACCOUNT_POLICY, entries: new Map<string, Entry>(), key: (keys: ThrottleKeys) => digest(`a:${keys.account.trim().toLowerCase()}`) },
    { policy: deps.client ?? CLIENT_POLICY, entries: new Map<string, Entry>(), key: (keys: ThrottleKeys) => digest(`c:${clientKey(keys.client)}`) },
  ]
  const maxEntries = deps.maxEntries ?? MAX_ENTRIES

  function digest(value: string): string {
    return createHmac('sha256', secret).update(value).digest('base64url')
  }

  function current(entries: Map<string, Entry>, policy: ThrottlePolicy, key: string, now: number): Entry | undefined {
    const entry = entries.get(key)
    if (entry && entry.lockedUntil <= now && now - entry.lastFailureAt >= policy.forgetMs) {
      entries.delete(key)
      return undefined
    }
    return entry
  }

  return {
    async check(keys) {
      const now = deps.clock.now()
      let wait = 0
      let locked = false
      for (const { policy, entries, key } of scopes) {
        const entry = current(entries, policy, key(keys), now)
        if (!entry) continue
        if (entry.lockedUntil > now) {
          locked = true
          wait = Math.max(wait, entry.lockedUntil - now)
        } else if (entry.failures >= policy.free) {
          const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (entry.failures - policy.free))
          wait = Math.max(wait, entry.lastFailureAt + delay - now)
        }
      }
      return wait > 0 ? { allowed: false, retryAfterMs: wait, locked } : { allowed: true }
    },
    async recordFailure(keys) {
      const now = deps.clock.now()
      for (const { policy, entries, key } of scopes) {
        const k = key(keys)
        const entry = current(entries, policy, k, now) ?? { failures: 0, lastFailureAt: now, lockedUntil: 0 }
        entry.failures++
        entry.lastFailureAt = now
        if (entry.failures >= policy.lockAt) entry.lockedUntil = now + policy.lockMs
        // Re-inserted so the map's order is least recently failed first, which is what gets dropped when full.
        entries.delete(k)
        entries.set(k, entry)
        while (entries.size > maxEntries) entries.delete(entries.keys().next().value!)
      }
    },
    async recordSuccess(keys) {
      const [account] = scopes
      account!.entries.delete(account!.key(keys))
    },
  }
}

/**
 * Where a client is: the IPv4 address, or the IPv6 /48 network (a single host commonly holds a whole /64 or
 * more, so counting per IPv6 address would count nothing).
 */
export function clientKey(ip: string): string {
  const address = unmapIpv4(ip)
  return address.includes(':') ? (truncateIp(address) ?? address) : address
}

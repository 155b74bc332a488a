import { createHash } from 'node:crypto'
import type { Clock } from '../../clock.js'
import type { VisitorCheck, VisitorCheckOptions, VisitorVerdict } from './createVisitorCheck.js'

type VerifyUrlOptions = Extract<VisitorCheckOptions, { method: 'verify-url' }>

const DEFAULT_CACHE_MS = 60_000
const DEFAULT_TIMEOUT_MS = 2_000
const DEFAULT_MAX_CACHE_ENTRIES = 10_000
const USER_AGENT = 'tacit-relay'

// What an HTTP header value may hold: a CR or LF here would be header injection, so such a header is refused
// before it reaches fetch (which would throw, and that must not read as "verifier unavailable").
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

interface CachedVerdict {
  verdict: VisitorVerdict
  expiresAt: number
}

/**
 * Asks the operator's own endpoint whether the visitor's cookies belong to a logged-in visitor. The URL comes
 * from configuration only, never from a request (SSRF), and the call carries the visitor's Cookie header and
 * nothing else of theirs: no address, no User-Agent.
 */
export function createVerifyUrlCheck(options: VerifyUrlOptions, clock: Clock): VisitorCheck {
  const url = verifierUrl(options.url)
  const cacheMs = wholeNumber(options.cacheMs ?? DEFAULT_CACHE_MS, 'cacheMs', 0)
  const timeoutMs = wholeNumber(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs', 1)
  const maxCacheEntries = wholeNumber(options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES, 'maxCacheEntries', 0)

  // Keyed by SHA-256 of the Cookie header, so the relay's memory never holds a visitor's session cookie.
  // A Map iterates in insertion order, so its first key is the oldest entry.
  const cache = new Map<string, CachedVerdict>()
  // A page load sends several requests at once with the same cookies: they share one call.
  const inFlight = new Map<string, Promise<VisitorVerdict>>()

  async function ask(cookie: string): Promise<VisitorVerdict> {
    let status: number
    try {
      const response = await fetch(url, {
        method: 'GET',
        // A redirect (often to a login page) is not a pass, and following it would let the verifier's
        // answer steer the relay to another address.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        headers: { cookie, 'user-agent': USER_AGENT },
      })
      status = response.status
      // Unread: only the status matters, and cancelling frees the connection.
      await response.body?.cancel().catch(() => undefined)
    } catch {
      // Timeout, refused connection, DNS, TLS: the verifier could not answer, which says nothing about the visitor.
      return { ok: false, reason: 'verifier_unavailable' }
    }
    if (status >= 200 && status < 300) return { ok: true }
    if (status === 401 || status === 403) return { ok: false, reason: 'refused' }
    return { ok: false, reason: 'verifier_unavailable' }
  }

  function remember(key: string, verdict: VisitorVerdict): void {
    // An outage is not cached: the next request should try again rather than fail for cacheMs.
    if (!verdict.ok && verdict.reason !== 'refused') return
    if (cacheMs === 0 || maxCacheEntries === 0) return
    cache.delete(key)
    cache.set(key, { verdict, expiresAt: clock.now() + cacheMs })
    for (const oldest of cache.keys()) {
      if (cache.size <= maxCacheEntries) break
      cache.delete(oldest)
    }
  }

  return {
    check(visitor) {
      const cookie = visitor.cookie?.trim()
      // Without cookies there is nothing to vouch for: the operator's endpoint is not asked.
      if (cookie === undefined || cookie === '') return Promise.resolve({ ok: false, reason: 'missing' })
      if (!HEADER_VALUE.test(cookie)) return Promise.resolve({ ok: false, reason: 'invalid' })
      const key = createHash('sha256').update(cookie).digest('base64')
      const cached = cache.get(key)
      if (cached !== undefined) {
        if (clock.now() < cached.expiresAt) return Promise.resolve(cached.verdict)
        cache.delete(key)
      }
      const pending = inFlight.get(key)
      if (pending !== undefined) return pending
      const call = ask(cookie)
        .then((verdict) => {
          remember(key, verdict)
          return verdict
        })
        .finally(() => inFlight.delete(key))
      inFlight.set(key, call)
      return call
    },
  }
}

function verifierUrl(value: unknown): string {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new Error('The verify-url visitor check "url" must be an absolute http:// or https:// URL.')
  }
  // The URL is not quoted in these messages: its query string may hold the operator's own secret.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('The verify-url visitor check "url" must use http:// or https://.')
  if (url.username !== '' || url.password !== '') throw new Error('The verify-url visitor check "url" must not contain a user name or password.')
  url.hash = ''
  return url.href
}

function wholeNumber(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new Error(`The verify-url visitor check "${name}" must be a whole number, ${min} or more.`)
  return value
}

import { createHmac, timingSafeEqual } from 'node:crypto'
import type { VisitorCheck, VisitorCheckOptions } from './createVisitorCheck.js'
import { assertCookieName, readCookie } from './readCookie.js'

type SignedCookieOptions = Extract<VisitorCheckOptions, { method: 'signed-cookie' }>

/**
 * A cookie signed by the site's own Express or Fastify app, so the relay can reuse the session cookie the
 * site already sets. The signature proves the site issued the value, not that the session is still open on
 * the site; operators who need logout to count at once use `verify-url`.
 */
export function createSignedCookieCheck(options: SignedCookieOptions): VisitorCheck {
  assertCookieName(options.cookieName)
  const { secret } = options
  if (typeof secret !== 'string' || secret === '') throw new Error('The signed-cookie visitor check "secret" must be a non-empty string.')
  return {
    async check(visitor) {
      const cookie = readCookie(visitor.cookie, options.cookieName)
      if (!cookie.ok) return cookie
      return isSigned(cookie.value, secret) ? { ok: true } : { ok: false, reason: 'invalid' }
    },
  }
}

/**
 * Express (cookie-parser) writes `s:<value>.<signature>`; @fastify/cookie writes `<value>.<signature>`. A
 * Fastify value may itself start with `s:`, so both readings are tried; each is a full constant-time check
 * and either needs a signature made with the secret.
 */
function isSigned(cookie: string, secret: string): boolean {
  if (cookie.startsWith('s:') && signatureMatches(cookie.slice(2), secret)) return true
  return signatureMatches(cookie, secret)
}

/** The cookie-signature format both use: HMAC-SHA256 of the value, standard base64, padding stripped. */
function signatureMatches(signed: string, secret: string): boolean {
  // The signature never contains a dot, so the last one separates it from a value that may.
  const dot = signed.lastIndexOf('.')
  if (dot === -1) return false
  const given = Buffer.from(signed.slice(dot + 1))
  const expected = Buffer.from(createHmac('sha256', secret).update(signed.slice(0, dot)).digest('base64').replace(/=+$/, ''))
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * Browsers cap a cookie at about 4 KiB, so a longer one is garbage or an attack; refusing it before decoding
 * bounds the work (base64, JSON, crypto) that one anonymous request can cause.
 */
export const MAX_COOKIE_LENGTH = 8 * 1024

export type CookieRead = { ok: true; value: string } | { ok: false; reason: 'missing' | 'invalid' }

// RFC 6265 §4.1.1: a cookie name is an RFC 7230 token.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Called once at creation, so a typo in the configured name fails at start, not as "every visitor is missing". */
export function assertCookieName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) throw new Error('The visitor check "cookieName" must be a cookie name (letters, digits and !#$%&\'*+-.^_`|~).')
}

/**
 * The URL-decoded value of one cookie from a raw Cookie header. When a name repeats (same cookie set for
 * several paths or domains) the first wins, as in the `cookie` package used by Express and Fastify; browsers
 * send the most specific path first.
 */
export function readCookie(header: string | undefined, name: string): CookieRead {
  if (header === undefined) return { ok: false, reason: 'missing' }
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue
    let raw = pair.slice(eq + 1).trim()
    if (raw.length > MAX_COOKIE_LENGTH) return { ok: false, reason: 'invalid' }
    // RFC 6265 allows a value in double quotes; the quotes are not part of it.
    if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) raw = raw.slice(1, -1)
    // An emptied cookie is how many sites log out: no credential, not a forged one.
    if (raw === '') return { ok: false, reason: 'missing' }
    try {
      return { ok: true, value: decodeURIComponent(raw) }
    } catch {
      // Broken percent-encoding: unlike the `cookie` package we do not fall back to the raw bytes, so one
      // credential has one spelling.
      return { ok: false, reason: 'invalid' }
    }
  }
  return { ok: false, reason: 'missing' }
}

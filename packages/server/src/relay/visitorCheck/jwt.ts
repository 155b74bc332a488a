import { createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto'
import { TextDecoder } from 'node:util'
import type { Clock } from '../../clock.js'
import type { VisitorCheck, VisitorCheckOptions, VisitorVerdict } from './createVisitorCheck.js'
import { assertCookieName, readCookie } from './readCookie.js'

type JwtOptions = Extract<VisitorCheckOptions, { method: 'jwt' }>

const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30
// RFC 7518 §3.3: RS256 keys MUST be 2048 bits or larger (jsonwebtoken 9 refuses smaller ones too).
const MIN_RSA_MODULUS_BITS = 2048

interface SignatureCheck {
  /** The only `alg` accepted: a token may not choose how it is verified (RFC 8725 §2.1, §3.1). */
  alg: 'HS256' | 'RS256'
  matches(signingInput: string, signature: Buffer): boolean
}

/**
 * A JWT (RFC 7519, compact JWS) carried in a cookie, verified with node:crypto alone: the whole surface is
 * the few lines below, rather than a library that supports algorithms and key sources we do not want.
 */
export function createJwtCheck(options: JwtOptions, clock: Clock): VisitorCheck {
  assertCookieName(options.cookieName)
  const signature = signatureCheck(options)
  const toleranceSeconds = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS
  if (typeof toleranceSeconds !== 'number' || !Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) {
    throw new Error('The jwt visitor check "clockToleranceSeconds" must be a number of seconds, 0 or more.')
  }
  for (const claim of ['issuer', 'audience'] as const) {
    const expected = options[claim]
    if (expected !== undefined && (typeof expected !== 'string' || expected === '')) throw new Error(`The jwt visitor check "${claim}" must be a non-empty string when given.`)
  }
  const claims: ClaimRules = { issuer: options.issuer, audience: options.audience, toleranceMs: toleranceSeconds * 1000 }

  return {
    async check(visitor) {
      const cookie = readCookie(visitor.cookie, options.cookieName)
      if (!cookie.ok) return cookie
      try {
        return verifyJwt(cookie.value, signature, claims, clock.now())
      } catch {
        // verifyJwt turns every bad input into a verdict already; this is the "never a throw" promise kept
        // even against an input nobody thought of.
        return { ok: false, reason: 'invalid' }
      }
    },
  }
}

interface ClaimRules {
  issuer: string | undefined
  audience: string | undefined
  toleranceMs: number
}

function signatureCheck(options: JwtOptions): SignatureCheck {
  const { hs256Secret: secret, rs256PublicKey: pem } = options
  if ((secret === undefined) === (pem === undefined)) throw new Error('The jwt visitor check needs exactly one of "hs256Secret" or "rs256PublicKey".')
  if (secret !== undefined) {
    if (typeof secret !== 'string' || secret === '') throw new Error('The jwt visitor check "hs256Secret" must be a non-empty string.')
    return {
      alg: 'HS256',
      matches(signingInput, signature) {
        const expected = createHmac('sha256', secret).update(signingInput).digest()
        // The length is public (always 32 for a real token); the bytes are compared in constant time.
        return signature.length === expected.length && timingSafeEqual(signature, expected)
      },
    }
  }
  const key = rsaPublicKey(pem)
  return {
    alg: 'RS256',
    matches(signingInput, signature) {
      // PKCS#1 v1.5 with SHA-256 is what RS256 means (RFC 7518 §3.3); it is Node's default for RSA keys.
      return verify('sha256', Buffer.from(signingInput), key, signature)
    },
  }
}

function rsaPublicKey(pem: unknown): KeyObject {
  if (typeof pem !== 'string') throw new Error('The jwt visitor check "rs256PublicKey" must be a PEM string.')
  // The relay only verifies; holding the signing key would let anyone who reads its config mint visitors.
  if (pem.includes('PRIVATE KEY-----')) throw new Error('The jwt visitor check "rs256PublicKey" is a private key: give the relay the public key only.')
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch {
    throw new Error('The jwt visitor check "rs256PublicKey" is not a PEM public key.')
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error('The jwt visitor check "rs256PublicKey" must be an RSA key.')
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) throw new Error(`The jwt visitor check "rs256PublicKey" must be at least ${MIN_RSA_MODULUS_BITS} bits.`)
  return key
}

/**
 * The signature is checked before any claim is read, so an unsigned token is only ever 'invalid', and
 * 'expired' means "ours, but too old". A token without `exp` is refused: a cookie that never expires would
 * outlive every logout.
 */
function verifyJwt(token: string, signature: SignatureCheck, rules: ClaimRules, nowMs: number): VisitorVerdict {
  const parts = token.split('.')
  if (parts.length !== 3) return { ok: false, reason: 'invalid' }
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]

  const header = decodeJsonObject(headerPart)
  // Only the configured algorithm: this rejects `none` and the RS256→HS256 confusion (an HMAC "signed"
  // with the public key). `crit` names extensions we do not implement, which RFC 7515 §4.1.11 says to refuse.
  if (header === undefined || header.alg !== signature.alg || 'crit' in header) return { ok: false, reason: 'invalid' }
  const signatureBytes = decodeBase64Url(signaturePart)
  if (signatureBytes === undefined || !signature.matches(`${headerPart}.${payloadPart}`, signatureBytes)) return { ok: false, reason: 'invalid' }

  const claims = decodeJsonObject(payloadPart)
  if (claims === undefined) return { ok: false, reason: 'invalid' }
  const { exp, nbf } = claims
  if (!isNumericDate(exp) || (nbf !== undefined && !isNumericDate(nbf))) return { ok: false, reason: 'invalid' }
  if (rules.issuer !== undefined && claims.iss !== rules.issuer) return { ok: false, reason: 'invalid' }
  if (rules.audience !== undefined && !audienceIncludes(claims.aud, rules.audience)) return { ok: false, reason: 'invalid' }
  // Not yet valid is 'invalid', not 'expired': waiting will not help the visitor's current request either.
  if (nbf !== undefined && nowMs + rules.toleranceMs < nbf * 1000) return { ok: false, reason: 'invalid' }
  // RFC 7519 §4.1.4: the current time must be before `exp`.
  if (nowMs - rules.toleranceMs >= exp * 1000) return { ok: false, reason: 'expired' }
  return { ok: true }
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

// RFC 7519 §4.1.3: `aud` is one string or an array of them.
function audienceIncludes(aud: unknown, expected: string): boolean {
  return aud === expected || (Array.isArray(aud) && aud.includes(expected))
}

const BASE64URL = /^[A-Za-z0-9_-]+$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Strict base64url without padding (RFC 7515 §2). Node's decoder skips unknown characters and ignores
 * stray trailing bits; re-encoding rejects both, so one token has exactly one spelling.
 */
function decodeBase64Url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}

function decodeJsonObject(text: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64Url(text)
  if (bytes === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(bytes))
  } catch {
    return undefined
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

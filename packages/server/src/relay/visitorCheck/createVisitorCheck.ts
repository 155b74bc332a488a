import type { Clock } from '../../clock.js'
import { createJwtCheck } from './jwt.js'
import { createSignedCookieCheck } from './signedCookie.js'
import { createVerifyUrlCheck } from './verifyUrl.js'

export type VisitorCheckOptions =
  | {
      method: 'jwt'
      cookieName: string
      hs256Secret?: string
      /** PEM (SPKI, PKCS#1 or an X.509 certificate). */
      rs256PublicKey?: string
      issuer?: string
      audience?: string
      /** Default 30. */
      clockToleranceSeconds?: number
    }
  | { method: 'signed-cookie'; cookieName: string; secret: string }
  | {
      method: 'verify-url'
      url: string
      /** Default 60_000. */
      cacheMs?: number
      /** Default 2_000. */
      timeoutMs?: number
      /** Default 10_000. */
      maxCacheEntries?: number
    }

/**
 * `verifier_unavailable` is kept apart from the refusals so the relay can answer 503 (try later) when the
 * operator's verifier is down, rather than telling a logged-in visitor they are not logged in.
 */
export type VisitorVerdict = { ok: true } | { ok: false; reason: 'missing' | 'invalid' | 'expired' | 'refused' | 'verifier_unavailable' }

export interface VisitorCheck {
  /** Never throws: every failure, however malformed the input, is a verdict. */
  check(visitor: { cookie: string | undefined }): Promise<VisitorVerdict>
}

/**
 * The gate of the relay's authentication proxy mode (issue 8): only visitors that pass it have their events
 * forwarded with the real client token. Options are validated here, once, so a misconfigured relay stops at
 * start with one clear sentence instead of refusing every visitor at run time.
 */
export function createVisitorCheck(options: VisitorCheckOptions, deps: { clock: Clock }): VisitorCheck {
  switch (options.method) {
    case 'jwt':
      return createJwtCheck(options, deps.clock)
    case 'signed-cookie':
      return createSignedCookieCheck(options)
    case 'verify-url':
      return createVerifyUrlCheck(options, deps.clock)
    default:
      // Reachable from untyped configuration (JSON, environment).
      throw new Error(`Unknown visitor check method ${JSON.stringify((options as { method?: unknown }).method)}: use jwt, signed-cookie or verify-url.`)
  }
}

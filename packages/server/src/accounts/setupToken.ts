import { createHash } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { RandomSource } from '../randomSource.js'
import type { Store } from '../store/Store.js'

/**
 * The first-start setup link (issue 6): no default password, instead a random one-time token printed as
 * `<url>/setup#<token>`. The token sits in the fragment, which browsers never send, so it appears in no
 * request line or access log; the page posts it in a body. Stored as its SHA-256, valid 24 hours, consumed
 * by the first account it creates. A new one is printed on every start while no user exists.
 */
export const SETUP_TOKEN_TTL_MS = 24 * 3_600_000
const TOKEN_BYTES = 32
export const SETUP_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

export function hashSetupToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export async function createSetupToken(deps: { store: Store; clock: Clock; random: RandomSource }): Promise<string> {
  const token = deps.random.bytes(TOKEN_BYTES).toString('base64url')
  const now = deps.clock.now()
  await deps.store.users.deleteExpiredSetupTokens(now)
  await deps.store.users.createSetupToken({ hash: hashSetupToken(token), createdAt: now, expiresAt: now + SETUP_TOKEN_TTL_MS })
  return token
}

export function setupLink(baseUrl: string, token: string): string {
  return `${baseUrl}/setup#${token}`
}

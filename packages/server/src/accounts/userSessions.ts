import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { RandomSource } from '../randomSource.js'
import type { Store } from '../store/Store.js'

/**
 * Dashboard sessions (issue 6): a random 256-bit id in an HttpOnly cookie; the server keeps only its SHA-256,
 * so a copy of the database opens no session. Expiry is idle 12 h (a working day with breaks) and absolute
 * 7 days (a stolen cookie is useful for a week at most, and people sign in once a week at least). Logout and
 * password changes delete the row: revocation takes effect on the next request.
 */
export const SESSION_COOKIE = 'tacit_session'
export const SESSION_IDLE_MS = 12 * 3_600_000
export const SESSION_ABSOLUTE_MS = 7 * 86_400_000
/** last_seen_at is written at most this often, so reading pages does not mean a write per request. */
export const SESSION_TOUCH_MS = 60_000

const ID_BYTES = 32
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

export interface SessionDeps {
  store: Store
  clock: Clock
}

export interface StartedSession {
  id: string
  csrfToken: string
  expiresAt: number
}

export interface ResumedSession {
  userId: number
  idHash: string
  csrfToken: string
  expiresAt: number
}

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex')
}

/**
 * The CSRF token is derived from the session id (a keyed hash), so it needs no storage, changes with every
 * session, and does not reveal the id: the page's script may read it, the cookie stays HttpOnly.
 */
export function csrfTokenOf(sessionId: string): string {
  return createHmac('sha256', sessionId).update('tacit-csrf-v1').digest('base64url')
}

export function csrfTokenMatches(sessionId: string, presented: string): boolean {
  const expected = Buffer.from(csrfTokenOf(sessionId))
  const actual = Buffer.from(presented)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

export async function startSession(deps: SessionDeps & { random: RandomSource }, userId: number): Promise<StartedSession> {
  const id = deps.random.bytes(ID_BYTES).toString('base64url')
  const now = deps.clock.now()
  const expiresAt = now + SESSION_ABSOLUTE_MS
  await deps.store.users.createSession({ idHash: hashSessionId(id), userId, createdAt: now, expiresAt })
  return { id, csrfToken: csrfTokenOf(id), expiresAt }
}

/** The live session with this id, touched when a minute has passed; an expired one is deleted on the way. */
export async function resumeSession(deps: SessionDeps, id: string): Promise<ResumedSession | undefined> {
  if (!SESSION_ID_PATTERN.test(id)) return undefined
  const idHash = hashSessionId(id)
  const session = await deps.store.users.findSession(idHash)
  if (!session) return undefined
  const now = deps.clock.now()
  if (now >= session.expiresAt || now >= session.lastSeenAt + SESSION_IDLE_MS) {
    await deps.store.users.deleteSession(idHash)
    return undefined
  }
  if (now - session.lastSeenAt >= SESSION_TOUCH_MS) await deps.store.users.touchSession(idHash, now)
  return { userId: session.userId, idHash, csrfToken: csrfTokenOf(id), expiresAt: session.expiresAt }
}

/** Deletes the sessions that have expired by either rule; returns how many. */
export async function deleteExpiredSessions(deps: SessionDeps): Promise<number> {
  const now = deps.clock.now()
  return deps.store.users.deleteExpiredSessions({ idleBefore: now - SESSION_IDLE_MS, now })
}

/**
 * The value of the `tacit_session` cookie in a Cookie header, parsed by hand (RFC 6265 §5.4: pairs separated
 * by `;`, names compared exactly). Only a well-formed id is returned; when several are sent (a cookie set for
 * a parent domain next to ours) the first well-formed one wins, as browsers send the most specific first.
 */
export function sessionIdFromCookieHeader(header: string | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > 16_384) return undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1) continue
    if (pair.slice(0, eq).trim() !== SESSION_COOKIE) continue
    let value = pair.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    if (SESSION_ID_PATTERN.test(value)) return value
  }
  return undefined
}

/** Whether the header names a session cookie at all, well-formed or not. */
export function hasSessionCookie(header: string | undefined): boolean {
  return typeof header === 'string' && header.split(';').some((pair) => pair.split('=')[0]!.trim() === SESSION_COOKIE)
}

/** The Set-Cookie value for a session; `Secure` when the request came over HTTPS (directly or per a trusted proxy). */
export function sessionCookie(id: string, maxAgeMs: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}${secure ? '; Secure' : ''}`
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`
}

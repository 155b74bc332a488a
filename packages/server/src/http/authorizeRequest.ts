import type { FastifyReply, FastifyRequest } from 'fastify'
import { APP_ROLES, type AppRole } from '../accounts/appRoles.js'
import { clearedSessionCookie, csrfTokenMatches, hasSessionCookie, resumeSession, sessionIdFromCookieHeader } from '../accounts/userSessions.js'
import type { AuditActor } from '../audit/auditEntry.js'
import type { App } from '../store/Store.js'
import { authenticateSecretKey, keyCoversApp, type KeyAuthDeps } from './authenticateSecretKey.js'

export { APP_ROLES, type AppRole } from '../accounts/appRoles.js'

/**
 * Who may do what under `/api/v1` (issue 6, "Accounts and access"): an operator API key (`Authorization: Bearer`,
 * acting as owner of the apps it covers), or a dashboard user's session (a role per app). Every dashboard and
 * automation route asks here, once, before it reads anything.
 */

export interface Principal {
  /** How the request authenticated. */
  via: 'api_key' | 'session'
  /** Recorded in the audit log for changes it makes. */
  actor: AuditActor
  /** The role on an app, or undefined when the principal cannot see it. */
  roleOn(app: App): Promise<AppRole | undefined>
  /** Whether it may create apps (http/appRoutes.ts): an API key for all apps, or the owner of at least one app. */
  mayCreateApps(): Promise<boolean>
  /** Set when the request came with a dashboard session cookie. */
  session?: SessionPrincipal
}

export interface SessionPrincipal {
  userId: number
  /** SHA-256 of the session id: what the store knows the session by. */
  idHash: string
  csrfToken: string
  expiresAt: number
}

/** Methods that change nothing need no CSRF token (and must not change anything: RFC 9110 §9.2.1). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
export const CSRF_HEADER = 'x-tacit-csrf'

export type AuthorizeDeps = KeyAuthDeps

export type Authorized<T> = T | { refused: FastifyReply }

/**
 * The principal of a request, or the 401 (403 for a missing CSRF token) already sent. An `Authorization`
 * header means an API key even when a cookie comes along: scripts have no sessions, and a key must not be
 * weakened by whatever cookie a browser adds. Without one, the `tacit_session` cookie is a dashboard session.
 */
export async function authenticate(deps: AuthorizeDeps, request: FastifyRequest, reply: FastifyReply): Promise<Authorized<{ principal: Principal }>> {
  if (request.headers.authorization === undefined && hasSessionCookie(request.headers.cookie)) return authenticateSession(deps, request, reply)
  const auth = await authenticateSecretKey(deps, request, reply, 'api')
  if ('refused' in auth) return auth
  const key = auth.key
  return {
    principal: {
      via: 'api_key',
      actor: 'cli',
      roleOn: async (app) => (keyCoversApp(key, app.id) ? 'owner' : undefined),
      mayCreateApps: async () => key.appId === null,
    },
  }
}

/**
 * A dashboard session: live (neither idle nor past its absolute expiry), and on a method that changes
 * something, the session's CSRF token in `X-Tacit-CSRF`. The cookie is SameSite=Strict already; the header is
 * the second lock, since a cross-site page cannot set a custom header without a CORS preflight we never grant.
 */
async function authenticateSession(deps: AuthorizeDeps, request: FastifyRequest, reply: FastifyReply): Promise<Authorized<{ principal: Principal }>> {
  const id = sessionIdFromCookieHeader(request.headers.cookie)
  const session = id === undefined ? undefined : await resumeSession(deps, id)
  if (!id || !session) {
    reply.header('set-cookie', clearedSessionCookie(request.protocol === 'https'))
    return { refused: reply.code(401).send({ error: 'unauthorized', message: 'Your session has expired or was signed out; sign in again.' }) }
  }
  if (!SAFE_METHODS.has(request.method)) {
    const presented = request.headers[CSRF_HEADER]
    if (typeof presented !== 'string' || !csrfTokenMatches(id, presented)) {
      return { refused: reply.code(403).send({ error: 'csrf', message: `Send the session's csrf_token (GET /api/v1/session) in the X-Tacit-CSRF header.` }) }
    }
  }
  const { userId } = session
  return {
    principal: {
      via: 'session',
      actor: `user:${userId}`,
      roleOn: (app) => deps.store.users.roleOf(userId, app.id),
      mayCreateApps: async () => (await deps.store.users.rolesOf(userId)).some((r) => r.role === 'owner'),
      session: { userId, idHash: session.idHash, csrfToken: session.csrfToken, expiresAt: session.expiresAt },
    },
  }
}

/**
 * The app named in the URL (id or name) when the request's principal has at least `needed` on it. An app it
 * cannot see answers 404 exactly like a missing one (no probing which apps exist); too small a role, 403.
 */
export async function authorizeApp(
  deps: AuthorizeDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  needed: AppRole,
): Promise<Authorized<{ app: App; role: AppRole; principal: Principal }>> {
  const authenticated = await authenticate(deps, request, reply)
  if ('refused' in authenticated) return authenticated
  const { principal } = authenticated
  const ref = (request.params as { app?: string }).app ?? ''
  const app = /^\d{1,15}$/.test(ref) ? await deps.store.getApp(Number(ref)) : ref.length > 0 && ref.length <= 63 ? await deps.store.findAppByName(ref) : undefined
  const role = app && (await principal.roleOn(app))
  if (!app || !role) return { refused: reply.code(404).send({ error: 'not_found', message: 'There is no such app, or you do not have access to it.' }) }
  if (APP_ROLES.indexOf(role) < APP_ROLES.indexOf(needed)) {
    return { refused: reply.code(403).send({ error: 'forbidden', message: `This needs the ${needed} role on "${app.name}"; you are ${role === 'viewer' ? 'a viewer' : `a ${role}`}.` }) }
  }
  return { app, role, principal }
}

import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuditActor } from '../audit/auditEntry.js'
import type { App } from '../store/Store.js'
import { authenticateSecretKey, keyCoversApp, type KeyAuthDeps } from './authenticateSecretKey.js'

/**
 * Who may do what under `/api/v1` (issue 6, "Accounts and access"): an operator API key (`Authorization: Bearer`,
 * acting as owner of the apps it covers), or a dashboard user's session (a role per app). Every dashboard and
 * automation route asks here, once, before it reads anything.
 */

/** Per app, each including the ones before it: viewer reads; member also changes issues; owner also settings. */
export const APP_ROLES = ['viewer', 'member', 'owner'] as const
export type AppRole = (typeof APP_ROLES)[number]

export interface Principal {
  /** How the request authenticated. */
  via: 'api_key' | 'session'
  /** Recorded in the audit log for changes it makes. */
  actor: AuditActor
  /** The role on an app, or undefined when the principal cannot see it. */
  roleOn(app: App): Promise<AppRole | undefined>
}

export type AuthorizeDeps = KeyAuthDeps

export type Authorized<T> = T | { refused: FastifyReply }

/** The principal of a request, or the 401 already sent. */
export async function authenticate(deps: AuthorizeDeps, request: FastifyRequest, reply: FastifyReply): Promise<Authorized<{ principal: Principal }>> {
  const auth = await authenticateSecretKey(deps, request, reply, 'api')
  if ('refused' in auth) return auth
  const key = auth.key
  return {
    principal: {
      via: 'api_key',
      actor: 'cli',
      roleOn: async (app) => (keyCoversApp(key, app.id) ? 'owner' : undefined),
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

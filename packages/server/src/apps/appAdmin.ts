import { tokenHint, type AuditActor } from '../audit/auditEntry.js'
import type { Clock } from '../clock.js'
import type { RandomSource } from '../randomSource.js'
import type { App, ClientToken, Store } from '../store/Store.js'
import { parseOrigins, type AppSettingsOverrides } from './appSettings.js'
import { generateClientToken } from './clientTokens.js'

/** Operator actions on apps and tokens, shared by the CLI and the server's first start. */

export class AdminError extends Error {}

const APP_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i

export function validateAppName(name: string): void {
  if (!APP_NAME.test(name)) {
    throw new AdminError(`"${name}" is not a valid app name: use up to 63 letters, digits, "-" or "_", starting with a letter or digit.`)
  }
  // Every <app> argument accepts a name or an id, so a name must never look like an id.
  if (/^\d+$/.test(name)) throw new AdminError(`"${name}" is not a valid app name: it must not be all digits.`)
}

export interface AdminDeps {
  store: Store
  clock: Clock
  random: RandomSource
  /** Recorded in the audit log; the server's own first start when not given. */
  actor?: AuditActor
}

export async function createAppWithToken(
  deps: AdminDeps,
  input: { name: string; origins?: readonly string[] },
): Promise<{ app: App; token: ClientToken }> {
  validateAppName(input.name)
  if (await deps.store.findAppByName(input.name)) throw new AdminError(`An app named "${input.name}" already exists.`)
  const settings: AppSettingsOverrides = {}
  if (input.origins?.length) settings.origins = parseOrigins(input.origins.join(','))
  const app = await deps.store.createApp({ name: input.name, createdAt: deps.clock.now(), settings })
  const token = await insertClientToken(deps, app.id)
  // One entry for both: the first token is part of creating the app.
  await deps.store.appendAudit({
    appId: app.id,
    at: app.createdAt,
    actor: deps.actor ?? 'server',
    action: 'app.create',
    detail: { name: app.name, token: tokenHint(token.token), origins: settings.origins ?? [] },
  })
  return { app, token }
}

export async function createClientToken(deps: AdminDeps, appId: number): Promise<ClientToken> {
  const token = await insertClientToken(deps, appId)
  await deps.store.appendAudit({
    appId,
    at: token.createdAt,
    actor: deps.actor ?? 'server',
    action: 'token.create',
    detail: { token: tokenHint(token.token) },
  })
  return token
}

async function insertClientToken(deps: AdminDeps, appId: number): Promise<ClientToken> {
  const token: ClientToken = {
    token: generateClientToken(deps.random),
    appId,
    createdAt: deps.clock.now(),
    revokedAt: null,
    lastUsedAt: null,
  }
  await deps.store.createToken(token)
  return token
}

/** Finds an app by id (all digits) or by name. */
export async function resolveApp(store: Store, ref: string): Promise<App> {
  const app = /^\d+$/.test(ref) ? await store.getApp(Number(ref)) : await store.findAppByName(ref)
  if (!app) throw new AdminError(`There is no app "${ref}": see \`tacit app list\`.`)
  return app
}

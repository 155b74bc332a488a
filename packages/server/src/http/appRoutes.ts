import type { FastifyInstance } from 'fastify'
import { AdminError, createAppWithToken } from '../apps/appAdmin.js'
import { SettingError } from '../apps/appSettings.js'
import { authenticate } from './authorizeRequest.js'
import type { HttpDeps } from './createHttpServer.js'
import { isoTime, refuseBody, refuseParameters, sendBad, type Query } from './queryParameters.js'
import { tokenJson } from './settingsRoutes.js'

const BODY_LIMIT = 16 * 1024
const MAX_ORIGINS = 200

/**
 * Creating an app from the dashboard or a script (issue 6; `tacit app create` does the same from the command
 * line, through the same code). Who may: the owner of at least one app, or an API key for all apps — a viewer
 * or member somewhere cannot grow the instance. A dashboard user becomes the new app's owner. The app comes with
 * its first client token; both, and the membership, are audited with the principal as actor.
 */
export async function appRoutes(scope: FastifyInstance, deps: HttpDeps): Promise<void> {
  // JSON only: Fastify would also hand over text/plain as a string.
  scope.removeContentTypeParser('text/plain')
  scope.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff')
  })

  scope.post('/api/v1/apps', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const authenticated = await authenticate(deps, request, reply)
    if ('refused' in authenticated) return authenticated.refused
    const { principal } = authenticated
    const refused = refuseParameters(request.query as Query, reply, []) ?? refuseBody(request.body ?? {}, reply, ['name', 'origins'])
    if (refused) return refused
    if (!(await principal.mayCreateApps())) {
      return reply.code(403).send({ error: 'forbidden', message: 'Creating an app needs the owner role on at least one app (or an API key for all apps).' })
    }
    const { name, origins } = (request.body ?? {}) as { name?: unknown; origins?: unknown }
    if (typeof name !== 'string') return sendBad(reply, '"name" must be the new app\'s name, like "shop": letters, digits, "-" or "_".')
    if (origins !== undefined && !(Array.isArray(origins) && origins.length <= MAX_ORIGINS && origins.every((o) => typeof o === 'string' && o.length <= 300))) {
      return sendBad(reply, `"origins" must be a list of up to ${MAX_ORIGINS} origins, like ["https://shop.example.com"].`)
    }
    if (await deps.store.findAppByName(name)) return reply.code(409).send({ error: 'conflict', message: `An app named "${name.slice(0, 63)}" already exists.` })
    let created: Awaited<ReturnType<typeof createAppWithToken>>
    try {
      created = await createAppWithToken({ store: deps.store, clock: deps.clock, random: deps.random, actor: principal.actor }, { name, origins: (origins as string[] | undefined) ?? [] })
    } catch (error) {
      if (error instanceof AdminError || error instanceof SettingError) return sendBad(reply, error.message)
      throw error
    }
    const { app, token } = created
    if (principal.session) {
      const user = await deps.store.users.getUser(principal.session.userId)
      await deps.store.users.addMember(app.id, principal.session.userId, 'owner')
      if (user) await deps.store.appendAudit({ appId: app.id, at: deps.clock.now(), actor: principal.actor, action: 'member.add', detail: { user: user.id, email: user.email, role: 'owner' } })
    }
    return reply.code(201).send({ app: { id: app.id, name: app.name, created_at: isoTime(app.createdAt), role: 'owner' }, token: tokenJson(token) })
  })
}

import type { FastifyInstance } from 'fastify'
import { WIRE_TYPES, type WireType } from '../protocol/wireSchema.js'
import type { SessionListQuery } from '../store/ExploreStore.js'
import type { SessionSummary } from '../store/Store.js'
import { authorizeApp } from './authorizeRequest.js'
import type { HttpDeps } from './createHttpServer.js'
import { assertOnlyKeys, BadRequest, badRequest, integer, isoTime, oneOf, repeated, single, text, timeRange, type Query } from './queryParameters.js'
import { storedEventJson } from './storedEventJson.js'

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 500
const MAX_OFFSET = 100_000
const DEFAULT_EVENTS = 500
/** A timeline is read in one go: a session with more events than this shows its first ones and says so. */
const MAX_EVENTS = 2000
const DEVICE_TYPES = ['desktop', 'mobile', 'tablet', 'tv', 'unknown'] as const
/** Session ids are random UUIDs (sessions/randomUuid.ts); anything else cannot name one. */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The sessions view (issue 6, docs/API.md "Sessions"): anonymous session summaries and one session's
 * timeline. Viewer role. A session is known by its random id only; nothing here can lead back to a visitor.
 */
export async function sessionRoutes(scope: FastifyInstance, deps: HttpDeps): Promise<void> {
  scope.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff')
  })

  scope.get('/api/v1/apps/:app/sessions', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    const query = request.query as Query
    try {
      assertOnlyKeys(query, ['from', 'to', 'limit', 'offset', 'page', 'env', 'country', 'browser', 'os', 'device', 'release', 'errors'])
      const { since, until } = timeRange(query, deps.clock)
      const limit = integer(query, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT
      const offset = integer(query, 'offset', 0, MAX_OFFSET) ?? 0
      // One more than asked, to know whether there is a next page without counting.
      const filter: SessionListQuery = { appId: found.app.id, since, until, limit: limit + 1, offset }
      const country = single(query, 'country')
      if (country !== undefined) {
        if (!/^[A-Za-z]{2}$/.test(country)) throw new BadRequest('"country" must be an ISO 3166-1 alpha-2 code like DE.')
        filter.country = country.toUpperCase()
      }
      const browser = text(query, 'browser', 64)
      const os = text(query, 'os', 64)
      const device = oneOf(query, 'device', DEVICE_TYPES)
      const release = text(query, 'release')
      if (browser) filter.browser = browser
      if (os) filter.os = os
      if (device) filter.deviceType = device
      if (release) filter.release = release
      // The entry page, as in the overview's session panels (a path: /cart).
      const page = text(query, 'page', 200)
      const env = text(query, 'env', 64)
      if (page !== undefined) {
        if (!page.startsWith('/')) throw new BadRequest('"page" must be a path like /cart (the session\'s entry page).')
        filter.entryPage = page
      }
      if (env) filter.env = env
      if (oneOf(query, 'errors', ['true', 'false'] as const) === 'true') filter.withErrors = true
      const sessions = await deps.store.explorer.listSessions(filter)
      return {
        range: { from: isoTime(since), to: isoTime(until) },
        sessions: sessions.slice(0, limit).map(sessionJson),
        next_offset: sessions.length > limit ? offset + limit : null,
      }
    } catch (error) {
      return badRequest(reply, error)
    }
  })

  scope.get('/api/v1/apps/:app/sessions/:id', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    const query = request.query as Query
    let types: WireType[]
    let limit: number
    try {
      assertOnlyKeys(query, ['type', 'limit'])
      types = repeated(query, 'type', WIRE_TYPES.length).map((type) => {
        if (!(WIRE_TYPES as readonly string[]).includes(type)) throw new BadRequest(`"type" must be one of ${WIRE_TYPES.join(', ')}.`)
        return type as WireType
      })
      limit = integer(query, 'limit', 1, MAX_EVENTS) ?? DEFAULT_EVENTS
    } catch (error) {
      return badRequest(reply, error)
    }
    const id = (request.params as { id: string }).id
    const session = SESSION_ID.test(id) ? await deps.store.explorer.getSession(found.app.id, id) : undefined
    // Another app's session reads exactly like a missing one.
    if (!session) return reply.code(404).send({ error: 'not_found', message: 'There is no session with that id in this app (sessions are kept for the retention.session days).' })
    const events = await deps.store.explorer.sessionEvents({ appId: found.app.id, sessionId: id, ...(types.length > 0 && { types }), limit: limit + 1 })
    return { session: sessionJson(session), events: events.slice(0, limit).map(storedEventJson), truncated: events.length > limit }
  })
}

export function sessionJson(session: SessionSummary) {
  return {
    id: session.sessionId,
    start: isoTime(session.start),
    end: isoTime(session.end),
    duration_ms: session.end - session.start,
    views: session.views,
    actions: session.actions,
    errors: session.errors,
    country: session.country,
    browser: session.browser,
    os: session.os,
    device: session.deviceType,
    release: session.release ?? null,
    entry_page: session.entryPage ?? null,
    exit_page: session.exitPage ?? null,
    env: session.env ?? null,
  }
}

import { isUtf8 } from 'node:buffer'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isOriginAllowed } from '../../apps/appSettings.js'
import type { ResolvedApp } from '../../apps/createAppRegistry.js'
import { trackxPing } from '../../compat/trackx/trackxPing.js'
import { translateTrackxEvent } from '../../compat/trackx/translateTrackxEvent.js'
import { TRACKX_REPORT_MEDIA_TYPES, translateTrackxReport } from '../../compat/trackx/translateTrackxReport.js'
import { addDrop, type DropCounts } from '../../pipeline/dropReasons.js'
import { userAgentKind } from '../../pipeline/stages/dropBots.js'
import { acceptRawBodies, answerPreflight, createIngestEdge, refuse, type AcceptedMediaTypes, type Admitted, type IngestDeps } from '../createIngestEdge.js'
import { storeTranslated } from './storeTranslated.js'

const EVENT_MEDIA_TYPES: AcceptedMediaTypes = {
  types: new Set(['application/json', 'text/plain']),
  message: 'Content-Type must be application/json, as the TrackX client sends events.',
}
const REPORT_MEDIA_TYPES: AcceptedMediaTypes = {
  types: new Set(TRACKX_REPORT_MEDIA_TYPES),
  message: 'Content-Type must be application/reports+json or application/csp-report.',
}

/**
 * The TrackX intake (issue 9): the unmodified `trackx` browser client, set up with
 * `https://<Tacit host>/v1/<TrackX key>` (`tacit key create <app> --kind trackx`):
 * `POST /v1/<key>/event`, `GET|POST /v1/<key>/ping` and `POST /v1/<key>/report` (browsers' CSP and Reporting API
 * reports, when the site points them there).
 *
 * The client's habits decide the answers: it resends anything not answered `200` (202 and 204 included) up to
 * four more times and, after more than 20 failures, locks itself for 30 minutes — so what arrives and cannot be
 * stored is answered 200 and counted, never refused. A `429` stays a 429, with `Retry-After` exposed to the page:
 * the client then writes a lock to localStorage (`t__x`, a time) and sends nothing until it passes.
 */
export async function trackxIntakeRoutes(scope: FastifyInstance, deps: IngestDeps): Promise<void> {
  const edge = createIngestEdge(deps)
  acceptRawBodies(scope)

  for (const path of ['event', 'ping', 'report']) scope.options(`/v1/:key/${path}`, (request, reply) => preflight(request, reply))
  scope.post('/v1/:key/event', (request, reply) => event(request, reply))
  scope.post('/v1/:key/report', (request, reply) => report(request, reply))
  scope.get('/v1/:key/ping', (request, reply) => ping(request, reply))
  scope.post('/v1/:key/ping', (request, reply) => ping(request, reply))

  function keyOf(request: FastifyRequest): string {
    return (request.params as { key: string }).key
  }

  async function preflight(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const origin = request.headers.origin
    if (origin) {
      const resolved = await deps.registry.resolveTrackxKey(keyOf(request))
      if (resolved && !isOriginAllowed(resolved.settings.origins, origin)) return reply.code(403).send()
    }
    return answerPreflight(reply, origin, 'Content-Type')
  }

  /** The key's app, then the edge's checks (origin, relay), or a refusal already sent. */
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<Admitted | { refused: FastifyReply }> {
    const key = keyOf(request)
    const resolved: ResolvedApp | undefined = await deps.registry.resolveTrackxKey(key)
    if (!resolved) return { refused: refuse(reply, 401, 'invalid_key', 'The TrackX key is unknown or revoked: create one with `tacit key create <app> --kind trackx`.') }
    // The key takes the per-token rate limit, as a client token would.
    return edge.admitApp(request, reply, resolved, key)
  }

  async function event(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const admitted = await admit(request, reply)
    if ('refused' in admitted) return admitted.refused
    const body = await edge.readBody(request, reply, EVENT_MEDIA_TYPES)
    if ('refused' in body) return body.refused
    const dropped: DropCounts = {}
    const translation = isUtf8(body) ? translateTrackxEvent(body.toString('utf8'), { receivedAt: edge.receivedAt(admitted) }) : { skip: 'invalid' as const }
    if ('skip' in translation) addDrop(dropped, translation.skip)
    const refused = await storeTranslated(edge, request, reply, admitted, 'event' in translation ? [translation.event] : [], dropped)
    return refused ? refused.refused : ok(reply)
  }

  async function ping(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const admitted = await admit(request, reply)
    if ('refused' in admitted) return admitted.refused
    const decision = trackxPing({
      receivedAt: edge.receivedAt(admitted),
      accept: request.headers.accept,
      // The node build's ping: a server gets no session, so the ping says nothing Tacit keeps.
      serverClient: userAgentKind(request.headers['user-agent']) === 'server',
    })
    const dropped: DropCounts = {}
    if (!decision.event) addDrop(dropped, 'unsupported')
    const refused = await storeTranslated(edge, request, reply, admitted, decision.event ? [decision.event] : [], dropped)
    if (refused) return refused.refused
    return reply.code(decision.answer.status).headers(decision.answer.headers).send(decision.answer.body)
  }

  async function report(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const admitted = await admit(request, reply)
    if ('refused' in admitted) return admitted.refused
    const body = await edge.readBody(request, reply, REPORT_MEDIA_TYPES)
    if ('refused' in body) return body.refused
    const receivedAt = edge.receivedAt(admitted)
    const decoded = isUtf8(body) ? translateTrackxReport(body.toString('utf8'), receivedAt) : undefined
    const dropped: DropCounts = {}
    // A body that is no report at all is counted, and answered 200 like the rest (browsers retry other answers).
    if (!decoded?.ok) addDrop(dropped, 'invalid')
    else if (decoded.invalid) addDrop(dropped, 'invalid', decoded.invalid)
    const outcome = await edge.store(request, reply, admitted, { events: decoded?.ok ? decoded.events : [], dropped, receivedAt })
    return 'refused' in outcome ? outcome.refused : ok(reply)
  }
}

function ok(reply: FastifyReply): FastifyReply {
  return reply.code(200).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('ok')
}

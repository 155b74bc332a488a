import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isOriginAllowed } from '../../apps/appSettings.js'
import { parseEnvelope } from '../../compat/sentry/parseEnvelope.js'
import { sentryItemKind } from '../../compat/sentry/sentryItemKind.js'
import { translateSentryEvent } from '../../compat/sentry/translateSentryEvent.js'
import { addDrop, type DropCounts } from '../../pipeline/dropReasons.js'
import { parseJsonSafely } from '../../protocol/parseJsonSafely.js'
import { acceptRawBodies, answerPreflight, createIngestEdge, refuse, type IngestDeps } from '../createIngestEdge.js'
import { storeTranslated } from './storeTranslated.js'

/** What Sentry's SDKs send: envelopes as text/plain (browser, a CORS simple request) or with no Content-Type (Node). */
const MEDIA_TYPES = {
  types: new Set(['text/plain', 'application/x-sentry-envelope', 'application/json', 'application/octet-stream']),
  message: 'Content-Type must be text/plain or application/x-sentry-envelope, as the Sentry SDKs send envelopes.',
}
/** `/api/<project>/envelope/` and the legacy `/api/<project>/store/`, with or without the trailing slash. */
const ROUTES = ['/api/:project/envelope/', '/api/:project/envelope', '/api/:project/store/', '/api/:project/store']
const PROJECT = /^\d{1,15}$/
/** The headers a browser must be allowed to read, or the SDK cannot honour a back-off (it then blocks for 60 s). */
const EXPOSED = 'X-Sentry-Rate-Limits, Retry-After'

/**
 * The Sentry intake (issue 9): `@sentry/browser`, `@sentry/node` and other Sentry SDKs, unmodified, with the DSN
 * `http(s)://<Tacit client token>@<Tacit host>/<app id>` — Sentry SDKs refuse a DSN whose project is not all
 * digits, and an app's id is its number. The key comes as `sentry_key` in the query, or in `X-Sentry-Auth` /
 * `Authorization: Sentry sentry_key=…`, or — from a site's `tunnel` — only in the envelope header's `dsn`. Error events become Tacit error events through the allow-list of
 * compat/sentry/translateSentryEvent.ts (never the request headers, cookies or `user.ip_address` an event
 * carries); sessions, client reports and every other item are accepted and counted as `unsupported`.
 *
 * The answers are Sentry's, so the SDKs' back-off works: `200 {"id": …}`, `429` with `Retry-After` and
 * `X-Sentry-Rate-Limits`, `413`, `400` with a reason.
 */
export async function sentryIntakeRoutes(scope: FastifyInstance, deps: IngestDeps): Promise<void> {
  const edge = createIngestEdge(deps)
  acceptRawBodies(scope)

  // Said on every answer, refusals included: a 429 with Retry-After becomes Sentry's rate-limit header too
  // (`<seconds>::organization`: every category, as for a quota that is all used up).
  scope.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.hasHeader('access-control-allow-origin')) reply.header('access-control-expose-headers', EXPOSED)
    const retryAfter = reply.getHeader('retry-after')
    if (reply.statusCode === 429 && retryAfter !== undefined) reply.header('x-sentry-rate-limits', `${String(retryAfter)}::organization`)
    done(null, payload)
  })

  for (const route of ROUTES) {
    scope.options(route, (request, reply) => preflight(request, reply))
    scope.post(route, (request, reply) => intake(request, reply, route.includes('/store')))
  }

  async function preflight(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const origin = request.headers.origin
    const token = sentryKeyOf(request)
    if (origin && token) {
      const resolved = await deps.registry.resolveToken(token)
      if (resolved && !isOriginAllowed(resolved.settings.origins, origin)) return reply.code(403).send()
    }
    return answerPreflight(reply, origin, 'Content-Type, Content-Encoding, X-Sentry-Auth, Authorization')
  }

  async function intake(request: FastifyRequest, reply: FastifyReply, legacyStore: boolean): Promise<FastifyReply> {
    const project = (request.params as { project: string }).project
    if (!PROJECT.test(project)) return refuse(reply, 404, 'invalid_project', 'The DSN\'s project must be the Tacit app\'s id, a number.')
    // Sentry's `tunnel` option posts envelopes without the key anywhere but in the envelope header's `dsn`:
    // then the body is read first, to find it there.
    let body: Buffer | undefined
    let envelope: ReturnType<typeof parseEnvelope> | undefined
    let token = sentryKeyOf(request)
    if (!token && !legacyStore) {
      const read = await edge.readBody(request, reply, MEDIA_TYPES)
      if ('refused' in read) return read.refused
      body = read
      envelope = parseEnvelope(body)
      token = envelope.ok ? dsnKeyOf(envelope.header.dsn) : undefined
    }
    if (!token) return refuse(reply, 401, 'missing_token', 'Send the DSN\'s key (a Tacit client token) as sentry_key, as the Sentry SDKs do.')
    const admitted = await edge.admit(request, reply, token)
    if ('refused' in admitted) return admitted.refused
    if (admitted.app.id !== Number(project)) {
      return refuse(reply, 403, 'project_mismatch', `This key belongs to app ${admitted.app.id}: use it in a DSN ending in /${admitted.app.id}.`)
    }
    if (!body) {
      const read = await edge.readBody(request, reply, MEDIA_TYPES)
      if ('refused' in read) return read.refused
      body = read
    }

    const dropped: DropCounts = {}
    const translated: Array<Record<string, unknown>> = []
    let eventId: unknown
    const takeEvent = (payload: string) => {
      const parsed = parseJsonSafely(payload)
      const result = parsed.ok ? translateSentryEvent(parsed.value) : { skip: 'invalid' as const }
      if ('skip' in result) addDrop(dropped, 'invalid')
      else translated.push(result.event)
      if (parsed.ok && typeof parsed.value === 'object' && parsed.value !== null) eventId ??= (parsed.value as { event_id?: unknown }).event_id
    }
    if (legacyStore) {
      takeEvent(body.toString('utf8'))
    } else {
      envelope ??= parseEnvelope(body)
      if (!envelope.ok) return refuse(reply, 400, 'invalid_envelope', envelope.message)
      eventId = envelope.header.event_id
      for (const item of envelope.items) {
        const kind = sentryItemKind(item.type)
        if (kind === 'translate') takeEvent(item.payload.toString('utf8'))
        // Sessions, client reports, transactions, attachments, replays…: not stored, counted.
        else addDrop(dropped, 'unsupported')
      }
    }

    const refused = await storeTranslated(edge, request, reply, admitted, translated, dropped)
    if (refused) return refused.refused
    return reply.code(200).send(typeof eventId === 'string' && /^[0-9a-f]{32}$/i.test(eventId) ? { id: eventId } : {})
  }
}

/** The key of a DSN (`https://<key>@host/<project>`), as an envelope header carries it. */
function dsnKeyOf(dsn: unknown): string | undefined {
  if (typeof dsn !== 'string') return undefined
  try {
    return decodeURIComponent(new URL(dsn).username) || undefined
  } catch {
    return undefined
  }
}

/** The DSN's public key: `sentry_key` in the query, else in `X-Sentry-Auth` or `Authorization: Sentry …`. */
function sentryKeyOf(request: FastifyRequest): string | undefined {
  const query = (request.query as Record<string, unknown>).sentry_key
  if (typeof query === 'string' && query !== '') return query
  for (const header of [request.headers['x-sentry-auth'], request.headers.authorization]) {
    if (typeof header !== 'string') continue
    const key = /(?:^|[\s,])sentry_key=([^,\s]+)/.exec(header)?.[1]
    if (key) return key
  }
  return undefined
}

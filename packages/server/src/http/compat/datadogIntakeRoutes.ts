import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { promisify } from 'node:util'
import { inflate } from 'node:zlib'
import { parseDdtags, translateDatadogEvent, type DatadogBatch } from '../../compat/datadog/translateDatadogEvent.js'
import { addDrop, type DropCounts } from '../../pipeline/dropReasons.js'
import { LIMITS } from '../../protocol/limits.js'
import { parseJsonSafely } from '../../protocol/parseJsonSafely.js'
import { acceptRawBodies, createIngestEdge, refuse, type IngestDeps } from '../createIngestEdge.js'
import { storeTranslated } from './storeTranslated.js'

const inflateAsync = promisify(inflate)

export const DATADOG_PREFIX = '/api/compat/datadog'

/** What the Datadog browser SDK posts: NDJSON as text/plain (a CORS simple request), or nothing said. */
const MEDIA_TYPES = {
  types: new Set(['text/plain', 'application/json', 'application/x-ndjson', 'multipart/form-data']),
  message: 'Content-Type must be text/plain (NDJSON), as the Datadog browser SDK sends it.',
}

/** The intake tracks the SDK posts to, and what Tacit does with each. */
type Track = 'rum' | 'replay' | 'logs'
const TRACK = /^\/api\/v2\/(rum|replay|logs)$/

/**
 * The Datadog RUM intake (issue 9): `@datadog/browser-rum` v5–v7, unmodified, pointed at Tacit with its `proxy`
 * option. A string proxy makes the SDK post to `…/api/compat/datadog?ddforward=<encoded /api/v2/rum?…>`; a
 * function proxy can post to `…/api/compat/datadog/api/v2/rum?…` directly. Either way the path and query are
 * only parsed — never fetched or followed (Datadog's own proxy forwards to ddforward, a known foot-gun).
 *
 * The client token arrives as `dd-api-key` (a Tacit client token used as the SDK's `clientToken`); the events
 * are translated (compat/datadog/) into Tacit's wire format, checked by Tacit's own decoder, and go through the
 * same edge as `/api/v1/ingest`: origins, limits, the privacy pipeline (sessions from Tacit's two-layer
 * sessions, never the SDK's `session.id`), commit before the answer.
 */
export async function datadogIntakeRoutes(scope: FastifyInstance, deps: IngestDeps): Promise<void> {
  const edge = createIngestEdge(deps)
  acceptRawBodies(scope)

  // The SDK posts simple requests (no preflight), but a preflight is answered from the token's app all the same.
  const preflight = (request: FastifyRequest, reply: FastifyReply) => edge.preflight(request, reply, forwardedTarget(request)?.query.get('dd-api-key') ?? undefined)
  scope.options(DATADOG_PREFIX, preflight)
  scope.options(`${DATADOG_PREFIX}/*`, preflight)
  scope.post(DATADOG_PREFIX, (request, reply) => {
    const target = forwardedTarget(request)
    if (!target) return refuse(reply, 400, 'missing_ddforward', 'Post as the Datadog SDK does with its proxy option: ?ddforward=<the encoded intake path and query>.')
    return intake(request, reply, target.path, target.query)
  })
  scope.post(`${DATADOG_PREFIX}/api/v2/:track`, (request, reply) => {
    const target = forwardedTarget(request)!
    return intake(request, reply, target.path, target.query)
  })

  async function intake(request: FastifyRequest, reply: FastifyReply, path: string, query: URLSearchParams): Promise<FastifyReply> {
    const track = TRACK.exec(path)?.[1] as Track | undefined
    if (!track) return refuse(reply, 404, 'unknown_track', 'Tacit takes the Datadog SDK\'s rum, replay and logs tracks only.')
    const token = query.get('dd-api-key') ?? undefined
    if (!token) return refuse(reply, 401, 'missing_token', 'The Datadog SDK sends its clientToken as dd-api-key: set it to a Tacit client token.')
    const admitted = await edge.admit(request, reply, token)
    if ('refused' in admitted) return admitted.refused
    const raw = await edge.readBody(request, reply, MEDIA_TYPES)
    if ('refused' in raw) return raw.refused
    const dropped: DropCounts = {}

    if (track === 'replay') {
      // Session replay: accepted, so the SDK does not retry, and counted (one segment) until Tacit stores it.
      addDrop(dropped, 'unsupported')
      const refused = await storeTranslated(edge, request, reply, admitted, [], dropped)
      return refused ? refused.refused : reply.code(202).send({})
    }

    const body = query.get('dd-evp-encoding') === 'deflate' ? await inflateBody(raw) : raw
    if (!body) return refuse(reply, 400, 'bad_encoding', 'The body is not valid deflate data, or inflates past 1 MiB.')
    if (track === 'logs') {
      // Browser logs: accepted and counted, one per line of the (inflated) batch, until Tacit stores them.
      addDrop(dropped, 'unsupported', Math.max(1, countLines(body)))
      const refused = await storeTranslated(edge, request, reply, admitted, [], dropped)
      return refused ? refused.refused : reply.code(202).send({})
    }
    // A beacon is sent only as the page may exit: its still-active views hold their final values (see DatadogBatch).
    const batch = { tags: parseDdtags(query.get('ddtags') ?? undefined), pageExit: query.get('_dd.api') === 'beacon' }
    const translated = translateLines(body.toString('utf8'), batch, dropped)
    const refused = await storeTranslated(edge, request, reply, admitted, translated, dropped)
    // Datadog's intake answers 202 with an empty object; the SDK reads only the status.
    return refused ? refused.refused : reply.code(202).send({})
  }
}

/**
 * The intake path and query a request is for: the `ddforward` value of a string proxy (parsed for its path and
 * query only: a base is needed to parse a path, and nothing of it is ever used to connect anywhere), or the
 * request's own path under the prefix and query (a function proxy).
 */
function forwardedTarget(request: FastifyRequest): { path: string; query: URLSearchParams } | undefined {
  const [path = '', search = ''] = request.url.split('?')
  if (path !== DATADOG_PREFIX) return { path: path.slice(DATADOG_PREFIX.length), query: new URLSearchParams(search) }
  const forward = (request.query as Record<string, unknown>).ddforward
  if (typeof forward !== 'string' || !forward.startsWith('/')) return undefined
  const target = new URL(forward, 'http://ddforward.invalid')
  return { path: target.pathname, query: target.searchParams }
}

/**
 * NDJSON lines to Tacit events. A view is re-sent as it changes: within a batch only its newest document
 * version is kept (across batches the store keeps the highest `view.version`, which that version becomes).
 */
function translateLines(text: string, batch: DatadogBatch, dropped: DropCounts): Array<Record<string, unknown>> {
  const events: Array<Record<string, unknown>> = []
  const views = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const parsed = parseJsonSafely(line)
    if (!parsed.ok) {
      addDrop(dropped, 'invalid')
      continue
    }
    for (const translation of translateDatadogEvent(parsed.value, batch)) {
      if ('skip' in translation) {
        addDrop(dropped, translation.skip)
        continue
      }
      const event = translation.event
      const view = event.type === 'view' ? (event.view as { id?: unknown; version?: unknown }) : undefined
      if (view && typeof view.id === 'string') {
        const index = views.get(view.id)
        if (index !== undefined) {
          const kept = (events[index]!.view as { version?: number }).version ?? -1
          if (((view.version as number | undefined) ?? -1) >= kept) events[index] = event
          continue
        }
        views.set(view.id, events.length)
      }
      events.push(event)
    }
  }
  return events
}

async function inflateBody(raw: Buffer): Promise<Buffer | undefined> {
  try {
    return await inflateAsync(raw, { maxOutputLength: LIMITS.bodyBytes })
  } catch {
    return undefined
  }
}

function countLines(body: Buffer): number {
  let lines = 0
  for (const line of body.toString('utf8').split('\n')) if (line.trim() !== '') lines++
  return lines
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isOriginAllowed } from '../apps/appSettings.js'
import type { AppRegistry } from '../apps/createAppRegistry.js'
import type { ClientRateLimits } from '../apps/createClientRateLimits.js'
import type { RateLimiter } from '../apps/createRateLimiter.js'
import { utcDay, type Clock } from '../clock.js'
import { addDrop, type DropCounts } from '../pipeline/dropReasons.js'
import { runPipeline, type RequestContext, type Stage } from '../pipeline/runPipeline.js'
import type { StoredEvent } from '../pipeline/storedEvent.js'
import { decodeBatch, type Problem } from '../protocol/decodeBatch.js'
import { LIMITS } from '../protocol/limits.js'
import type { BatchWriter } from '../store/createBatchWriter.js'
import type { Metrics } from './createMetrics.js'
import { decodeContentEncoding, decodeUtf8Lines } from './readBody.js'

export interface IngestDeps {
  registry: AppRegistry
  rateLimiter: RateLimiter
  clientLimits: ClientRateLimits
  /** The client's address, as far as the trusted proxies can vouch for it. */
  clientIp(request: FastifyRequest): string
  pipeline: readonly Stage[]
  writer: BatchWriter
  clock: Clock
  metrics: Metrics
  /** Above this many events waiting for the writer, new requests are turned away with 503. */
  maxQueuedEvents?: number
}

const MEDIA_TYPES = new Set(['text/plain', 'application/json', 'application/x-ndjson'])
/** Problems echoed back per response: enough to debug a client, bounded for a hostile one. */
const MAX_PROBLEMS = 10

/**
 * POST /api/v1/ingest: the edge. Order matters: cheap refusals first (token, origin, media type), then the
 * body is decoded once into typed events, run through the pipeline and handed to the batch writer. The
 * answer (202) is sent only after the commit.
 */
export async function ingestRoutes(scope: FastifyInstance, deps: IngestDeps): Promise<void> {
  const maxQueued = deps.maxQueuedEvents ?? 100_000
  // Bodies arrive raw for every media type: this route checks the type itself, so its 415 can say what to send.
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: LIMITS.bodyBytes }, (_request, body, done) => done(null, body))

  scope.options('/api/v1/ingest', async (request, reply) => {
    const origin = request.headers.origin
    const token = tokenOf(request)
    if (origin && token) {
      const resolved = await deps.registry.resolveToken(token)
      if (resolved && !isOriginAllowed(resolved.settings.origins, origin)) return reply.code(403).send()
    }
    if (origin) reply.header('access-control-allow-origin', origin).header('vary', 'Origin')
    return reply
      .code(204)
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'Content-Type, Content-Encoding, X-Tacit-Token')
      .header('access-control-max-age', '86400')
      .send()
  })

  scope.post('/api/v1/ingest', async (request, reply) => {
    const token = tokenOf(request)
    if (!token) return refuse(reply, 401, 'missing_token', 'Send the client token as ?token=… or in the X-Tacit-Token header.')
    const resolved = await deps.registry.resolveToken(token)
    if (!resolved) return refuse(reply, 401, 'invalid_token', 'The client token is unknown or revoked.')
    const { app, settings } = resolved

    const origin = request.headers.origin
    if (origin) {
      if (!isOriginAllowed(settings.origins, origin)) {
        return refuse(reply, 403, 'origin_not_allowed', 'This origin is not allowed to send events to this app.')
      }
      // Exposed so the browser SDK, posting cross-origin, can honour a 429's or 503's Retry-After.
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin').header('access-control-expose-headers', 'Retry-After')
    }
    const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
    if (mediaType && !MEDIA_TYPES.has(mediaType)) {
      return refuse(reply, 415, 'unsupported_media_type', 'Content-Type must be text/plain, application/json or application/x-ndjson.')
    }
    if (deps.writer.queuedEvents() > maxQueued) {
      reply.header('retry-after', '1')
      return refuse(reply, 503, 'overloaded', 'The server is busy writing; retry shortly.')
    }

    const raw = request.body instanceof Buffer ? request.body : Buffer.alloc(0)
    const encoding = request.headers['content-encoding']
    const body = encoding === undefined ? { ok: true as const, bytes: raw } : await decodeContentEncoding(raw, encoding)
    if (!body.ok) return refuse(reply, body.status, body.code, body.message)
    const { text, badLines } = decodeUtf8Lines(body.bytes)
    const decoded = decodeBatch(text, badLines)
    if (!decoded.ok) return refuse(reply, decoded.status, decoded.code, decoded.message)

    const receivedAt = deps.clock.now()
    const day = utcDay(receivedAt)
    const dropped: DropCounts = {}
    if (decoded.invalid) addDrop(dropped, 'invalid', decoded.invalid)
    if (decoded.tooLarge) addDrop(dropped, 'too_large', decoded.tooLarge)

    const ip = deps.clientIp(request)
    const refused = overLimit(ip, token, app.id, settings.rateLimit, decoded.events.length)
    if (refused) {
      addDrop(dropped, 'rate_limited', decoded.events.length)
      await record({ appId: app.id, day, events: [], dropped })
      reply.header('retry-after', String(refused.retryAfterSeconds))
      return refuse(reply, 429, 'rate_limited', RATE_LIMIT_MESSAGES[refused.limit])
    }

    const context: RequestContext = {
      appId: app.id,
      settings,
      receivedAt,
      ip,
      userAgent: request.headers['user-agent'],
      optOut: request.headers['sec-gpc'] === '1' || request.headers.dnt === '1',
      derived: {},
    }
    const events: StoredEvent[] = []
    for (const event of decoded.events) {
      const draft = { ...event, ts: event.ts ?? receivedAt, received_at: receivedAt } as StoredEvent
      const pending = runPipeline(deps.pipeline, draft, context)
      const outcome = pending instanceof Promise ? await pending : pending
      if ('stored' in outcome) events.push(outcome.stored)
      else addDrop(dropped, outcome.dropped)
    }
    await record({ appId: app.id, day, events, dropped, stripped: context.derived.stripped })

    const problems = decoded.problems.slice(0, MAX_PROBLEMS)
    if (events.length === 0 && problems.length > 0 && decoded.events.length === 0) {
      return reply.code(400).send({ error: 'invalid_batch', message: firstMessage(problems), problems })
    }
    if (problems.length === 0 && decoded.events.length === events.length) {
      // The common answer, written directly rather than through the generic serializer.
      return reply.code(202).type('application/json; charset=utf-8').send(`{"accepted":${events.length},"dropped":{}}`)
    }
    return reply.code(202).send({ accepted: events.length, dropped, ...(problems.length ? { problems } : {}) })
  })

  /** Per client address and per token first (requests), then the app's own limit (events). */
  function overLimit(ip: string, token: string, appId: number, eventsPerSecond: number, events: number) {
    const client = deps.clientLimits.take(ip, token)
    if (!client.ok) return client
    const app = deps.rateLimiter.take(appId, eventsPerSecond, events)
    return app.ok ? undefined : { limit: 'app' as const, retryAfterSeconds: app.retryAfterSeconds }
  }

  async function record(batch: Parameters<BatchWriter['write']>[0]): Promise<void> {
    if (batch.events.length === 0 && Object.keys(batch.dropped).length === 0) return
    await deps.writer.write(batch)
    for (const [reason, n] of Object.entries(batch.dropped)) deps.metrics.eventsDropped.inc({ reason }, n)
    for (const [reason, n] of Object.entries(batch.stripped ?? {})) deps.metrics.fieldsStripped.inc({ reason }, n)
  }
}

const RATE_LIMIT_MESSAGES = {
  ip: 'Too many requests from this client address; retry later.',
  token: 'Too many requests with this client token; retry later.',
  app: 'This app is sending more events per second than its limit allows; retry later.',
}

function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-tacit-token']
  if (typeof header === 'string' && header !== '') return header
  const query = (request.query as Record<string, unknown>).token
  return typeof query === 'string' && query !== '' ? query : undefined
}

function refuse(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).send({ error, message })
}

function firstMessage(problems: Problem[]): string {
  return `No event in the body is valid; first problem: ${problems[0]?.message ?? 'unknown'}.`
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isOriginAllowed } from '../apps/appSettings.js'
import type { AppRegistry, ResolvedApp } from '../apps/createAppRegistry.js'
import type { LimitVerdict, RequestLimits } from '../apps/RequestLimits.js'
import { utcDay, type Clock } from '../clock.js'
import { addDrop, type DropCounts } from '../pipeline/dropReasons.js'
import { runPipeline, type RequestContext, type Stage } from '../pipeline/runPipeline.js'
import type { StoredEvent } from '../pipeline/storedEvent.js'
import { LIMITS } from '../protocol/limits.js'
import type { RelayFields } from '../protocol/relayFields.js'
import type { WireEvent } from '../protocol/wireSchema.js'
import type { BatchWriter } from '../store/createBatchWriter.js'
import type { Metrics } from './createMetrics.js'
import { decodeContentEncoding } from './readBody.js'
import { admitRelay, receivedAtOf, type RelayKeys } from './relayedRequest.js'

export interface IngestDeps {
  registry: AppRegistry
  /** Per client address, per token and per app (in memory, or in Redis for several nodes). */
  limits: RequestLimits
  /** The client's address, as far as the trusted proxies can vouch for it. */
  clientIp(request: FastifyRequest): string
  /** The keys of `tacit relay`s allowed to speak for their visitors (issue 8). */
  relayKeys: RelayKeys
  pipeline: readonly Stage[]
  writer: BatchWriter
  clock: Clock
  metrics: Metrics
  /** Above this many events waiting for the writer, new requests are turned away with 503. */
  maxQueuedEvents?: number
}

/** The media types an endpoint reads, and the 415's sentence saying so. A missing Content-Type is allowed. */
export interface AcceptedMediaTypes {
  types: ReadonlySet<string>
  message: string
}

/**
 * Bodies arrive raw for every media type: each endpoint checks the type itself (readBody), so its 415 can
 * say what to send.
 */
export function acceptRawBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: LIMITS.bodyBytes }, (_request, body, done) => done(null, body))
}

/** A request whose token and origin passed: the app it writes to. */
export interface Admitted extends ResolvedApp {
  token: string
  /** From an authenticated relay: what it says about the visitor, in place of the request's address and User-Agent. */
  relay?: RelayFields
}

export type Refused = { refused: FastifyReply }

export interface IngestEdge {
  /** OPTIONS: the CORS preflight, answered from the app's allowed origins (the token as for admit). */
  preflight(request: FastifyRequest, reply: FastifyReply, token?: string): Promise<FastifyReply>
  /**
   * The token (401), a relay's key and fields when it sends a key (401, 403, 400), then the origin (403); on
   * success the CORS headers are set on the reply.
   */
  admit(request: FastifyRequest, reply: FastifyReply, token?: string): Promise<Admitted | Refused>
  /** The same checks after the token, for an app found another way (a TrackX key); `credential` takes the per-token limit. */
  admitApp(request: FastifyRequest, reply: FastifyReply, resolved: ResolvedApp, credential: string): Promise<Admitted | Refused>
  /** When the request was received: now, or the time a relay received it (a request replayed from its spool). */
  receivedAt(admitted: Admitted): number
  /**
   * The media type (415, naming what to send), then the writer's backlog (503), then the body's bytes with
   * any gzip/deflate content encoding undone (the 1 MiB limit applies to the decompressed size).
   */
  readBody(request: FastifyRequest, reply: FastifyReply, accepted: AcceptedMediaTypes): Promise<Buffer | Refused>
  /**
   * Rate limits (429, the whole request counted as `rate_limited`), then the pipeline for each decoded
   * event, then the batch writer: resolves once the stored events and the drops are committed.
   */
  store(
    request: FastifyRequest,
    reply: FastifyReply,
    admitted: Admitted,
    batch: { events: readonly WireEvent[]; dropped: DropCounts; receivedAt: number },
  ): Promise<{ stored: number } | Refused>
}

/**
 * What every endpoint that accepts events from browsers shares (`/api/v1/ingest`, `/api/v1/report`): the
 * same token and origin rules, the same limits, the same pipeline and the same commit-before-answer. Only
 * the decoding of the body differs between them.
 */
export function createIngestEdge(deps: IngestDeps): IngestEdge {
  const maxQueued = deps.maxQueuedEvents ?? 100_000

  async function preflight(request: FastifyRequest, reply: FastifyReply, token = clientTokenOf(request)): Promise<FastifyReply> {
    const origin = request.headers.origin
    if (origin && token) {
      const resolved = await deps.registry.resolveToken(token)
      if (resolved && !isOriginAllowed(resolved.settings.origins, origin)) return reply.code(403).send()
    }
    return answerPreflight(reply, origin)
  }

  // Another vendor's SDK puts the token elsewhere (issue 9: Datadog's dd-api-key, Sentry's sentry_key): its route passes it.
  async function admit(request: FastifyRequest, reply: FastifyReply, token = clientTokenOf(request)): Promise<Admitted | Refused> {
    if (!token) return refused(reply, 401, 'missing_token', 'Send the client token as ?token=… or in the X-Tacit-Token header.')
    const resolved = await deps.registry.resolveToken(token)
    if (!resolved) return refused(reply, 401, 'invalid_token', 'The client token is unknown or revoked.')
    return admitApp(request, reply, resolved, token)
  }

  async function admitApp(request: FastifyRequest, reply: FastifyReply, resolved: ResolvedApp, credential: string): Promise<Admitted | Refused> {
    const relayed = await admitRelay(deps.relayKeys, request, resolved.app.id)
    if (relayed && 'refusal' in relayed) return refused(reply, relayed.refusal.status, relayed.refusal.error, relayed.refusal.message)
    const origin = request.headers.origin
    if (origin) {
      if (!isOriginAllowed(resolved.settings.origins, origin)) {
        return refused(reply, 403, 'origin_not_allowed', 'This origin is not allowed to send events to this app.')
      }
      // Exposed so the browser SDK, posting cross-origin, can honour a 429's or 503's Retry-After.
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin').header('access-control-expose-headers', 'Retry-After')
    }
    return relayed ? { ...resolved, token: credential, relay: relayed.relay } : { ...resolved, token: credential }
  }

  async function readBody(request: FastifyRequest, reply: FastifyReply, accepted: AcceptedMediaTypes): Promise<Buffer | Refused> {
    const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
    if (mediaType && !accepted.types.has(mediaType)) return refused(reply, 415, 'unsupported_media_type', accepted.message)
    if (deps.writer.queuedEvents() > maxQueued) {
      reply.header('retry-after', '1')
      return refused(reply, 503, 'overloaded', 'The server is busy writing; retry shortly.')
    }
    const raw = request.body instanceof Buffer ? request.body : Buffer.alloc(0)
    const encoding = request.headers['content-encoding']
    if (encoding === undefined) return raw
    const body = await decodeContentEncoding(raw, encoding)
    return body.ok ? body.bytes : refused(reply, body.status, body.code, body.message)
  }

  async function store(
    request: FastifyRequest,
    reply: FastifyReply,
    { app, settings, token, relay }: Admitted,
    { events: wireEvents, dropped, receivedAt }: { events: readonly WireEvent[]; dropped: DropCounts; receivedAt: number },
  ): Promise<{ stored: number } | Refused> {
    const day = utcDay(receivedAt)
    // A relayed request's address is the relay's: its visitor is known by the relay's key instead, which also
    // takes the per-client rate limit (a relay's many visitors do not share one bucket).
    const ip = relay ? '' : deps.clientIp(request)
    let limited: LimitVerdict
    try {
      const client = relay ? `relay:${relay.visitor}` : ip
      limited = await deps.limits.take({ ip: client, token, appId: app.id, eventsPerSecond: settings.rateLimit, events: wireEvents.length })
    } catch (error) {
      // Shared limits in Redis that cannot be reached: refuse rather than let a cluster go unlimited.
      request.log.warn({ error: error instanceof Error ? error.message : String(error) }, 'the rate limits could not be checked')
      reply.header('retry-after', '5')
      return refused(reply, 503, 'unavailable', 'Tacit cannot reach its rate limit store right now; nothing was stored. Retry shortly.')
    }
    if (!limited.ok) {
      addDrop(dropped, 'rate_limited', wireEvents.length)
      await record({ appId: app.id, day, events: [], dropped })
      reply.header('retry-after', String(limited.retryAfterSeconds))
      return refused(reply, 429, 'rate_limited', RATE_LIMIT_MESSAGES[limited.limit])
    }

    const context: RequestContext = {
      appId: app.id,
      settings,
      receivedAt,
      ip,
      userAgent: relay ? undefined : request.headers['user-agent'],
      optOut: relay ? relay.opt_out === true : request.headers['sec-gpc'] === '1' || request.headers.dnt === '1',
      derived: {},
      ...(relay && { relay }),
    }
    const events: StoredEvent[] = []
    for (const event of wireEvents) {
      const draft = { ...event, ts: event.ts ?? receivedAt, received_at: receivedAt } as StoredEvent
      const pending = runPipeline(deps.pipeline, draft, context)
      let outcome: Awaited<typeof pending>
      try {
        outcome = pending instanceof Promise ? await pending : pending
      } catch (error) {
        // A stage backed by a shared store (the Redis session store) failed: nothing of the request is stored,
        // and the client is told to come back, as when the writer is overloaded.
        // Only the message: a Redis client's error can carry the command's arguments, and a visitor key is never logged.
        request.log.warn({ error: error instanceof Error ? error.message : String(error) }, 'an ingest pipeline stage failed')
        reply.header('retry-after', '5')
        return refused(reply, 503, 'unavailable', 'Tacit cannot reach its session store right now; nothing was stored. Retry shortly.')
      }
      if ('stored' in outcome) events.push(outcome.stored)
      else addDrop(dropped, outcome.dropped)
    }
    await record({ appId: app.id, day, events, dropped, stripped: context.derived.stripped })
    return { stored: events.length }
  }

  async function record(batch: Parameters<BatchWriter['write']>[0]): Promise<void> {
    if (batch.events.length === 0 && Object.keys(batch.dropped).length === 0) return
    await deps.writer.write(batch)
    for (const [reason, n] of Object.entries(batch.dropped)) deps.metrics.eventsDropped.inc({ reason }, n)
    for (const [reason, n] of Object.entries(batch.stripped ?? {})) deps.metrics.fieldsStripped.inc({ reason }, n)
  }

  return { preflight, admit, admitApp, receivedAt: (admitted) => receivedAtOf(admitted.relay, deps.clock.now()), readBody, store }
}

const RATE_LIMIT_MESSAGES = {
  ip: 'Too many requests from this client address; retry later.',
  token: 'Too many requests with this client token; retry later.',
  app: 'This app is sending more events per second than its limit allows; retry later.',
}

/** The allowed preflight's answer (the origin, when there is one, already checked by the caller). */
export function answerPreflight(reply: FastifyReply, origin: string | undefined, allowHeaders = 'Content-Type, Content-Encoding, X-Tacit-Token'): FastifyReply {
  if (origin) reply.header('access-control-allow-origin', origin).header('vary', 'Origin')
  return reply
    .code(204)
    .header('access-control-allow-methods', 'POST')
    .header('access-control-allow-headers', allowHeaders)
    .header('access-control-max-age', '86400')
    .send()
}

/** The client token: the X-Tacit-Token header, or `?token=` (sendBeacon cannot set headers). */
export function clientTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-tacit-token']
  if (typeof header === 'string' && header !== '') return header
  const query = (request.query as Record<string, unknown>).token
  return typeof query === 'string' && query !== '' ? query : undefined
}

/** A refusal: an error code for programs and one sentence for people, never quoting the request. */
export function refuse(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).send({ error, message })
}

function refused(reply: FastifyReply, status: number, error: string, message: string): Refused {
  return { refused: refuse(reply, status, error, message) }
}

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { isOriginAllowed } from '../apps/appSettings.js'
import type { ClientRateLimits } from '../apps/createClientRateLimits.js'
import type { Clock } from '../clock.js'
import { clientIpOf, trustProxyOption, type ProxySettings } from '../http/clientAddress.js'
import { answerPreflight, clientTokenOf, refuse, type AcceptedMediaTypes } from '../http/createIngestEdge.js'
import { INGEST_MEDIA_TYPES } from '../http/ingestRoutes.js'
import { REPORT_MEDIA_TYPES } from '../http/reportRoutes.js'
import { CLIENT_TOKEN_PATTERN } from '../apps/clientTokens.js'
import { LIMITS } from '../protocol/limits.js'
import { formatRelayFields, RELAY_HEADER } from '../protocol/relayFields.js'
import type { RelayMetrics } from './createRelayMetrics.js'
import type { RelayAppSettings, RelaySettings } from './createRelaySettings.js'
import type { RelaySpool, SpooledRequest } from './createRelaySpool.js'
import { UpstreamUnavailableError, type Upstream } from './createUpstream.js'
import type { RelayVisitor } from './describeVisitor.js'
import { decodeForForwarding } from './decodeForForwarding.js'
import type { SpoolReplay } from './startSpoolReplay.js'
import type { VisitorCheck } from './visitorCheck/createVisitorCheck.js'

export interface RelayServerDeps extends ProxySettings {
  relayKey: string
  upstream: Upstream
  settings: RelaySettings
  spool: RelaySpool
  replay: SpoolReplay
  /** What the relay sends in place of the address and User-Agent (describeVisitor.ts). */
  describe: RelayVisitor
  /** Per client address, in this process's memory (the server limits relayed traffic per visitor key). */
  limits: ClientRateLimits
  /** `--scrub`: decodes, scrubs with the app's rules and re-encodes the events before they leave (reports are always decoded). */
  scrub: boolean
  /** Authentication proxy mode: placeholder → real token, and the check every visitor must pass. */
  tokenMap?: ReadonlyMap<string, string>
  visitorCheck?: VisitorCheck
  metrics: RelayMetrics
  logger: Logger
  clock: Clock
}

export type RelayRoute = '/api/v1/ingest' | '/api/v1/report'

type Refused = { refused: FastifyReply }

/** The media types each endpoint takes: the server's own (http/ingestRoutes.ts, http/reportRoutes.ts). */
const MEDIA_TYPES: Record<RelayRoute, AcceptedMediaTypes> = { '/api/v1/ingest': INGEST_MEDIA_TYPES, '/api/v1/report': REPORT_MEDIA_TYPES }

/**
 * `tacit relay`'s HTTP surface (issue 8): the server's ingest and report endpoints, so the SDK's `proxy` option
 * and `report-to` work unchanged, plus health and metrics. Per request: the token (and, as an authentication
 * proxy, the visitor's check), the app's settings from the upstream, the origin, the per-address limit, then
 * the address and User-Agent are turned into relay fields and the request goes upstream without them. When the
 * upstream is away, it is spooled to disk and acknowledged; when the spool is full, 503.
 *
 * Fastify's request logging is off, as on the server: it would record the URL (with the token) and the address.
 */
export function createRelayServer(deps: RelayServerDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger) => logger,
    trustProxy: trustProxyOption(deps),
    bodyLimit: LIMITS.bodyBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  })
  const clientIp = clientIpOf(deps)

  app.addHook('onResponse', (request, reply, done) => {
    deps.metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) })
    done()
  })
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500
    if (status >= 500) {
      request.log.error({ route: request.routeOptions.url, err: { message: error.message, stack: error.stack } }, 'relay request failed')
      return refuse(reply, 500, 'internal', 'The relay could not handle this request.')
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return refuse(reply, 413, 'body_too_large', 'The body is larger than this endpoint accepts.')
    return refuse(reply, status, 'bad_request', 'The request could not be read.')
  })
  app.setNotFoundHandler((_request, reply) => refuse(reply, 404, 'not_found', 'There is no such endpoint on this relay.'))
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: LIMITS.bodyBytes }, (_request, body, done) => done(null, body))

  app.get('/healthz', async () => ({ status: 'ok' }))
  // Ready while it can take requests: the upstream answers, or the spool has room for what it does not take.
  app.get('/readyz', async (_request, reply) => {
    const { bytes, maxBytes } = deps.spool.stats()
    if (deps.replay.upstreamUp() || bytes < maxBytes * 0.9) return { status: 'ready', upstream: deps.replay.upstreamUp() ? 'up' : 'down' }
    return reply.code(503).send({ status: 'unavailable', message: 'The upstream is away and the spool is nearly full.' })
  })
  app.get('/metrics', async (_request, reply) => reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()))

  for (const route of ['/api/v1/ingest', '/api/v1/report'] as const) {
    app.options(route, (request, reply) => preflight(request, reply))
    app.post(route, (request, reply) => relay(route, request, reply))
  }

  function refused(reply: FastifyReply, reason: string, status: number, error: string, message: string): Refused {
    deps.metrics.refused.inc({ reason })
    return { refused: refuse(reply, status, error, message) }
  }

  /** The real client token, or a refusal; in proxy mode only for a visitor that passes the check. */
  async function realToken(request: FastifyRequest, reply: FastifyReply): Promise<{ token: string } | Refused> {
    const sent = clientTokenOf(request)
    if (!sent) return refused(reply, 'token', 401, 'missing_token', 'Send the client token as ?token=… or in the X-Tacit-Token header.')
    if (!deps.tokenMap) {
      // Checked here, not by the server: a token that cannot be one is not worth a round trip (nor fit for a header).
      return CLIENT_TOKEN_PATTERN.test(sent) ? { token: sent } : refused(reply, 'token', 401, 'invalid_token', 'The client token is unknown or revoked.')
    }
    const real = deps.tokenMap.get(sent)
    if (!real) return refused(reply, 'token', 401, 'invalid_token', 'The client token is unknown or revoked.')
    const verdict = await deps.visitorCheck!.check({ cookie: request.headers.cookie })
    if (verdict.ok) return { token: real }
    if (verdict.reason === 'verifier_unavailable') {
      reply.header('retry-after', '5')
      return refused(reply, 'verifier_unavailable', 503, 'unavailable', 'The site cannot check this visitor right now; retry shortly.')
    }
    reply.header('www-authenticate', 'Cookie')
    return refused(reply, 'visitor_check', 401, 'unauthorized', 'This visitor is not signed in to the site.')
  }

  async function settingsOf(token: string, reply: FastifyReply): Promise<{ settings: RelayAppSettings } | Refused> {
    let answer: Awaited<ReturnType<RelaySettings['forToken']>>
    try {
      answer = await deps.settings.forToken(token)
    } catch (error) {
      if (!(error instanceof UpstreamUnavailableError)) throw error
      deps.replay.markUpstream(false)
      deps.logger.warn({ upstream: deps.upstream.base, error: error.message }, 'the app settings cannot be fetched from the upstream')
      reply.header('retry-after', '5')
      return refused(reply, 'no_settings', 503, 'unavailable', 'The relay cannot reach its server for this app\'s settings; retry shortly.')
    }
    if (answer.ok) return { settings: answer.settings }
    if (answer.reason === 'unknown_token') return refused(reply, 'token', 401, 'invalid_token', 'The client token is unknown or revoked.')
    deps.logger.error({ upstream: deps.upstream.base }, 'the upstream refuses this relay\'s key: check TACIT_RELAY_KEY (tacit key list --kind relay)')
    return refused(reply, 'relay_key', 502, 'relay_refused', 'The relay is not allowed to forward for this app.')
  }

  async function preflight(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const origin = request.headers.origin
    const token = clientTokenOf(request)
    const real = token && (deps.tokenMap ? deps.tokenMap.get(token) : token)
    if (origin && real) {
      const answer = await deps.settings.forToken(real).catch(() => undefined)
      if (answer?.ok && !isOriginAllowed(answer.settings.origins, origin)) return reply.code(403).send()
    }
    return answerPreflight(reply, origin)
  }

  async function relay(route: RelayRoute, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const admitted = await realToken(request, reply)
    if ('refused' in admitted) return admitted.refused
    const { token } = admitted
    // Before the settings: a prober's stream of made-up tokens must not become a stream of upstream lookups.
    const ip = clientIp(request)
    const limited = deps.limits.take(ip, token)
    if (!limited.ok) {
      reply.header('retry-after', String(limited.retryAfterSeconds))
      return refused(reply, 'rate_limited', 429, 'rate_limited', 'Too many requests from this client address; retry later.').refused
    }
    const found = await settingsOf(token, reply)
    if ('refused' in found) return found.refused
    const { settings } = found
    const origin = request.headers.origin
    if (origin) {
      if (!isOriginAllowed(settings.origins, origin)) return refused(reply, 'origin', 403, 'origin_not_allowed', 'This origin is not allowed to send events to this app.').refused
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin').header('access-control-expose-headers', 'Retry-After')
    }
    const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
    if (mediaType && !MEDIA_TYPES[route].types.has(mediaType)) return refused(reply, 'media_type', 415, 'unsupported_media_type', MEDIA_TYPES[route].message).refused

    const receivedAt = deps.clock.now()
    const fields = deps.describe({ ip, userAgent: request.headers['user-agent'], headers: request.headers, settings, receivedAt })
    const raw = request.body instanceof Buffer ? request.body : Buffer.alloc(0)
    let forwarded: { path: RelayRoute; body: Buffer; contentType?: string; contentEncoding?: string }
    if (deps.scrub || route === '/api/v1/report') {
      const decoded = await decodeForForwarding({ route, body: raw, contentEncoding: headerValue(request.headers['content-encoding']), settings, receivedAt, scrub: deps.scrub })
      if (!decoded.ok) return refused(reply, 'invalid_body', decoded.status, decoded.code, decoded.message).refused
      // Decoded events go to the ingest endpoint as NDJSON, reports included (they are report events once decoded).
      if (decoded.events === 0) return route === '/api/v1/report' ? reply.code(204).send() : reply.code(202).send({ accepted: 0, dropped: {} })
      forwarded = { path: '/api/v1/ingest', body: decoded.body, contentType: 'application/x-ndjson' }
    } else {
      forwarded = { path: route, body: raw, contentType: request.headers['content-type'], contentEncoding: headerValue(request.headers['content-encoding']) }
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${deps.relayKey}`,
      'x-tacit-token': token,
      [RELAY_HEADER]: formatRelayFields(fields),
    }
    if (forwarded.contentType) headers['content-type'] = forwarded.contentType
    if (forwarded.contentEncoding) headers['content-encoding'] = forwarded.contentEncoding
    if (origin) headers.origin = origin
    const outgoing: SpooledRequest = { path: forwarded.path, headers, body: forwarded.body }

    const started = performance.now()
    try {
      const answer = await deps.upstream.send({ method: 'POST', ...outgoing })
      deps.metrics.forwardSeconds.observe((performance.now() - started) / 1000)
      // Away or overloaded (502, 503, 504): spooled. Anything else, a 429 included, is the browser's to see.
      if (answer.status < 502 || answer.status > 504) {
        deps.replay.upstreamIsBack()
        return passOn(route, reply, answer, forwarded.path !== route)
      }
      deps.replay.markUpstream(false)
    } catch (error) {
      if (!(error instanceof UpstreamUnavailableError)) throw error
      deps.replay.markUpstream(false)
    }
    return spool(route, reply, outgoing)
  }

  async function spool(route: RelayRoute, reply: FastifyReply, outgoing: SpooledRequest): Promise<FastifyReply> {
    if (!(await deps.spool.append(outgoing))) {
      reply.header('retry-after', '30')
      return refused(reply, 'spool_full', 503, 'unavailable', 'The relay cannot reach its server and its spool is full; retry later.').refused
    }
    deps.metrics.spooled.inc()
    // Acknowledged: it is on disk and will be sent when the upstream is back.
    return route === '/api/v1/report' ? reply.code(204).send() : reply.code(202).send({ accepted: 0, dropped: {}, spooled: true })
  }

  return app
}

/** The upstream's answer, passed on: its status, and only its Content-Type, Retry-After and body. */
function passOn(route: RelayRoute, reply: FastifyReply, answer: { status: number; contentType?: string; retryAfter?: string; body: Buffer }, rerouted: boolean): FastifyReply {
  // A decoded report was sent as ingest events: the browser expects the report endpoint's 204.
  if (rerouted && route === '/api/v1/report' && answer.status === 202) return reply.code(204).send()
  if (answer.retryAfter) reply.header('retry-after', answer.retryAfter)
  if (answer.contentType) reply.header('content-type', answer.contentType)
  return reply.code(answer.status).send(answer.body.length > 0 ? answer.body : undefined)
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}

import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { protocolJsonSchema } from '../protocol/wireSchema.js'
import type { RandomSource } from '../randomSource.js'
import type { StackResolver } from '../sourcemaps/createStackResolver.js'
import { StoreUnavailableError, type Store } from '../store/Store.js'
import { clientIpOf, trustProxyOption } from './clientAddress.js'
import { datadogIntakeRoutes } from './compat/datadogIntakeRoutes.js'
import { sentryIntakeRoutes } from './compat/sentryIntakeRoutes.js'
import { trackxIntakeRoutes } from './compat/trackxIntakeRoutes.js'
import { demoRoutes } from './demoRoutes.js'
import { ingestRoutes, type IngestDeps } from './ingestRoutes.js'
import { accountRoutes } from './accountRoutes.js'
import { analyticsRoutes } from './analyticsRoutes.js'
import { appRoutes } from './appRoutes.js'
import { dashboardRoutes } from './dashboardRoutes.js'
import { exploreRoutes } from './exploreRoutes.js'
import { issueApiRoutes } from './issueApiRoutes.js'
import { addSecurityHeaders } from './securityHeaders.js'
import { sessionRoutes } from './sessionRoutes.js'
import { settingsRoutes } from './settingsRoutes.js'
import { relayRoutes } from './relayRoutes.js'
import { reportRoutes } from './reportRoutes.js'
import { sourceMapRoutes } from './sourceMapRoutes.js'

export interface HttpDeps extends Omit<IngestDeps, 'clientIp'> {
  store: Store
  /** Client tokens, webhook secrets and dashboard session ids made through the API. */
  random: RandomSource
  /** Resolves minified frames with uploaded source maps when issues are read; uploads invalidate it. */
  stackResolver: StackResolver
  logger: Logger
  trustedProxies: string[]
  forwardedHeader: 'x-forwarded-for' | 'forwarded'
}

/**
 * The HTTP surface. Fastify's own request logging is off: it records the URL (which carries the client
 * token) and the remote address. Each response is logged with its route pattern instead.
 */
export function createHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger: its only binding would be a request id, and creating one costs every request.
    childLoggerFactory: (logger) => logger,
    trustProxy: trustProxyOption(deps),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  })

  // Label sets are few (route patterns × status codes): keep each counter child instead of hashing labels per request.
  const requestCounters = new Map<string, { inc(): void }>()
  // A callback hook, not an async one: it runs on every request and needs no promise.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const key = `${route} ${reply.statusCode}`
    let counter = requestCounters.get(key)
    if (!counter) {
      counter = deps.metrics.requests.labels(route, String(reply.statusCode))
      requestCounters.set(key, counter)
    }
    counter.inc()
    if (deps.logger.isLevelEnabled('debug')) {
      request.log.debug({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request')
    }
    done()
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if ((error as Error) instanceof StoreUnavailableError) {
      // The database is away (issue 7: PostgreSQL restarting or failing over): nothing was written; come back.
      request.log.warn({ route: request.routeOptions.url, error: error.message }, 'the database cannot be reached')
      return reply.code(503).header('retry-after', '5').send({ error: 'unavailable', message: 'Tacit cannot reach its database right now; nothing was stored. Retry shortly.' })
    }
    const status = error.statusCode ?? 500
    if (status >= 500) {
      // Only the route, the error code and our own message; never the request.
      request.log.error({ route: request.routeOptions.url, code: error.code, err: { message: error.message, stack: error.stack } }, 'request failed')
      return reply.code(500).send({ error: 'internal', message: 'The server could not handle this request.' })
    }
    const known = KNOWN_ERRORS[error.code]
    return reply.code(status).send(known ?? { error: 'bad_request', message: 'The request could not be read.' })
  })

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found', message: 'There is no such endpoint.' }))

  // CSP, frame, referrer and sniffing headers on everything but ingest and reports (those answer cross-origin).
  addSecurityHeaders(app)

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) =>
    (await deps.store.isWritable()) ? { status: 'ready' } : reply.code(503).send({ status: 'unavailable', message: 'The database is not writable.' }),
  )
  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  )
  app.get('/api/v1/schema', async () => protocolJsonSchema())
  app.register(async (scope) => ingestRoutes(scope, { ...deps, clientIp: clientIpOf(deps) }))
  app.register(async (scope) => reportRoutes(scope, { ...deps, clientIp: clientIpOf(deps) }))
  app.register(async (scope) => datadogIntakeRoutes(scope, { ...deps, clientIp: clientIpOf(deps) }))
  app.register(async (scope) => sentryIntakeRoutes(scope, { ...deps, clientIp: clientIpOf(deps) }))
  app.register(async (scope) => trackxIntakeRoutes(scope, { ...deps, clientIp: clientIpOf(deps) }))
  app.register(async (scope) => relayRoutes(scope, deps))
  app.register(async (scope) => demoRoutes(scope, { store: deps.store }))
  app.register(async (scope) => sourceMapRoutes(scope, deps))
  app.register(async (scope) => issueApiRoutes(scope, deps))
  app.register(async (scope) => accountRoutes(scope, deps))
  app.register(async (scope) => appRoutes(scope, deps))
  app.register(async (scope) => analyticsRoutes(scope, deps))
  app.register(async (scope) => sessionRoutes(scope, deps))
  app.register(async (scope) => exploreRoutes(scope, deps))
  app.register(async (scope) => settingsRoutes(scope, deps))
  // The dashboard's single-page app at `/` (its assets, and index.html for its client-side routes).
  app.register(async (scope) => dashboardRoutes(scope, deps))
  return app
}

const KNOWN_ERRORS: Record<string, { error: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { error: 'body_too_large', message: 'The body is larger than this endpoint accepts.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { error: 'unsupported_media_type', message: 'This Content-Type is not accepted here.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { error: 'bad_content_length', message: 'Content-Length does not match the body.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { error: 'empty_body', message: 'The request body is empty.' },
}

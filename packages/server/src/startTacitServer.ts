import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { createSetupToken, setupLink, SETUP_TOKEN_TTL_MS } from './accounts/setupToken.js'
import { startAlertDispatcher } from './alerts/startAlertDispatcher.js'
import { startRollupJob } from './analytics/startRollupJob.js'
import { createAppWithToken } from './apps/appAdmin.js'
import { createAppRegistry } from './apps/createAppRegistry.js'
import { createClientRateLimits } from './apps/createClientRateLimits.js'
import { createRateLimiter } from './apps/createRateLimiter.js'
import { createRedisRequestLimits } from './apps/createRedisRequestLimits.js'
import { createMemoryRequestLimits } from './apps/RequestLimits.js'
import type { Clock } from './clock.js'
import { ConfigError, type ServeConfig } from './config.js'
import { createRelayKeys } from './http/relayedRequest.js'
import { createHttpServer } from './http/createHttpServer.js'
import { createMetrics } from './http/createMetrics.js'
import { createIngestPipeline } from './pipeline/ingestPipeline.js'
import { createGeoLookup } from './privacy/geo/createGeoLookup.js'
import { createMemorySessionKeyStore } from './sessions/createMemorySessionKeyStore.js'
import { assertEphemeralRedis, createRedisSessionKeyStore } from './sessions/createRedisSessionKeyStore.js'
import { startSessionKeySweeper } from './sessions/startSessionKeySweeper.js'
import type { RandomSource } from './randomSource.js'
import { startRetentionJob } from './retention/runRetention.js'
import { createBatchWriter } from './store/createBatchWriter.js'
import { describeDatabaseUrl, openStore, type OpenedStore } from './store/openStore.js'
import type { App, ClientToken, Store } from './store/Store.js'
import { NewerSchemaError } from './store/sqlite/createSqliteStore.js'
import { createStackResolver } from './sourcemaps/createStackResolver.js'

export interface TacitServer {
  url: string
  port: number
  stop(): Promise<void>
}

export interface ServerDeps {
  config: ServeConfig
  clock: Clock
  random: RandomSource
  logger: Logger
  /** Where the first-start banner goes (the demo app's token, the demo page and a curl to try it). */
  print: (text: string) => void
}

/** The composition root of the server: every dependency is created and wired here, and only here. */
export async function startTacitServer(deps: ServerDeps): Promise<TacitServer> {
  const { config, clock, logger } = deps
  // Opened first: a bad TACIT_GEOIP_CITY_DB is refused before anything else starts.
  const geo = createGeoLookup({ cityDatabasePath: config.geoipCityDb })
  // Then Redis, when configured: one that writes to disk is refused before the database is opened. It holds the
  // visitor sessions and the rate limits of every node.
  const redis = config.redisUrl ? await openSharedRedis(config.redisUrl, logger) : undefined
  const sessionKeys = redis
    ? createRedisSessionKeyStore({ redis, clock, random: deps.random })
    : // In memory, so restarting the server starts fresh salts and visitor keys (every visitor gets a new session).
      createMemorySessionKeyStore({ clock, random: deps.random })
  const limits = redis
    ? createRedisRequestLimits({ redis, clock, random: deps.random, settings: config.rateLimits })
    : createMemoryRequestLimits({
        rateLimiter: createRateLimiter(clock),
        clientLimits: createClientRateLimits({ clock, random: deps.random, settings: config.rateLimits }),
      })
  const closeRedis = async () => {
    await sessionKeys.close()
    await redis?.quit()
  }
  let opened: OpenedStore
  try {
    opened = await openStore({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      sqlite: { synchronous: config.synchronous, backgroundCheckpoints: true },
    })
  } catch (error) {
    // E.g. a database of a newer schema: release the Redis connection too, or the process would not exit.
    await closeRedis()
    throw error instanceof NewerSchemaError ? error : databaseError(error, config.databaseUrl)
  }
  const { store, database, writers } = opened
  const demo = await createDemoApp({ store, clock, random: deps.random })

  // The metrics read the writer's queue and the writer reports commits to the metrics: both only once running.
  const metrics = createMetrics(() => writer.queuedEvents())
  const writer = createBatchWriter({
    store,
    concurrency: writers,
    onCommit(seconds, batches) {
      metrics.commitSeconds.observe(seconds)
      const accepted: Record<string, number> = {}
      for (const batch of batches) for (const event of batch.events) accepted[event.type] = (accepted[event.type] ?? 0) + 1
      for (const [type, n] of Object.entries(accepted)) metrics.eventsAccepted.inc({ type }, n)
    },
  })
  const http = createHttpServer({
    store,
    logger,
    // One cache of parsed source maps for the process: issue reads resolve with it, uploads invalidate it.
    stackResolver: createStackResolver({ store, clock }),
    random: deps.random,
    trustedProxies: config.trustedProxies,
    forwardedHeader: config.forwardedHeader,
    registry: createAppRegistry({ store, clock }),
    relayKeys: createRelayKeys({ store, clock }),
    limits,
    pipeline: createIngestPipeline({
      geo,
      sessionKeys,
      random: deps.random,
    }),
    writer,
    clock,
    metrics,
  })
  try {
    await http.listen({ host: config.host, port: config.port })
  } catch (error) {
    // E.g. the port is taken: release the database and its checkpointer thread, or the process would not exit.
    await store.close()
    await closeRedis()
    throw error
  }
  const address = http.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  logger.info({ port, database }, 'Tacit listening')

  // Salts and visitor keys are destroyed on time even when no event arrives to trigger it (DESIGN.md P3).
  const sweeper = startSessionKeySweeper({ keys: sessionKeys, onError: (error) => logger.error({ err: error }, 'session key sweep failed') })
  const retention = startRetentionJob({
    store,
    clock,
    onRun: (report) => logger.info({ deleted: report.total }, 'retention applied'),
    onError: (error) => logger.error({ err: error }, 'retention failed'),
  })
  // The dashboard's analytics rollups: the hours ingest changed are rebuilt from their events every 10 s.
  const rollups = startRollupJob({
    analytics: store.analytics,
    clock,
    onRun: ({ hours, days }) => hours + days > 0 && logger.debug({ hours, days }, 'rollups refreshed'),
    onError: (error) => logger.error({ err: error }, 'rollup refresh failed'),
  })
  // Sends alert webhooks from the outbox the event writer fills, and evaluates error-rate rules each minute.
  const alerts = startAlertDispatcher({ store, clock, logger })
  if (demo) deps.print(firstStartBanner(url, config.host, port, demo.app.id, demo.token.token))
  // Until the first account exists, every start prints a fresh one-time setup link (never logged: accounts/setupToken.ts).
  if (!(await store.users.hasUsers())) deps.print(setupBanner(url, config.host, port, await createSetupToken({ store, clock, random: deps.random })))

  return {
    url,
    port,
    async stop() {
      // Keep-alive connections that were busy when closing began turn idle once answered; close them as they do,
      // or they would hold the shutdown open for the whole keep-alive timeout.
      const idleConnections = setInterval(() => http.server.closeIdleConnections(), 50)
      await http.close()
      clearInterval(idleConnections)
      await writer.flush()
      await retention.stop()
      await rollups.stop()
      await alerts.stop()
      sweeper.stop()
      await closeRedis()
      await store.close()
      logger.info('Tacit stopped')
      logger.flush()
    },
  }
}

function firstStartBanner(url: string, host: string, port: number, appId: number, token: string): string {
  const local = host === '0.0.0.0' || host === '::' ? `http://127.0.0.1:${port}` : url
  const event = JSON.stringify({ type: 'custom', custom: { name: 'hello' }, view: { id: 'first-view', url: 'https://example.com/' } })
  // By name, not by address: the scrubber rightly turns an IP address inside a stored page URL into `[ip]`.
  const demoPage = `${/^(127\.0\.0\.1|0\.0\.0\.0|::1?)$/.test(host) ? `http://localhost:${port}` : local}/demo`
  return [
    '',
    `Tacit is running at ${url}`,
    `First start: created the app "demo" (id ${appId}) with the client token ${token}`,
    `Open the demo page, instrumented with the browser SDK: ${demoPage}`,
    'Send a test event:',
    `  curl -X POST '${local}/api/v1/ingest?token=${token}' -H 'Content-Type: text/plain' --data-binary '${event}'`,
    'Then see what was stored:',
    '  npx tacit export demo',
    '',
  ].join('\n')
}

function setupBanner(url: string, host: string, port: number, token: string): string {
  const local = host === '0.0.0.0' || host === '::' ? `http://127.0.0.1:${port}` : url
  return [
    `No dashboard account exists yet. Create the first owner within ${SETUP_TOKEN_TTL_MS / 3_600_000} hours with this one-time link:`,
    `  ${setupLink(local, token)}`,
    '(or run `npx tacit user add <email> --role owner`)',
    '',
  ].join('\n')
}

/**
 * The demo app, on a first start only. Nodes of a cluster starting at once on an empty database race for it:
 * the one that loses finds it created and prints no banner.
 */
async function createDemoApp(deps: { store: Store; clock: Clock; random: RandomSource }): Promise<{ app: App; token: ClientToken } | undefined> {
  if ((await deps.store.listApps()).length > 0) return undefined
  try {
    return await createAppWithToken(deps, { name: 'demo' })
  } catch (error) {
    if ((await deps.store.listApps()).length > 0) return undefined
    throw error
  }
}

/** A database that cannot be opened is a configuration problem: say which, without its credentials. */
function databaseError(error: unknown, databaseUrl: string | undefined): unknown {
  if (!databaseUrl) return error
  const reason = error instanceof Error ? error.message : String(error)
  return new ConfigError(`Cannot open the PostgreSQL database ${describeDatabaseUrl(databaseUrl)}: ${reason}`)
}

/**
 * The shared Redis (issue 7): connected and checked to keep nothing on disk; the caller quits it with the server.
 * A Redis that cannot be reached or writes to disk stops the start with the reason.
 */
async function openSharedRedis(url: string, logger: Logger): Promise<Redis> {
  let connected = false
  const redis = new Redis(url, {
    lazyConnect: true,
    // A request waits for at most two reconnection attempts, then ingest answers 503 (createIngestEdge.ts).
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    // At start one attempt, so an unreachable Redis stops the start with its reason; later, reconnect forever.
    retryStrategy: (times) => (connected ? Math.min(times * 200, 2000) : null),
  })
  // Only the message: never the command's arguments, which hold visitor keys.
  let firstError: Error | undefined
  redis.on('error', (error: Error) => (connected ? logger.warn({ error: error.message }, 'Redis error') : (firstError ??= error)))
  try {
    await redis.connect()
    await assertEphemeralRedis(redis)
  } catch (error) {
    redis.disconnect()
    // A refused connection rejects with "Connection is closed."; the error event said why.
    throw new ConfigError(`TACIT_REDIS_URL: ${(firstError ?? (error as Error)).message}`)
  }
  connected = true
  return redis
}

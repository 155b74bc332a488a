import { Writable } from 'node:stream'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { createAppRegistry } from '../../src/apps/createAppRegistry.js'
import { createClientRateLimits, DEFAULT_CLIENT_RATE_LIMITS, type ClientRateLimitSettings } from '../../src/apps/createClientRateLimits.js'
import { createMemoryRequestLimits } from '../../src/apps/RequestLimits.js'
import { createRateLimiter } from '../../src/apps/createRateLimiter.js'
import type { Clock } from '../../src/clock.js'
import { createLogger } from '../../src/createLogger.js'
import { createHttpServer } from '../../src/http/createHttpServer.js'
import { createMetrics } from '../../src/http/createMetrics.js'
import { createRelayKeys } from '../../src/http/relayedRequest.js'
import { createIngestPipeline } from '../../src/pipeline/ingestPipeline.js'
import { createGeoLookup } from '../../src/privacy/geo/createGeoLookup.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { createMemorySessionKeyStore } from '../../src/sessions/createMemorySessionKeyStore.js'
import { createStackResolver } from '../../src/sourcemaps/createStackResolver.js'
import { createBatchWriter } from '../../src/store/createBatchWriter.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'

/** A settable clock: throttling, session expiry and setup-token expiry are tested without waiting. */
export interface FakeClock extends Clock {
  set(ms: number): void
  advance(ms: number): void
}

export function createFakeClock(start: number): FakeClock {
  let now = start
  return { now: () => now, set: (ms) => void (now = ms), advance: (ms) => void (now += ms) }
}

export interface AccountTestServer {
  app: FastifyInstance
  temp: TempSqliteStore
  clock: FakeClock
  /** Every log line the server wrote, at debug level. */
  logs(): string
  close(): Promise<void>
}

/**
 * The whole HTTP surface as startTacitServer wires it, over a real SQLite store in a temp dir, with a fake clock; requests go through
 * Fastify's inject, which runs every hook, parser and route exactly as a socket would.
 */
export async function startAccountTestServer(
  start = Date.UTC(2026, 10, 2, 9),
  options: { clientLimits?: ClientRateLimitSettings } = {},
): Promise<AccountTestServer> {
  const temp = await createTempSqliteStore()
  const clock = createFakeClock(start)
  let logs = ''
  const destination = new Writable({ write: (chunk, _encoding, done) => ((logs += String(chunk)), done()) })
  const logger = createLogger({ level: 'debug', format: 'json', destination })
  const store = temp.store
  const metrics = createMetrics(() => writer.queuedEvents())
  const writer = createBatchWriter({ store })
  const sessionKeys = createMemorySessionKeyStore({ clock, random: cryptoRandom })
  const app = createHttpServer({
    store,
    logger,
    stackResolver: createStackResolver({ store, clock }),
    random: cryptoRandom,
    trustedProxies: [],
    forwardedHeader: 'x-forwarded-for',
    registry: createAppRegistry({ store, clock }),
    relayKeys: createRelayKeys({ store, clock }),
    limits: createMemoryRequestLimits({
      rateLimiter: createRateLimiter(clock),
      clientLimits: createClientRateLimits({ clock, random: cryptoRandom, settings: options.clientLimits ?? DEFAULT_CLIENT_RATE_LIMITS }),
    }),
    pipeline: createIngestPipeline({ geo: createGeoLookup({ cityDatabasePath: undefined }), sessionKeys, random: cryptoRandom }),
    writer,
    clock,
    metrics,
  })
  await app.ready()
  return {
    app,
    temp,
    clock,
    logs: () => logs,
    async close() {
      await app.close()
      await writer.flush()
      await sessionKeys.close()
      await temp.cleanup()
    },
  }
}

export interface Answer {
  status: number
  body: Record<string, unknown>
  headers: Record<string, string | string[] | number | undefined>
  raw: string
}

export async function call(server: AccountTestServer, options: InjectOptions): Promise<Answer> {
  const response = await server.app.inject(options)
  const raw = response.body
  let body: Record<string, unknown> = {}
  try {
    body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
  } catch {
    body = { unparsed: raw }
  }
  return { status: response.statusCode, body, headers: response.headers, raw }
}

/** The session id from a Set-Cookie header (the test plays the browser). */
export function sessionCookieOf(answer: Answer): string | undefined {
  const header = answer.headers['set-cookie']
  const value = Array.isArray(header) ? header.join('\n') : String(header ?? '')
  return /tacit_session=([A-Za-z0-9_-]{43});/.exec(value)?.[1]
}

import { createRequire } from 'node:module'
import type { Logger } from 'pino'
import { createClientRateLimits } from '../apps/createClientRateLimits.js'
import type { Clock } from '../clock.js'
import { createGeoLookup } from '../privacy/geo/createGeoLookup.js'
import type { RandomSource } from '../randomSource.js'
import type { RelayConfig } from './relayConfig.js'
import { createRelayMetrics } from './createRelayMetrics.js'
import { createRelayServer } from './createRelayServer.js'
import { createRelaySettings } from './createRelaySettings.js'
import { createRelaySpool } from './createRelaySpool.js'
import { createRelayVisitorKeys } from './createRelayVisitorKeys.js'
import { createUpstream } from './createUpstream.js'
import { createDescribeVisitor } from './describeVisitor.js'
import { startSpoolReplay } from './startSpoolReplay.js'
import { createVisitorCheck } from './visitorCheck/createVisitorCheck.js'

export interface RunningRelay {
  url: string
  port: number
  /** Stops accepting, answers what is in flight (spooling what cannot go upstream), and stops the replay. */
  stop(): Promise<void>
}

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

/** `tacit relay` (issue 8), wired: the parts are in this folder, each with its own tests. */
export async function startRelay(deps: { config: RelayConfig; clock: Clock; random: RandomSource; logger: Logger; print(text: string): void }): Promise<RunningRelay> {
  const { config, clock, logger } = deps
  // Opened first: a bad TACIT_GEOIP_CITY_DB or an unwritable spool is refused before anything listens.
  const geo = createGeoLookup({ cityDatabasePath: config.geoipCityDb })
  const spool = await createRelaySpool({ dir: config.spoolDir, maxBytes: config.spoolMaxBytes })
  const upstream = createUpstream({ url: config.upstream, maxConnections: config.maxConnections, userAgent: `tacit-relay/${VERSION}` })
  const visitorCheck = config.visitorCheck ? createVisitorCheck(config.visitorCheck, { clock }) : undefined
  let upstreamUp = () => true
  const metrics = createRelayMetrics(spool, () => upstreamUp())
  const replay = startSpoolReplay({ spool, upstream, metrics, logger })
  upstreamUp = replay.upstreamUp
  const app = createRelayServer({
    relayKey: config.relayKey,
    trustedProxies: config.trustedProxies,
    forwardedHeader: config.forwardedHeader,
    upstream,
    settings: createRelaySettings({ upstream, relayKey: config.relayKey, clock }),
    spool,
    replay,
    describe: createDescribeVisitor({ keys: createRelayVisitorKeys({ clock, random: deps.random }), geo }),
    // Per address only: tokens are the server's to limit (it sees them all, from every relay).
    limits: createClientRateLimits({ clock, random: deps.random, settings: { requestsPerIp: config.requestsPerIp, requestsPerToken: 0 } }),
    scrub: config.scrub,
    ...(config.tokenMap && { tokenMap: config.tokenMap }),
    ...(visitorCheck && { visitorCheck }),
    metrics,
    logger,
    clock,
  })
  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (error) {
    await replay.stop()
    upstream.close()
    throw error
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  const { entries } = spool.stats()
  logger.info({ port, upstream: upstream.base, spooled: entries, mode: config.tokenMap ? 'auth-proxy' : 'relay', scrub: config.scrub }, 'Tacit relay listening')
  deps.print(
    [
      `Tacit relay is running at ${url}, forwarding to ${upstream.base} without visitors' addresses or User-Agents.`,
      `Point the browser SDK at it, through the URL browsers reach it by: init({ token: '${config.tokenMap ? [...config.tokenMap.keys()][0] : 'tc_…'}', proxy: '${url}/api/v1/ingest' })`,
      ...(entries > 0 ? [`${entries} spooled request(s) from before are being sent.`] : []),
    ].join('\n'),
  )
  return {
    url,
    port,
    async stop() {
      const idleConnections = setInterval(() => app.server.closeIdleConnections(), 50)
      await app.close()
      clearInterval(idleConnections)
      await replay.stop()
      upstream.close()
      logger.info('Tacit relay stopped')
      logger.flush()
    },
  }
}

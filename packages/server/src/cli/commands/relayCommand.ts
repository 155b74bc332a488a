import { systemClock } from '../../clock.js'
import { cryptoRandom } from '../../randomSource.js'
import { loadRelayConfig, type RelayFlags } from '../../relay/relayConfig.js'
import type { CliCommand } from '../cliCommand.js'

export const relayCommand: CliCommand = {
  path: ['relay'],
  usage:
    'tacit relay --upstream <Tacit server URL> [--listen 127.0.0.1:8081] [--key-file <file>] [--scrub] [--spool-dir ./relay-spool] [--spool-max-mb 256] ' +
    '[--max-connections 32] [--trusted-proxies <cidr>,...] [--forwarded-header x-forwarded-for|forwarded] [--ip-rate-limit 200] ' +
    '[--auth jwt|signed-cookie|verify-url --auth-cookie <name> --auth-public-key <pem> --auth-issuer <iss> --auth-audience <aud> --auth-verify-url <url> --auth-cache-seconds 60] ' +
    '[--log-level info] [--log-format json|pretty]',
  summary: 'Run a relay next to your site: forwards SDK traffic to Tacit without visitors\' IP addresses or User-Agents (docs/RELAY.md).',
  options: {
    upstream: { type: 'string' },
    listen: { type: 'string' },
    'key-file': { type: 'string' },
    scrub: { type: 'boolean' },
    'spool-dir': { type: 'string' },
    'spool-max-mb': { type: 'string' },
    'max-connections': { type: 'string' },
    'trusted-proxies': { type: 'string' },
    'forwarded-header': { type: 'string' },
    'ip-rate-limit': { type: 'string' },
    auth: { type: 'string' },
    'auth-cookie': { type: 'string' },
    'auth-public-key': { type: 'string' },
    'auth-issuer': { type: 'string' },
    'auth-audience': { type: 'string' },
    'auth-verify-url': { type: 'string' },
    'auth-cache-seconds': { type: 'string' },
    'log-level': { type: 'string' },
    'log-format': { type: 'string' },
  },
  async run({ values, io }) {
    const config = loadRelayConfig(values as RelayFlags)
    // Loaded here, not at the top, as for `tacit serve`: the other commands need none of it.
    const [{ createLogger }, { startRelay }] = await Promise.all([import('../../createLogger.js'), import('../../relay/startRelay.js')])
    const logger = createLogger({ level: config.logLevel, format: config.logFormat })
    const relay = await startRelay({ config, clock: systemClock, random: cryptoRandom, logger, print: (text) => io.stdout.write(`${text}\n`) })
    await new Promise<void>((resolve) => {
      let stopping = false
      const stop = () => {
        if (stopping) return
        stopping = true
        relay.stop().then(resolve, (error: unknown) => {
          logger.error({ err: error }, 'relay shutdown failed')
          resolve()
        })
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
  },
}

import { systemClock } from '../../clock.js'
import { loadServeConfig, type ServeFlags } from '../../config.js'
import { cryptoRandom } from '../../randomSource.js'
import type { CliCommand } from '../cliCommand.js'

export const serveCommand: CliCommand = {
  path: ['serve'],
  usage: 'tacit serve [--port 8080] [--host 127.0.0.1] [--data-dir ./data] [--log-level info] [--log-format json|pretty] [--sync normal|full] [--trusted-proxies <cidr>,<cidr>...] [--forwarded-header x-forwarded-for|forwarded] [--ip-rate-limit 200] [--token-rate-limit 5000]',
  summary: 'Run the Tacit server (ingest API, retention) on SQLite in the data directory.',
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'log-level': { type: 'string' },
    'log-format': { type: 'string' },
    sync: { type: 'string' },
    'trusted-proxies': { type: 'string' },
    'forwarded-header': { type: 'string' },
    'ip-rate-limit': { type: 'string' },
    'token-rate-limit': { type: 'string' },
  },
  async run({ values, io }) {
    const config = loadServeConfig(values as ServeFlags)
    // Loaded here, not at the top: the server's dependencies (Fastify, pino, metrics) would double every other command's start-up time.
    const [{ createLogger }, { startTacitServer }] = await Promise.all([import('../../createLogger.js'), import('../../startTacitServer.js')])
    const logger = createLogger({ level: config.logLevel, format: config.logFormat })
    const server = await startTacitServer({ config, clock: systemClock, random: cryptoRandom, logger, print: (text) => io.stdout.write(`${text}\n`) })
    // Graceful shutdown: stop accepting, answer what is in flight, commit, close the database.
    await new Promise<void>((resolve) => {
      let stopping = false
      const stop = () => {
        if (stopping) return
        stopping = true
        server.stop().then(resolve, (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed')
          resolve()
        })
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
  },
}

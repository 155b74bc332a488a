import { destination as fileDestination, pino, type Logger } from 'pino'
import pretty from 'pino-pretty'
import type { LogLevel } from './config.js'

/**
 * Logs carry route patterns, counts and codes: never an IP address, User-Agent, token, query string or
 * body (a test scans the output). Requests are serialized to their method and route pattern only.
 */
export function createLogger(options: { level: LogLevel; format: 'json' | 'pretty' | undefined; destination?: NodeJS.WritableStream }): Logger {
  const destination = options.destination ?? process.stdout
  const usePretty = options.format === 'pretty' || (options.format === undefined && (destination as { isTTY?: boolean }).isTTY === true)
  const settings = {
    level: options.level,
    base: undefined,
    serializers: {
      req: (request: { method?: string; routeOptions?: { url?: string } }) => ({ method: request.method, route: request.routeOptions?.url }),
      res: (reply: { statusCode?: number }) => ({ status: reply.statusCode }),
    },
  }
  if (usePretty) return pino(settings, pretty({ destination: 1, ignore: 'reqId', translateTime: 'SYS:HH:MM:ss' }))
  return pino(settings, destination === process.stdout ? fileDestination({ dest: 1, sync: false }) : destination)
}

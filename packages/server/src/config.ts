import { isIP } from 'node:net'
import { DEFAULT_CLIENT_RATE_LIMITS } from './apps/createClientRateLimits.js'
import { resolve } from 'node:path'

/**
 * The only place that reads the environment (DESIGN.md §3.4). Command-line flags win over TACIT_*
 * variables, which win over defaults.
 */

export class ConfigError extends Error {}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface ServeConfig {
  host: string
  port: number
  dataDir: string
  logLevel: LogLevel
  /** undefined: pretty on a terminal, JSON otherwise. */
  logFormat: 'json' | 'pretty' | undefined
  synchronous: 'normal' | 'full'
  /**
   * Proxy networks (CIDRs) whose X-Forwarded-For is believed. Empty: the client address is the socket's.
   * There is deliberately no "trust everyone": that would let any client claim any IP address.
   */
  trustedProxies: string[]
  /** Which header the trusted proxies set: a proxy passes the other one through from the client, untouched. */
  forwardedHeader: 'x-forwarded-for' | 'forwarded'
  /** A MaxMind-format city database (TACIT_GEOIP_CITY_DB); without it, `geo=city` stores the country only. */
  geoipCityDb: string | undefined
  /** Requests per second per client address and per client token; 0 turns a limit off. */
  rateLimits: { requestsPerIp: number; requestsPerToken: number }
  /**
   * TACIT_REDIS_URL: visitor sessions (salts and visitor keys) in this Redis instead of the process's memory, so
   * several nodes (or a restarted one) give a visitor one session. It must keep nothing on disk.
   */
  redisUrl: string | undefined
  /**
   * TACIT_DATABASE_URL: the events and everything else in this PostgreSQL database instead of SQLite under the
   * data directory (SQLite stays the default).
   */
  databaseUrl: string | undefined
  /**
   * TACIT_CLUSTER=1: this node is one of several behind a load balancer. Refused unless the database is
   * PostgreSQL and visitor sessions are in Redis: nodes with a session map each would split visitors' sessions.
   */
  cluster: boolean
}

export interface ServeFlags {
  host?: string
  port?: string
  'data-dir'?: string
  'log-level'?: string
  'log-format'?: string
  sync?: string
  'trusted-proxies'?: string
  'forwarded-header'?: string
  'ip-rate-limit'?: string
  'token-rate-limit'?: string
}

type Env = Record<string, string | undefined>

export function dataDirFrom(flag: string | undefined, env: Env = process.env): string {
  return resolve(flag ?? env.TACIT_DATA_DIR ?? './data')
}

export function loadServeConfig(flags: ServeFlags, env: Env = process.env): ServeConfig {
  const port = flags.port ?? env.TACIT_PORT ?? '8080'
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new ConfigError(`The port "${port}" is not a number from 0 to 65535.`)
  const logLevel = (flags['log-level'] ?? env.TACIT_LOG_LEVEL ?? 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`The log level "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}.`)
  const logFormat = flags['log-format'] ?? env.TACIT_LOG_FORMAT
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') {
    throw new ConfigError(`The log format "${logFormat}" is not json or pretty.`)
  }
  const synchronous = flags.sync ?? env.TACIT_SQLITE_SYNC ?? 'normal'
  if (synchronous !== 'normal' && synchronous !== 'full') throw new ConfigError(`The sync mode "${synchronous}" is not normal or full.`)
  return {
    host: flags.host ?? env.TACIT_HOST ?? '127.0.0.1',
    port: Number(port),
    dataDir: dataDirFrom(flags['data-dir'], env),
    logLevel,
    logFormat,
    synchronous,
    rateLimits: {
      requestsPerIp: parseRate('ip rate limit', flags['ip-rate-limit'] ?? env.TACIT_IP_RATE_LIMIT, DEFAULT_CLIENT_RATE_LIMITS.requestsPerIp),
      requestsPerToken: parseRate('token rate limit', flags['token-rate-limit'] ?? env.TACIT_TOKEN_RATE_LIMIT, DEFAULT_CLIENT_RATE_LIMITS.requestsPerToken),
    },
    forwardedHeader: parseForwardedHeader(flags['forwarded-header'] ?? env.TACIT_FORWARDED_HEADER ?? 'x-forwarded-for'),
    trustedProxies: parseTrustedProxies(flags['trusted-proxies'] ?? env.TACIT_TRUSTED_PROXIES ?? ''),
    geoipCityDb: env.TACIT_GEOIP_CITY_DB ? resolve(env.TACIT_GEOIP_CITY_DB) : undefined,
    ...parseScaleOut(env),
  }
}

function parseScaleOut(env: Env): Pick<ServeConfig, 'redisUrl' | 'databaseUrl' | 'cluster'> {
  const redisUrl = parseRedisUrl(env.TACIT_REDIS_URL)
  const databaseUrl = parseDatabaseUrl(env.TACIT_DATABASE_URL)
  const cluster = env.TACIT_CLUSTER ?? ''
  if (!['', '0', '1'].includes(cluster)) throw new ConfigError(`TACIT_CLUSTER must be 1 (several nodes) or 0; it is "${cluster.slice(0, 20)}".`)
  if (cluster === '1' && !databaseUrl) {
    throw new ConfigError('TACIT_CLUSTER=1 needs TACIT_DATABASE_URL=postgres://…: the SQLite database is one node\'s file, which other nodes cannot share.')
  }
  if (cluster === '1' && !redisUrl) {
    throw new ConfigError(
      'TACIT_CLUSTER=1 needs TACIT_REDIS_URL=redis://…: without a shared Redis each node would keep its own visitor sessions, so a visitor whose requests reach two nodes would be counted as two sessions.',
    )
  }
  return { redisUrl, databaseUrl, cluster: cluster === '1' }
}

/** TACIT_DATABASE_URL, validated, for the CLI (which shares the server's database). */
export function databaseUrlFrom(env: Env = process.env): string | undefined {
  return parseDatabaseUrl(env.TACIT_DATABASE_URL)
}

function parseDatabaseUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    // Not echoed: a database URL usually holds a password.
    throw new ConfigError('TACIT_DATABASE_URL is not a URL like postgres://tacit:password@127.0.0.1:5432/tacit.')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`TACIT_DATABASE_URL must start with postgres:// or postgresql:// (it starts with ${url.protocol.slice(0, 20)}//).`)
  }
  return value
}

function parseRedisUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`TACIT_REDIS_URL "${value.slice(0, 100)}" is not a URL like redis://127.0.0.1:6379.`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`TACIT_REDIS_URL must start with redis:// or rediss:// (it starts with ${url.protocol}//).`)
  }
  return value
}

export function parseForwardedHeader(value: string): ServeConfig['forwardedHeader'] {
  const header = value.toLowerCase()
  if (header !== 'x-forwarded-for' && header !== 'forwarded') {
    throw new ConfigError(`The forwarded header "${value}" is not x-forwarded-for or forwarded.`)
  }
  return header
}

export function parseRate(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!/^\d{1,7}$/.test(value)) throw new ConfigError(`The ${name} "${value}" is not a whole number of requests per second (0 turns it off).`)
  return Number(value)
}

/** Parses "10.0.0.0/8, 2001:db8::/32, 127.0.0.1" into validated networks (a bare address is one host). */
export function parseTrustedProxies(list: string): string[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const [address = '', prefix, extra] = entry.split('/')
      const family = isIP(address)
      const bits = family === 4 ? 32 : 128
      const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits)
      if (family === 0 || !validPrefix || extra !== undefined) {
        throw new ConfigError(`The trusted proxy "${entry}" is not an IP address or CIDR network like 10.0.0.0/8.`)
      }
      return entry
    })
}

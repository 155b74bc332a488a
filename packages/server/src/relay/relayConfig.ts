import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { DEFAULT_CLIENT_RATE_LIMITS } from '../apps/createClientRateLimits.js'
import { ConfigError, parseForwardedHeader, parseRate, parseTrustedProxies, type LogLevel } from '../config.js'
import { SECRET_KEY_PATTERN } from '../keys/secretKey.js'
import type { VisitorCheckOptions } from './visitorCheck/createVisitorCheck.js'

export interface RelayConfig {
  /** The Tacit server everything is forwarded to, and the only address the relay ever connects to. */
  upstream: URL
  host: string
  port: number
  /** The relay's secret key (`tacit key create --kind relay`): from the environment or a file, never a flag. */
  relayKey: string
  trustedProxies: string[]
  forwardedHeader: 'x-forwarded-for' | 'forwarded'
  /** Requests per second from one client address (burst twice that); 0 turns it off. */
  requestsPerIp: number
  /** Scrub events with the app's rules before they leave (the server scrubs again). */
  scrub: boolean
  spoolDir: string
  spoolMaxBytes: number
  maxConnections: number
  geoipCityDb?: string
  logLevel: LogLevel
  logFormat?: 'json' | 'pretty'
  /**
   * Authentication proxy mode: placeholder token → real client token. When set, only these placeholders are
   * accepted, and only from visitors that pass `visitorCheck`.
   */
  tokenMap?: ReadonlyMap<string, string>
  visitorCheck?: VisitorCheckOptions
}

export interface RelayFlags {
  upstream?: string
  listen?: string
  'key-file'?: string
  'trusted-proxies'?: string
  'forwarded-header'?: string
  'ip-rate-limit'?: string
  scrub?: boolean
  'spool-dir'?: string
  'spool-max-mb'?: string
  'max-connections'?: string
  'log-level'?: string
  'log-format'?: string
  auth?: string
  'auth-cookie'?: string
  'auth-public-key'?: string
  'auth-issuer'?: string
  'auth-audience'?: string
  'auth-verify-url'?: string
  'auth-cache-seconds'?: string
}

type Env = Record<string, string | undefined>

const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Flags first, then `TACIT_RELAY_*` variables, then defaults; every value checked here, once. */
export function loadRelayConfig(flags: RelayFlags, env: Env = process.env): RelayConfig {
  const upstream = parseUpstream(flags.upstream ?? env.TACIT_RELAY_UPSTREAM)
  const { host, port } = parseListen(flags.listen ?? env.TACIT_RELAY_LISTEN ?? '127.0.0.1:8081')
  const logLevel = flags['log-level'] ?? env.TACIT_LOG_LEVEL ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`The log level "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}.`)
  const logFormat = flags['log-format'] ?? env.TACIT_LOG_FORMAT
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') throw new ConfigError(`The log format "${logFormat}" is not json or pretty.`)
  const spoolMb = flags['spool-max-mb'] ?? env.TACIT_RELAY_SPOOL_MAX_MB ?? '256'
  if (!/^\d{1,6}$/.test(spoolMb) || Number(spoolMb) < 1) throw new ConfigError(`The spool size "${spoolMb}" is not a whole number of megabytes (1 or more).`)
  const connections = flags['max-connections'] ?? env.TACIT_RELAY_MAX_CONNECTIONS ?? '32'
  if (!/^\d{1,4}$/.test(connections) || Number(connections) < 1) throw new ConfigError(`The connection limit "${connections}" is not a whole number from 1 to 9999.`)
  const { tokenMap, visitorCheck } = parseAuthProxy(flags, env)
  return {
    upstream,
    host,
    port,
    relayKey: readRelayKey(flags['key-file'] ?? env.TACIT_RELAY_KEY_FILE, env.TACIT_RELAY_KEY),
    trustedProxies: parseTrustedProxies(flags['trusted-proxies'] ?? env.TACIT_RELAY_TRUSTED_PROXIES ?? ''),
    forwardedHeader: parseForwardedHeader(flags['forwarded-header'] ?? env.TACIT_RELAY_FORWARDED_HEADER ?? 'x-forwarded-for'),
    requestsPerIp: parseRate('ip rate limit', flags['ip-rate-limit'] ?? env.TACIT_RELAY_IP_RATE_LIMIT, DEFAULT_CLIENT_RATE_LIMITS.requestsPerIp),
    scrub: flags.scrub ?? isOn(env.TACIT_RELAY_SCRUB),
    spoolDir: resolve(flags['spool-dir'] ?? env.TACIT_RELAY_SPOOL_DIR ?? './relay-spool'),
    spoolMaxBytes: Number(spoolMb) * 1024 * 1024,
    maxConnections: Number(connections),
    ...(env.TACIT_GEOIP_CITY_DB && { geoipCityDb: resolve(env.TACIT_GEOIP_CITY_DB) }),
    logLevel: logLevel as LogLevel,
    ...(logFormat && { logFormat }),
    ...(tokenMap && { tokenMap }),
    ...(visitorCheck && { visitorCheck }),
  }
}

function parseUpstream(value: string | undefined): URL {
  if (value === undefined || value === '') throw new ConfigError('Say where to forward with --upstream <Tacit server URL> (or TACIT_RELAY_UPSTREAM), e.g. https://tacit.example.')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`The upstream "${value.slice(0, 100)}" is not a URL like https://tacit.example.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`The upstream must be an http:// or https:// URL (it is ${url.protocol}//).`)
  if (url.username || url.password) throw new ConfigError('The upstream URL must not hold a user or password: the relay authenticates with its relay key.')
  if (url.search || url.hash) throw new ConfigError('The upstream URL must not have a query or a fragment: give the server\'s base URL.')
  return url
}

function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value)
  const port = Number(match?.[3])
  if (!match || port > 65535) throw new ConfigError(`The listen address "${value.slice(0, 100)}" is not host:port, e.g. 127.0.0.1:8081 or [::1]:8081.`)
  return { host: match[1] ?? match[2]!, port }
}

function readRelayKey(file: string | undefined, inEnv: string | undefined): string {
  let key = inEnv
  if (file !== undefined) {
    try {
      key = readFileSync(file, 'utf8').trim()
    } catch (error) {
      throw new ConfigError(`The relay key file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`)
    }
  }
  if (key === undefined || key === '') {
    throw new ConfigError('The relay needs its key: create one on the server with `tacit key create --kind relay`, then set TACIT_RELAY_KEY or --key-file.')
  }
  if (!SECRET_KEY_PATTERN.test(key) || !key.startsWith('tacit_relay_')) throw new ConfigError('The relay key is not a relay key (tacit_relay_…): create one with `tacit key create --kind relay`.')
  return key
}

/**
 * `TACIT_RELAY_TOKENS=placeholder=tc_…[,…]` (the environment only: the real token is the secret here) and one
 * way of checking visitors, with its secret in TACIT_RELAY_AUTH_SECRET when it needs one.
 */
function parseAuthProxy(flags: RelayFlags, env: Env): { tokenMap?: Map<string, string>; visitorCheck?: VisitorCheckOptions } {
  const list = env.TACIT_RELAY_TOKENS
  const method = flags.auth ?? env.TACIT_RELAY_AUTH
  if (list === undefined || list === '') {
    if (method !== undefined) throw new ConfigError('--auth needs TACIT_RELAY_TOKENS=<placeholder>=<client token>: the placeholder the SDK sends, and the token it stands for.')
    return {}
  }
  const tokenMap = new Map<string, string>()
  for (const entry of list.split(',')) {
    const match = /^\s*([A-Za-z0-9_-]{1,64})=(tc_[A-Za-z0-9]{8,64})\s*$/.exec(entry)
    if (!match) throw new ConfigError('TACIT_RELAY_TOKENS must be <placeholder>=<client token>[,…], e.g. proxy=tc_AbCd…; the placeholder is letters, digits, _ and -.')
    tokenMap.set(match[1]!, match[2]!)
  }
  if (method === undefined) {
    throw new ConfigError('TACIT_RELAY_TOKENS needs a way to check visitors: --auth jwt, --auth signed-cookie or --auth verify-url (an authentication proxy forwards only visitors who pass).')
  }
  const secret = env.TACIT_RELAY_AUTH_SECRET
  const cookieName = flags['auth-cookie'] ?? env.TACIT_RELAY_AUTH_COOKIE
  const needCookie = (): string => {
    if (!cookieName || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/.test(cookieName)) throw new ConfigError(`--auth ${method} needs --auth-cookie <name>: the cookie that holds the visitor's session.`)
    return cookieName
  }
  switch (method) {
    case 'jwt': {
      const keyFile = flags['auth-public-key'] ?? env.TACIT_RELAY_AUTH_PUBLIC_KEY
      if ((keyFile === undefined) === (secret === undefined || secret === '')) {
        throw new ConfigError('--auth jwt needs exactly one key: TACIT_RELAY_AUTH_SECRET for HS256, or --auth-public-key <PEM file> for RS256.')
      }
      let publicKey: string | undefined
      if (keyFile !== undefined) {
        try {
          publicKey = readFileSync(keyFile, 'utf8')
        } catch (error) {
          throw new ConfigError(`The public key file ${keyFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`)
        }
      }
      const issuer = flags['auth-issuer'] ?? env.TACIT_RELAY_AUTH_ISSUER
      const audience = flags['auth-audience'] ?? env.TACIT_RELAY_AUTH_AUDIENCE
      return {
        tokenMap,
        visitorCheck: {
          method: 'jwt',
          cookieName: needCookie(),
          ...(publicKey !== undefined ? { rs256PublicKey: publicKey } : { hs256Secret: secret! }),
          ...(issuer && { issuer }),
          ...(audience && { audience }),
        },
      }
    }
    case 'signed-cookie':
      if (!secret) throw new ConfigError('--auth signed-cookie needs the cookie signing secret in TACIT_RELAY_AUTH_SECRET.')
      return { tokenMap, visitorCheck: { method: 'signed-cookie', cookieName: needCookie(), secret } }
    case 'verify-url': {
      const url = flags['auth-verify-url'] ?? env.TACIT_RELAY_AUTH_VERIFY_URL
      if (!url || !/^https?:\/\//.test(url) || !URL.canParse(url)) throw new ConfigError('--auth verify-url needs --auth-verify-url <http(s) URL>: your endpoint that answers 2xx for a signed-in visitor\'s cookies.')
      const seconds = flags['auth-cache-seconds'] ?? env.TACIT_RELAY_AUTH_CACHE_SECONDS ?? '60'
      if (!/^\d{1,5}$/.test(seconds)) throw new ConfigError(`The verdict cache time "${seconds}" is not a whole number of seconds.`)
      return { tokenMap, visitorCheck: { method: 'verify-url', url, cacheMs: Number(seconds) * 1000 } }
    }
    default:
      throw new ConfigError(`The visitor check "${method}" is not jwt, signed-cookie or verify-url.`)
  }
}

function isOn(value: string | undefined): boolean {
  return value === '1' || value === 'true'
}

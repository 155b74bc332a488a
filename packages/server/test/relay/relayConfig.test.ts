import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config.js'
import { loadRelayConfig, type RelayFlags } from '../../src/relay/relayConfig.js'

const KEY = `tacit_relay_${'K'.repeat(21)}_-${'x1'.repeat(10)}`
const TOKEN = `tc_${'A1b2'.repeat(8)}`
const OTHER_TOKEN = `tc_${'Zz9'.repeat(10)}zz`
const BASE_ENV = { TACIT_RELAY_KEY: KEY }
const UPSTREAM = { upstream: 'https://tacit.example' }

const dir = mkdtempSync(join(tmpdir(), 'tacit-relay-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function load(flags: RelayFlags = {}, env: Record<string, string | undefined> = {}) {
  return loadRelayConfig({ ...UPSTREAM, ...flags }, { ...BASE_ENV, ...env })
}

/** The ConfigError's message, failing the test if the config loaded or another error was thrown. */
function configError(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('the config loaded')
}

describe('loadRelayConfig defaults', () => {
  it('needs only an upstream and a key', () => {
    const config = loadRelayConfig({ upstream: 'https://tacit.example' }, { TACIT_RELAY_KEY: KEY })
    expect(config).toEqual({
      upstream: new URL('https://tacit.example'),
      host: '127.0.0.1',
      port: 8081,
      relayKey: KEY,
      trustedProxies: [],
      forwardedHeader: 'x-forwarded-for',
      requestsPerIp: 200,
      scrub: false,
      spoolDir: resolve('./relay-spool'),
      spoolMaxBytes: 256 * 1024 * 1024,
      maxConnections: 32,
      logLevel: 'info',
    })
    expect(config).not.toHaveProperty('tokenMap')
    expect(config).not.toHaveProperty('visitorCheck')
    expect(config).not.toHaveProperty('logFormat')
    expect(config).not.toHaveProperty('geoipCityDb')
  })

  it('reads everything from TACIT_RELAY_* variables', () => {
    const config = loadRelayConfig(
      {},
      {
        TACIT_RELAY_UPSTREAM: 'http://10.0.0.5:8080/tacit',
        TACIT_RELAY_LISTEN: '[::1]:9000',
        TACIT_RELAY_KEY: KEY,
        TACIT_RELAY_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1',
        TACIT_RELAY_FORWARDED_HEADER: 'Forwarded',
        TACIT_RELAY_IP_RATE_LIMIT: '0',
        TACIT_RELAY_SCRUB: '1',
        TACIT_RELAY_SPOOL_DIR: join(dir, 'spool'),
        TACIT_RELAY_SPOOL_MAX_MB: '1',
        TACIT_RELAY_MAX_CONNECTIONS: '9999',
        TACIT_GEOIP_CITY_DB: join(dir, 'city.mmdb'),
        TACIT_LOG_LEVEL: 'debug',
        TACIT_LOG_FORMAT: 'pretty',
      },
    )
    expect(config).toEqual({
      upstream: new URL('http://10.0.0.5:8080/tacit'),
      host: '::1',
      port: 9000,
      relayKey: KEY,
      trustedProxies: ['10.0.0.0/8', '192.168.1.1'],
      forwardedHeader: 'forwarded',
      requestsPerIp: 0,
      scrub: true,
      spoolDir: join(dir, 'spool'),
      spoolMaxBytes: 1024 * 1024,
      maxConnections: 9999,
      geoipCityDb: join(dir, 'city.mmdb'),
      logLevel: 'debug',
      logFormat: 'pretty',
    })
  })

  it('takes flags before variables', () => {
    const config = loadRelayConfig(
      { upstream: 'https://flag.example', listen: '0.0.0.0:80', 'log-level': 'warn', 'log-format': 'json', scrub: false, 'spool-max-mb': '2', 'max-connections': '3', 'ip-rate-limit': '7' },
      {
        TACIT_RELAY_UPSTREAM: 'https://env.example',
        TACIT_RELAY_LISTEN: '127.0.0.1:1',
        TACIT_RELAY_KEY: KEY,
        TACIT_LOG_LEVEL: 'debug',
        TACIT_LOG_FORMAT: 'pretty',
        TACIT_RELAY_SCRUB: 'true',
        TACIT_RELAY_SPOOL_MAX_MB: '9',
        TACIT_RELAY_MAX_CONNECTIONS: '9',
        TACIT_RELAY_IP_RATE_LIMIT: '9',
      },
    )
    expect(config).toMatchObject({
      upstream: new URL('https://flag.example'),
      host: '0.0.0.0',
      port: 80,
      logLevel: 'warn',
      logFormat: 'json',
      scrub: false,
      spoolMaxBytes: 2 * 1024 * 1024,
      maxConnections: 3,
      requestsPerIp: 7,
    })
  })

  it('keeps a base path on the upstream', () => {
    expect(load({ upstream: 'https://example.com/rum/' }).upstream.href).toBe('https://example.com/rum/')
  })
})

describe('loadRelayConfig refuses a bad upstream', () => {
  const missing = 'Say where to forward with --upstream <Tacit server URL> (or TACIT_RELAY_UPSTREAM), e.g. https://tacit.example.'
  it('missing or empty', () => {
    expect(configError(() => loadRelayConfig({}, BASE_ENV))).toBe(missing)
    expect(configError(() => loadRelayConfig({ upstream: '' }, BASE_ENV))).toBe(missing)
    expect(configError(() => loadRelayConfig({}, { ...BASE_ENV, TACIT_RELAY_UPSTREAM: '' }))).toBe(missing)
  })

  it('not a URL, quoting at most 100 characters of it', () => {
    expect(configError(() => load({ upstream: 'tacit.example' }))).toBe('The upstream "tacit.example" is not a URL like https://tacit.example.')
    const long = 'x'.repeat(300)
    expect(configError(() => load({ upstream: long }))).toBe(`The upstream "${'x'.repeat(100)}" is not a URL like https://tacit.example.`)
  })

  it.each([
    ['ftp://tacit.example', 'ftp:'],
    ['file:///etc/passwd', 'file:'],
    ['javascript:alert(1)', 'javascript:'],
    ['ws://tacit.example', 'ws:'],
  ])('%s: not http(s)', (upstream, protocol) => {
    expect(configError(() => load({ upstream }))).toBe(`The upstream must be an http:// or https:// URL (it is ${protocol}//).`)
  })

  it.each(['https://user:pass@tacit.example', 'https://user@tacit.example', 'https://:pass@tacit.example'])('%s: with a user or password', (upstream) => {
    expect(configError(() => load({ upstream }))).toBe('The upstream URL must not hold a user or password: the relay authenticates with its relay key.')
  })

  it.each(['https://tacit.example/?ddforward=https://evil.example', 'https://tacit.example/#x', 'https://tacit.example/?'])('%s: with a query or fragment', (upstream) => {
    // `?` alone leaves url.search empty: the URL is the same as without it, so it may be accepted.
    if (upstream.endsWith('?')) {
      expect(load({ upstream }).upstream.search).toBe('')
      return
    }
    expect(configError(() => load({ upstream }))).toBe("The upstream URL must not have a query or a fragment: give the server's base URL.")
  })
})

describe('loadRelayConfig listen address', () => {
  it.each([
    ['127.0.0.1:8081', '127.0.0.1', 8081],
    ['localhost:0', 'localhost', 0],
    ['[::]:65535', '::', 65535],
    ['[2001:db8::1]:443', '2001:db8::1', 443],
  ])('reads %s', (listen, host, port) => {
    expect(load({ listen })).toMatchObject({ host, port })
  })

  it.each(['8081', ':8081', '127.0.0.1', '127.0.0.1:', '127.0.0.1:65536', '127.0.0.1:123456', '::1:8081', '[::1]8081', 'host:port', '[]:80'])('refuses %s', (listen) => {
    expect(configError(() => load({ listen }))).toBe(`The listen address "${listen}" is not host:port, e.g. 127.0.0.1:8081 or [::1]:8081.`)
  })
})

describe('loadRelayConfig relay key', () => {
  const needKey = 'The relay needs its key: create one on the server with `tacit key create --kind relay`, then set TACIT_RELAY_KEY or --key-file.'
  const notRelayKey = 'The relay key is not a relay key (tacit_relay_…): create one with `tacit key create --kind relay`.'

  it('missing or empty', () => {
    expect(configError(() => loadRelayConfig(UPSTREAM, {}))).toBe(needKey)
    expect(configError(() => loadRelayConfig(UPSTREAM, { TACIT_RELAY_KEY: '' }))).toBe(needKey)
  })

  it.each([
    ['an upload key', `tacit_upload_${'a'.repeat(43)}`],
    ['an API key', `tacit_api_${'a'.repeat(43)}`],
    ['a client token', TOKEN],
    ['too short', `tacit_relay_${'a'.repeat(42)}`],
    ['too long', `tacit_relay_${'a'.repeat(44)}`],
    ['not base64url', `tacit_relay_${'a'.repeat(42)}+`],
    ['with a trailing newline in the variable', `${KEY}\n`],
  ])('not a relay key: %s', (_what, key) => {
    expect(configError(() => loadRelayConfig(UPSTREAM, { TACIT_RELAY_KEY: key }))).toBe(notRelayKey)
  })

  it('reads the key from a file, trailing newline and all, before the variable', () => {
    const file = join(dir, 'relay.key')
    writeFileSync(file, `${KEY}\n`)
    expect(load({ 'key-file': file }, { TACIT_RELAY_KEY: undefined }).relayKey).toBe(KEY)
    expect(loadRelayConfig(UPSTREAM, { TACIT_RELAY_KEY_FILE: file }).relayKey).toBe(KEY)
    // The file wins over the variable.
    expect(load({ 'key-file': file }, { TACIT_RELAY_KEY: `tacit_relay_${'z'.repeat(43)}` }).relayKey).toBe(KEY)
  })

  it('refuses a key file that cannot be read, naming the file and the reason', () => {
    const file = join(dir, 'missing.key')
    expect(configError(() => load({ 'key-file': file }))).toBe(`The relay key file ${file} cannot be read (ENOENT).`)
    expect(configError(() => load({ 'key-file': dir }))).toBe(`The relay key file ${dir} cannot be read (EISDIR).`)
  })

  it('refuses a key file without permission to read it', () => {
    if (process.getuid?.() === 0) return // root reads anything
    const file = join(dir, 'secret.key')
    writeFileSync(file, KEY)
    chmodSync(file, 0o000)
    expect(configError(() => load({ 'key-file': file }))).toBe(`The relay key file ${file} cannot be read (EACCES).`)
  })

  it('refuses an empty key file, and one holding another kind of key', () => {
    const empty = join(dir, 'empty.key')
    writeFileSync(empty, '\n')
    expect(configError(() => load({ 'key-file': empty }))).toBe(needKey)
    const upload = join(dir, 'upload.key')
    writeFileSync(upload, `tacit_upload_${'a'.repeat(43)}\n`)
    expect(configError(() => load({ 'key-file': upload }))).toBe(notRelayKey)
  })
})

describe('loadRelayConfig numbers, logs and proxies', () => {
  it.each(['0', '-1', '1.5', 'ten', '', '1234567'])('refuses the spool size %j', (mb) => {
    expect(configError(() => load({ 'spool-max-mb': mb }))).toBe(`The spool size "${mb}" is not a whole number of megabytes (1 or more).`)
  })

  it.each(['0', '10000', '-3', '2.5', 'many', ''])('refuses the connection limit %j', (connections) => {
    expect(configError(() => load({ 'max-connections': connections }))).toBe(`The connection limit "${connections}" is not a whole number from 1 to 9999.`)
  })

  it.each(['verbose', 'INFO', ''])('refuses the log level %j', (level) => {
    expect(configError(() => load({ 'log-level': level }))).toBe(`The log level "${level}" is not one of fatal, error, warn, info, debug, trace, silent.`)
  })

  it.each(['text', 'JSON', ''])('refuses the log format %j', (format) => {
    expect(configError(() => load({ 'log-format': format }))).toBe(`The log format "${format}" is not json or pretty.`)
  })

  it('accepts every log level', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) expect(load({ 'log-level': level }).logLevel).toBe(level)
  })

  it('refuses a bad trusted proxy, forwarded header or rate', () => {
    expect(configError(() => load({ 'trusted-proxies': '10.0.0.0/33' }))).toBe('The trusted proxy "10.0.0.0/33" is not an IP address or CIDR network like 10.0.0.0/8.')
    expect(configError(() => load({ 'forwarded-header': 'x-real-ip' }))).toBe('The forwarded header "x-real-ip" is not x-forwarded-for or forwarded.')
    expect(configError(() => load({ 'ip-rate-limit': 'fast' }))).toBe('The ip rate limit "fast" is not a whole number of requests per second (0 turns it off).')
  })
})

describe('loadRelayConfig authentication proxy', () => {
  const SECRET = 'a long cookie signing secret'

  it('maps placeholders to client tokens, with spaces around entries', () => {
    const config = load({ auth: 'signed-cookie', 'auth-cookie': 'sid' }, { TACIT_RELAY_TOKENS: ` proxy=${TOKEN} , shop_2-b=${OTHER_TOKEN}`, TACIT_RELAY_AUTH_SECRET: SECRET })
    expect([...config.tokenMap!]).toEqual([
      ['proxy', TOKEN],
      ['shop_2-b', OTHER_TOKEN],
    ])
    expect(config.visitorCheck).toEqual({ method: 'signed-cookie', cookieName: 'sid', secret: SECRET })
  })

  it.each([
    ['no equals sign', `proxy${TOKEN}`],
    ['no placeholder', `=${TOKEN}`],
    ['not a client token', 'proxy=tacit_api_abc'],
    ['a token too short', 'proxy=tc_abc'],
    ['a token with base64url punctuation', `proxy=tc_${'a'.repeat(20)}-_`],
    ['a placeholder with a dot', `prox.y=${TOKEN}`],
    ['a placeholder of 65 characters', `${'p'.repeat(65)}=${TOKEN}`],
    ['an empty entry', `proxy=${TOKEN},`],
    ['two equals signs', `proxy=${TOKEN}=x`],
  ])('refuses TACIT_RELAY_TOKENS with %s', (_what, tokens) => {
    expect(configError(() => load({ auth: 'signed-cookie', 'auth-cookie': 'sid' }, { TACIT_RELAY_TOKENS: tokens, TACIT_RELAY_AUTH_SECRET: SECRET }))).toBe(
      'TACIT_RELAY_TOKENS must be <placeholder>=<client token>[,…], e.g. proxy=tc_AbCd…; the placeholder is letters, digits, _ and -.',
    )
  })

  it('refuses tokens without --auth, and --auth without tokens', () => {
    expect(configError(() => load({}, { TACIT_RELAY_TOKENS: `proxy=${TOKEN}` }))).toBe(
      'TACIT_RELAY_TOKENS needs a way to check visitors: --auth jwt, --auth signed-cookie or --auth verify-url (an authentication proxy forwards only visitors who pass).',
    )
    const needTokens = '--auth needs TACIT_RELAY_TOKENS=<placeholder>=<client token>: the placeholder the SDK sends, and the token it stands for.'
    expect(configError(() => load({ auth: 'jwt' }))).toBe(needTokens)
    expect(configError(() => load({}, { TACIT_RELAY_AUTH: 'signed-cookie' }))).toBe(needTokens)
    expect(configError(() => load({ auth: 'jwt' }, { TACIT_RELAY_TOKENS: '' }))).toBe(needTokens)
  })

  it('refuses an unknown method', () => {
    expect(configError(() => load({ auth: 'basic' }, { TACIT_RELAY_TOKENS: `proxy=${TOKEN}` }))).toBe('The visitor check "basic" is not jwt, signed-cookie or verify-url.')
  })

  describe('jwt', () => {
    const tokens = { TACIT_RELAY_TOKENS: `proxy=${TOKEN}` }
    const exactlyOne = '--auth jwt needs exactly one key: TACIT_RELAY_AUTH_SECRET for HS256, or --auth-public-key <PEM file> for RS256.'

    it('with an HS256 secret, issuer and audience', () => {
      const config = load(
        { auth: 'jwt', 'auth-cookie': 'session', 'auth-issuer': 'https://id.example', 'auth-audience': 'shop' },
        { ...tokens, TACIT_RELAY_AUTH_SECRET: SECRET },
      )
      expect(config.visitorCheck).toEqual({ method: 'jwt', cookieName: 'session', hs256Secret: SECRET, issuer: 'https://id.example', audience: 'shop' })
    })

    it('with an RS256 public key from a file', () => {
      const file = join(dir, 'public.pem')
      writeFileSync(file, '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n')
      const config = load({ auth: 'jwt', 'auth-cookie': 'session', 'auth-public-key': file }, tokens)
      expect(config.visitorCheck).toEqual({ method: 'jwt', cookieName: 'session', rs256PublicKey: '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n' })
    })

    it('needs exactly one key', () => {
      expect(configError(() => load({ auth: 'jwt', 'auth-cookie': 'session' }, tokens))).toBe(exactlyOne)
      expect(configError(() => load({ auth: 'jwt', 'auth-cookie': 'session' }, { ...tokens, TACIT_RELAY_AUTH_SECRET: '' }))).toBe(exactlyOne)
      const file = join(dir, 'public2.pem')
      writeFileSync(file, 'pem')
      expect(configError(() => load({ auth: 'jwt', 'auth-cookie': 'session', 'auth-public-key': file }, { ...tokens, TACIT_RELAY_AUTH_SECRET: SECRET }))).toBe(exactlyOne)
    })

    it('refuses a public key file that cannot be read', () => {
      const file = join(dir, 'nope.pem')
      expect(configError(() => load({ auth: 'jwt', 'auth-cookie': 'session', 'auth-public-key': file }, tokens))).toBe(`The public key file ${file} cannot be read (ENOENT).`)
    })

    it('needs a cookie name that is a cookie name', () => {
      const needCookie = "--auth jwt needs --auth-cookie <name>: the cookie that holds the visitor's session."
      expect(configError(() => load({ auth: 'jwt' }, { ...tokens, TACIT_RELAY_AUTH_SECRET: SECRET }))).toBe(needCookie)
      for (const name of ['a b', 'a;b', 'a=b', '', 'x'.repeat(129)]) {
        expect(configError(() => load({ auth: 'jwt', 'auth-cookie': name }, { ...tokens, TACIT_RELAY_AUTH_SECRET: SECRET }))).toBe(needCookie)
      }
    })
  })

  describe('signed-cookie', () => {
    const tokens = { TACIT_RELAY_TOKENS: `proxy=${TOKEN}` }
    it('needs the secret and the cookie', () => {
      expect(configError(() => load({ auth: 'signed-cookie', 'auth-cookie': 'sid' }, tokens))).toBe('--auth signed-cookie needs the cookie signing secret in TACIT_RELAY_AUTH_SECRET.')
      expect(configError(() => load({ auth: 'signed-cookie', 'auth-cookie': 'sid' }, { ...tokens, TACIT_RELAY_AUTH_SECRET: '' }))).toBe(
        '--auth signed-cookie needs the cookie signing secret in TACIT_RELAY_AUTH_SECRET.',
      )
      expect(configError(() => load({ auth: 'signed-cookie' }, { ...tokens, TACIT_RELAY_AUTH_SECRET: SECRET }))).toBe(
        "--auth signed-cookie needs --auth-cookie <name>: the cookie that holds the visitor's session.",
      )
    })

    it('reads the cookie name and method from the environment', () => {
      const config = loadRelayConfig(UPSTREAM, { ...BASE_ENV, ...tokens, TACIT_RELAY_AUTH: 'signed-cookie', TACIT_RELAY_AUTH_COOKIE: 'connect.sid', TACIT_RELAY_AUTH_SECRET: SECRET })
      expect(config.visitorCheck).toEqual({ method: 'signed-cookie', cookieName: 'connect.sid', secret: SECRET })
    })
  })

  describe('verify-url', () => {
    const tokens = { TACIT_RELAY_TOKENS: `proxy=${TOKEN}` }
    const needUrl = "--auth verify-url needs --auth-verify-url <http(s) URL>: your endpoint that answers 2xx for a signed-in visitor's cookies."

    it('with a URL and the default cache time', () => {
      expect(load({ auth: 'verify-url', 'auth-verify-url': 'https://shop.example/api/me' }, tokens).visitorCheck).toEqual({
        method: 'verify-url',
        url: 'https://shop.example/api/me',
        cacheMs: 60_000,
      })
      expect(load({ auth: 'verify-url', 'auth-verify-url': 'http://127.0.0.1:3000/me', 'auth-cache-seconds': '0' }, tokens).visitorCheck).toEqual({
        method: 'verify-url',
        url: 'http://127.0.0.1:3000/me',
        cacheMs: 0,
      })
    })

    it.each([undefined, '', 'shop.example/me', 'ftp://shop.example/me', 'file:///etc/passwd', 'https://', 'javascript:alert(1)'])('refuses the URL %j', (url) => {
      expect(configError(() => load({ auth: 'verify-url', ...(url !== undefined && { 'auth-verify-url': url }) }, tokens))).toBe(needUrl)
    })

    it.each(['-1', '1.5', 'soon', '123456'])('refuses the cache time %j', (seconds) => {
      expect(configError(() => load({ auth: 'verify-url', 'auth-verify-url': 'https://shop.example/me', 'auth-cache-seconds': seconds }, tokens))).toBe(
        `The verdict cache time "${seconds}" is not a whole number of seconds.`,
      )
    })
  })
})

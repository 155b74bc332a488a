import { mkdirSync, writeFileSync } from 'node:fs'
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runRelayCommand, startRecordingProxy, startRelayProcess, type RecordedRequest, type RecordingProxy, type RelayProcess } from '../support/relayProcess.js'
import { makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'

/**
 * `tacit relay`'s own edge (issue 8), with real processes: a client → `tacit relay` → a recording proxy (what
 * the server sees on the wire) → `tacit serve`. Bad input gets a clear error and is not forwarded; good input
 * goes only to the configured upstream, without the visitor's address, User-Agent, cookies or credentials; the
 * spool keeps everything it acknowledged; nothing of the visitor reaches the relay's metrics or logs.
 */

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36'
const COOKIE_VALUE = 'cookie-value-7f3a9c41'
const BROWSER_AUTHORIZATION = 'Bearer browser-bearer-5d1e0b77'
const REFERER = 'https://shop.example/account?from=referer-9b2c'
const FORGED_RELAY_FIELDS = JSON.stringify({ visitor: 'F'.repeat(43), client: 'browser', country: 'FR' })
/** Visitors' addresses, said by the site's proxy in X-Forwarded-For (documentation ranges: no country). */
const VISITOR_IP = '198.51.100.23'
const BURST_IP = '203.0.113.50'
const OTHER_IP = '203.0.113.51'
const SPOOL_IP = '198.51.100.77'
const VISITOR_IPS = [VISITOR_IP, BURST_IP, OTHER_IP, SPOOL_IP]
/** Planted for --scrub. */
const EMAIL = 'greta.lindqvist@example.org'
const CARD = '4111 1111 1111 1111'
const PASSWORD = 'hunter2-correct-horse'

/** What a browser behind the site's proxy sends along: none of it may cross to the upstream. */
const BROWSER_HEADERS: Record<string, string> = {
  'user-agent': USER_AGENT,
  cookie: `site_session=${COOKIE_VALUE}`,
  authorization: BROWSER_AUTHORIZATION,
  referer: REFERER,
  'x-forwarded-for': VISITOR_IP,
  'x-tacit-relay': FORGED_RELAY_FIELDS,
}

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  text: string
  json: Record<string, unknown>
}

/** One connection per request: a refusal that closes the connection cannot spill into the next request. */
const oneShot = new Agent({ keepAlive: false })

/** A raw HTTP request, so the test can set Host, send an absolute-form target, or a body the relay refuses early. */
function send(port: number, request: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Answer> {
  const body = request.body === undefined ? undefined : Buffer.from(request.body)
  const headers = { ...(body && { 'content-length': String(body.length) }), ...request.headers }
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method: request.method ?? 'POST', path: request.path, headers, agent: oneShot }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: Record<string, unknown> = {}
        try {
          json = text ? (JSON.parse(text) as Record<string, unknown>) : {}
        } catch {
          // Not JSON: the test looks at `text`.
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json })
      })
    })
    // A refusal may come before the whole body is written; once answered, a broken pipe changes nothing.
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

/** POSTs to a relay as a browser behind the site's proxy does, with its cookies, User-Agent and address. */
function post(relay: RelayProcess, path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return send(relay.port, { path, body, headers: { 'content-type': 'text/plain', ...BROWSER_HEADERS, ...headers } })
}

const custom = (name: string, extra: Record<string, unknown> = {}) => JSON.stringify({ type: 'custom', custom: { name }, ...extra })
const ingestPath = (token: string, query = '') => `/api/v1/ingest?token=${token}${query}`
const postsTo = (records: RecordedRequest[], path: string) => records.filter((record) => record.method === 'POST' && record.path === path)

/** A Reporting API v1 batch (decodeReports.ts), as a browser sends it to `report-to`. */
function cspReport(marker: string): string {
  return JSON.stringify([
    {
      type: 'csp-violation',
      age: 10,
      url: `https://shop.example/cart?password=${PASSWORD}`,
      user_agent: USER_AGENT,
      body: {
        documentURL: `https://shop.example/cart?email=${EMAIL}`,
        blockedURL: `https://${marker}.example/pixel.js`,
        effectiveDirective: 'script-src-elem',
        disposition: 'enforce',
      },
    },
  ])
}

/** A little HTTP server nothing should ever reach: where an SSRF would send the relay. */
async function startDecoy(): Promise<{ port: number; url: string; contacts(): number; close(): Promise<void> }> {
  let contacts = 0
  const server = createServer((_request, response) => response.end('stolen'))
  server.on('connection', () => contacts++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    contacts: () => contacts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function metricsOf(relay: RelayProcess): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(`${relay.url}/metrics`)
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() }
}

async function metric(relay: RelayProcess, name: string): Promise<number> {
  const { text } = await metricsOf(relay)
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN)
}

describe('tacit relay at its own edge', () => {
  const data = makeTempDir('tacit-relay-edge-')
  const spools = makeTempDir('tacit-relay-edge-spools-')
  let server: ServerProcess
  let decoy: Awaited<ReturnType<typeof startDecoy>>
  let relayKey: string
  let apiKey: string
  /** The app most tests send to, and one that allows only https://shop.example. */
  let token: string
  let shopToken: string
  /** Plain; --scrub; --ip-rate-limit 1; --spool-max-mb 1. Each with its own recording proxy. */
  let plain: RelayProcess
  let scrubbing: RelayProcess
  let limited: RelayProcess
  let spooling: RelayProcess
  let plainWire: RecordingProxy
  let scrubWire: RecordingProxy
  let limitedWire: RecordingProxy
  let spoolWire: RecordingProxy
  const wires = () => [plainWire, scrubWire, limitedWire, spoolWire]
  const relays = () => [plain, scrubbing, limited, spooling]

  async function exported(app: string, args: string[] = []): Promise<Array<Record<string, unknown>>> {
    const result = await runTacit(['export', app, ...args], { dataDir: data.path })
    expect(result.code, result.stderr).toBe(0)
    return result.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  }
  const customName = (event: Record<string, unknown>) => (event.custom as { name?: string } | undefined)?.name

  beforeAll(async () => {
    server = await startServerProcess({ dataDir: data.path })
    const cli = async (args: string[]) => {
      const result = await runTacit(args, { dataDir: data.path })
      if (result.code !== 0) throw new Error(`tacit ${args.join(' ')} failed: ${result.stderr}`)
      return JSON.parse(result.stdout) as Record<string, string>
    }
    const [relayKeyMade, apiKeyMade, relayedApp, shopApp] = await Promise.all([
      cli(['key', 'create', '--kind', 'relay', '--json']),
      cli(['key', 'create', '--kind', 'api', '--json']),
      cli(['app', 'create', 'relayed', '--json']),
      cli(['app', 'create', 'shop', '--json']),
    ])
    relayKey = relayKeyMade.key!
    apiKey = apiKeyMade.key!
    token = relayedApp.token!
    shopToken = shopApp.token!
    // Before any relay asks for its settings (relays keep them for a minute).
    await cli(['app', 'set', 'shop', 'origins=https://shop.example', '--json'])
    decoy = await startDecoy()
    ;[plainWire, scrubWire, limitedWire, spoolWire] = await Promise.all([
      startRecordingProxy(server.url),
      startRecordingProxy(server.url),
      startRecordingProxy(server.url),
      startRecordingProxy(server.url),
    ])
    const start = (wire: RecordingProxy, name: string, args: string[]) => {
      const spoolDir = join(spools.path, name)
      mkdirSync(spoolDir)
      return startRelayProcess({ upstream: wire.url, relayKey, spoolDir, args: ['--trusted-proxies', '127.0.0.1', ...args] })
    }
    ;[plain, scrubbing, limited, spooling] = await Promise.all([
      start(plainWire, 'plain', []),
      start(scrubWire, 'scrub', ['--scrub']),
      start(limitedWire, 'limited', ['--ip-rate-limit', '1']),
      start(spoolWire, 'spool', ['--spool-max-mb', '1']),
    ])
  })

  afterAll(async () => {
    await Promise.all((relays() as Array<RelayProcess | undefined>).map((relay) => relay?.stop()))
    await Promise.all((wires() as Array<RecordingProxy | undefined>).map((wire) => wire?.close()))
    await decoy?.close()
    await server?.stop()
    oneShot.destroy()
    data.remove()
    spools.remove()
  })

  it('answers 401 missing_token and invalid_token, and sends the upstream nothing but the settings lookup', async () => {
    const before = plainWire.recorded.length
    const missing = await post(plain, '/api/v1/ingest', custom('no-token'))
    const missingReport = await post(plain, '/api/v1/report', cspReport('no-token'), { 'content-type': 'application/reports+json' })
    for (const answer of [missing, missingReport]) {
      expect(answer.status).toBe(401)
      expect(answer.json).toMatchObject({ error: 'missing_token', message: expect.stringMatching(/token/) })
    }
    expect(plainWire.recorded.length).toBe(before)

    // A token that cannot be one is refused without asking anyone.
    for (const malformed of ['tc_short', 'not-a-token', 'tc_' + 'x'.repeat(40)]) {
      expect((await post(plain, ingestPath(malformed), custom('malformed-token'))).json).toMatchObject({ error: 'invalid_token' })
    }
    expect(plainWire.recorded.length).toBe(before)
    const unknown = 'tc_UnknownToken0123456789abcdefXYZW'
    const inQuery = await post(plain, ingestPath(unknown), custom('unknown-token'))
    const inHeader = await post(plain, '/api/v1/ingest', custom('unknown-token'), { 'x-tacit-token': unknown })
    const report = await post(plain, `/api/v1/report?token=${unknown}`, cspReport('unknown-token'), { 'content-type': 'application/reports+json' })
    for (const answer of [inQuery, inHeader, report]) {
      expect(answer.status).toBe(401)
      expect(answer.json).toMatchObject({ error: 'invalid_token' })
    }
    // Asked once (then remembered), authenticated with the relay's key; the request itself never went.
    const seen = plainWire.recorded.slice(before)
    expect(seen.map((record) => `${record.method} ${record.path}`)).toEqual(['GET /api/v1/relay/settings'])
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${relayKey}`)
    expect(seen[0]!.headers.authorization).toMatch(/^Bearer tacit_relay_/)
    expect(seen[0]!.headers['x-tacit-token']).toBe(unknown)
    expect(seen[0]!.body.length).toBe(0)
  })

  it('answers 415 for a Content-Type the endpoint does not take and 413 (JSON) for a body over 1 MiB, forwarding neither', async () => {
    const before = plainWire.recorded.length
    const xml = await post(plain, ingestPath(token), custom('xml'), { 'content-type': 'application/xml' })
    expect(xml.status).toBe(415)
    expect(xml.json).toMatchObject({ error: 'unsupported_media_type', message: expect.stringContaining('Content-Type') })
    // The report endpoint takes the Reporting API's types, not the SDK's text/plain.
    const plainReport = await post(plain, `/api/v1/report?token=${token}`, cspReport('wrong-type'), { 'content-type': 'text/plain' })
    expect(plainReport.status).toBe(415)
    expect(plainReport.json).toMatchObject({ error: 'unsupported_media_type' })

    const line = custom('too-large', { context: { pad: 'x'.repeat(4000) } })
    const tooLarge = Array.from({ length: Math.ceil((1024 * 1024 + 1) / (line.length + 1)) }, () => line).join('\n')
    expect(Buffer.byteLength(tooLarge)).toBeGreaterThan(1024 * 1024)
    const refused = await post(plain, ingestPath(token), tooLarge)
    expect(refused.status).toBe(413)
    expect(refused.headers['content-type']).toMatch(/^application\/json/)
    expect(refused.json).toMatchObject({ error: 'body_too_large', message: expect.any(String) })
    expect(postsTo(plainWire.recorded.slice(before), '/api/v1/ingest')).toEqual([])
    expect(postsTo(plainWire.recorded.slice(before), '/api/v1/report')).toEqual([])
  })

  it('takes a gzip body, and refuses a gzip bomb: 413 from the relay with --scrub, the server\'s 413 without', async () => {
    const batch = gzipSync(['gzip-1', 'gzip-2', 'gzip-3'].map((name) => custom(name)).join('\n'))
    const [plainBefore, scrubBefore] = [plainWire.recorded.length, scrubWire.recorded.length]
    const throughPlain = await post(plain, ingestPath(token), batch, { 'content-encoding': 'gzip' })
    const throughScrub = await post(scrubbing, ingestPath(token), batch, { 'content-encoding': 'gzip' })
    expect(throughPlain.status).toBe(202)
    expect(throughPlain.json).toMatchObject({ accepted: 3 })
    expect(throughScrub.status).toBe(202)
    expect(throughScrub.json).toMatchObject({ accepted: 3 })
    // Passed on as sent by the plain relay; decoded, scrubbed and sent as NDJSON by the scrubbing one.
    const [plainPost] = postsTo(plainWire.recorded.slice(plainBefore), '/api/v1/ingest')
    expect(plainPost!.headers['content-encoding']).toBe('gzip')
    expect(plainPost!.body.equals(batch)).toBe(true)
    const [scrubPost] = postsTo(scrubWire.recorded.slice(scrubBefore), '/api/v1/ingest')
    expect(scrubPost!.headers['content-encoding']).toBeUndefined()
    expect(scrubPost!.headers['content-type']).toBe('application/x-ndjson')
    expect(scrubPost!.body.toString('utf8').split('\n').map((text) => customName(JSON.parse(text) as Record<string, unknown>))).toEqual(['gzip-1', 'gzip-2', 'gzip-3'])

    // 2 KiB that inflate to 2 MiB, past the 1 MiB limit on the decompressed body.
    const bomb = gzipSync(Buffer.alloc(2 * 1024 * 1024, '\n'))
    expect(bomb.length).toBeLessThan(16 * 1024)
    const scrubBombBefore = scrubWire.recorded.length
    const scrubBomb = await post(scrubbing, ingestPath(token), bomb, { 'content-encoding': 'gzip' })
    expect(scrubBomb.status).toBe(413)
    expect(scrubBomb.json).toMatchObject({ error: 'body_too_large' })
    expect(postsTo(scrubWire.recorded.slice(scrubBombBefore), '/api/v1/ingest')).toEqual([])
    const plainBomb = await post(plain, ingestPath(token), bomb, { 'content-encoding': 'gzip' })
    expect(plainBomb.status).toBe(413)
    expect(plainBomb.json).toMatchObject({ error: 'body_too_large' })

    const stored = (await exported('relayed', ['--type', 'custom'])).map(customName)
    for (const name of ['gzip-1', 'gzip-2', 'gzip-3']) expect(stored.filter((found) => found === name)).toHaveLength(2)
  })

  it('answers malformed NDJSON with 400 invalid_batch from the scrubbing relay, and passes the server\'s own 400 on without --scrub', async () => {
    const malformed = `{"type":"custom","custom":{"name":"malformed"\n{nope`
    const scrubBefore = scrubWire.recorded.length
    const scrubbed = await post(scrubbing, ingestPath(token), malformed)
    expect(scrubbed.status).toBe(400)
    expect(scrubbed.json).toMatchObject({ error: 'invalid_batch', message: expect.stringContaining('not valid JSON') })
    expect(postsTo(scrubWire.recorded.slice(scrubBefore), '/api/v1/ingest')).toEqual([])

    const plainBefore = plainWire.recorded.length
    const passed = await post(plain, ingestPath(token), malformed)
    expect(passed.status).toBe(400)
    // The server's answer, whole: it lists the problems per line.
    expect(passed.json).toMatchObject({ error: 'invalid_batch', problems: expect.any(Array) })
    expect((passed.json.problems as unknown[]).length).toBe(2)
    expect(postsTo(plainWire.recorded.slice(plainBefore), '/api/v1/ingest').map((record) => record.body.toString('utf8'))).toEqual([malformed])
  })

  it('refuses an origin the app does not allow (403, its preflight too), and allows the app\'s own with access-control-allow-origin', async () => {
    const before = plainWire.recorded.length
    const evil = await post(plain, ingestPath(shopToken), custom('from-evil'), { origin: 'https://evil.example' })
    expect(evil.status).toBe(403)
    expect(evil.json).toMatchObject({ error: 'origin_not_allowed' })
    expect(evil.headers['access-control-allow-origin']).toBeUndefined()
    const evilPreflight = await send(plain.port, {
      method: 'OPTIONS',
      path: ingestPath(shopToken),
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(evilPreflight.status).toBe(403)
    expect(evilPreflight.headers['access-control-allow-origin']).toBeUndefined()

    const shop = await post(plain, ingestPath(shopToken), custom('from-shop'), { origin: 'https://shop.example' })
    expect(shop.status).toBe(202)
    expect(shop.headers['access-control-allow-origin']).toBe('https://shop.example')
    const shopPreflight = await send(plain.port, {
      method: 'OPTIONS',
      path: ingestPath(shopToken),
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(shopPreflight.status).toBe(204)
    expect(shopPreflight.headers['access-control-allow-origin']).toBe('https://shop.example')
    expect(shopPreflight.headers['access-control-allow-methods']).toContain('POST')

    const posts = postsTo(plainWire.recorded.slice(before), '/api/v1/ingest')
    expect(posts.map((record) => record.headers.origin)).toEqual(['https://shop.example'])
    const stored = (await exported('shop')).map(customName)
    expect(stored).toContain('from-shop')
    expect(stored).not.toContain('from-evil')
  })

  it('sends only to its configured upstream, whatever the request says: ddforward, Host, an absolute-form target, X-Forwarded-Host', async () => {
    const before = plainWire.recorded.length
    const steal = `${decoy.url}/steal`
    const answers = {
      ddforward: await post(plain, ingestPath(token, `&ddforward=${encodeURIComponent(steal)}`), custom('ssrf-ddforward')),
      ddforwardReport: await post(plain, `/api/v1/report?token=${token}&ddforward=${encodeURIComponent(steal)}`, cspReport('ssrf-report'), {
        'content-type': 'application/reports+json',
      }),
      host: await post(plain, ingestPath(token), custom('ssrf-host'), { host: 'evil.example' }),
      decoyHost: await post(plain, ingestPath(token), custom('ssrf-decoy-host'), { host: `127.0.0.1:${decoy.port}` }),
      absolute: await post(plain, `${decoy.url}${ingestPath(token)}`, custom('ssrf-absolute'), { host: `127.0.0.1:${decoy.port}` }),
      absoluteElsewhere: await post(plain, `${steal}?token=${token}`, custom('ssrf-absolute-elsewhere'), { host: `127.0.0.1:${decoy.port}` }),
      forwardedHost: await post(plain, ingestPath(token), custom('ssrf-forwarded-host'), {
        'x-forwarded-host': `127.0.0.1:${decoy.port}`,
        'x-forwarded-proto': 'http',
        forwarded: `for=${VISITOR_IP};host=127.0.0.1:${decoy.port};proto=http`,
      }),
    }
    expect(Object.fromEntries(Object.entries(answers).map(([name, answer]) => [name, answer.status]))).toEqual({
      ddforward: 202,
      ddforwardReport: 204,
      host: 202,
      decoyHost: 202,
      absolute: 202,
      // Not an endpoint of the relay: refused, not fetched.
      absoluteElsewhere: 404,
      forwardedHost: 202,
    })
    expect(answers.absoluteElsewhere.json).toMatchObject({ error: 'not_found' })

    expect(decoy.contacts()).toBe(0)
    const seen = plainWire.recorded.slice(before)
    // Five events and the report, which the relay always decodes and sends as a `report` event (its body held the
    // browser's User-Agent).
    expect(postsTo(seen, '/api/v1/ingest')).toHaveLength(6)
    expect(postsTo(seen, '/api/v1/report')).toHaveLength(0)
    const upstreamHost = new URL(plainWire.url).host
    for (const record of seen) {
      // The fixed endpoint paths (no query, so no ddforward and no token in access logs), to the upstream's host.
      expect(['/api/v1/ingest', '/api/v1/report', '/api/v1/relay/settings']).toContain(record.path)
      expect(record.headers.host).toBe(upstreamHost)
      const text = JSON.stringify(record.headers) + record.body.toString('latin1')
      expect(text).not.toContain(String(decoy.port))
      expect(text).not.toContain('evil.example')
    }
    const stored = (await exported('relayed', ['--type', 'custom'])).map(customName)
    for (const name of ['ssrf-ddforward', 'ssrf-host', 'ssrf-decoy-host', 'ssrf-absolute', 'ssrf-forwarded-host']) expect(stored).toContain(name)
    expect(stored).not.toContain('ssrf-absolute-elsewhere')
  })

  it('forwards no cookie, User-Agent, X-Forwarded-For, Authorization, Referer or relay fields of the browser\'s', async () => {
    const before = [plainWire.recorded.length, scrubWire.recorded.length]
    expect((await post(plain, ingestPath(token), custom('headers-plain'), { 'x-real-ip': VISITOR_IP, dnt: '0' })).status).toBe(202)
    expect((await post(scrubbing, ingestPath(token), custom('headers-scrub'), { 'x-real-ip': VISITOR_IP })).status).toBe(202)
    const [plainPost] = postsTo(plainWire.recorded.slice(before[0]), '/api/v1/ingest')
    const [scrubPost] = postsTo(scrubWire.recorded.slice(before[1]), '/api/v1/ingest')
    for (const record of [plainPost!, scrubPost!]) {
      expect(Object.keys(record.headers).sort()).toEqual(['authorization', 'connection', 'content-length', 'content-type', 'host', 'user-agent', 'x-tacit-relay', 'x-tacit-token'])
      expect(record.headers['x-tacit-relay']).not.toBe(FORGED_RELAY_FIELDS)
      expect(JSON.parse(record.headers['x-tacit-relay'] as string)).toMatchObject({ client: 'browser', visitor: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })
    }
    expectCleanWire()
  })

  /**
   * Every request every relay sent upstream so far: the relay's own credentials and User-Agent in its headers,
   * none of the browser's headers, and no address, cookie or credential of the visitor anywhere. (The visitor's
   * User-Agent inside a report body is the next test's.)
   */
  function expectCleanWire(): void {
    const all = wires().flatMap((wire) => wire.recorded)
    expect(all.length).toBeGreaterThan(0)
    for (const record of all) {
      const where = `${record.method} ${record.path}`
      expect(record.headers.cookie, where).toBeUndefined()
      expect(record.headers['user-agent'], where).toMatch(/^tacit-relay\/\d+\.\d+\.\d+\S*$/)
      expect(record.headers['x-forwarded-for'], where).toBeUndefined()
      expect(record.headers['x-real-ip'], where).toBeUndefined()
      expect(record.headers.forwarded, where).toBeUndefined()
      expect(record.headers['x-forwarded-host'], where).toBeUndefined()
      expect(record.headers.referer, where).toBeUndefined()
      expect(record.headers.authorization, where).toBe(`Bearer ${relayKey}`)
      const headers = JSON.stringify(record.headers)
      for (const secret of [USER_AGENT, 'Chrome/131', COOKIE_VALUE, BROWSER_AUTHORIZATION, 'referer-9b2c', FORGED_RELAY_FIELDS, ...VISITOR_IPS]) {
        expect(headers.includes(secret), `${where} carries ${secret} in its headers`).toBe(false)
      }
      const body = record.body.toString('latin1')
      for (const secret of [COOKIE_VALUE, BROWSER_AUTHORIZATION, 'referer-9b2c', ...VISITOR_IPS]) {
        expect(body.includes(secret), `${where} carries ${secret} in its body`).toBe(false)
      }
    }
  }

  it('does not forward the visitor\'s User-Agent that a Reporting API report carries in its body, without --scrub too', async () => {
    // Browsers put their full User-Agent in every report (`user_agent`); the server drops it, but it must not
    // cross to the server at all (issue 8: what crosses carries no IP and no User-Agent).
    const before = plainWire.recorded.length
    const answer = await post(plain, `/api/v1/report?token=${token}`, cspReport('report-user-agent'), { 'content-type': 'application/reports+json' })
    expect(answer.status).toBe(204)
    const forwarded = plainWire.recorded.slice(before).filter((record) => record.method === 'POST')
    expect(forwarded).toHaveLength(1)
    expect(forwarded[0]!.body.toString('utf8')).toContain('report-user-agent')
    for (const record of wires().flatMap((wire) => wire.recorded)) {
      expect(record.body.toString('latin1').includes('Chrome/131'), `${record.method} ${record.path} carries the visitor's User-Agent in its body`).toBe(false)
    }
  })

  it('answers a token no client token can be (a control or non-Latin-1 character) with 401 invalid_token, not a 500', async () => {
    const outputBefore = plain.output().length
    const before = plainWire.recorded.length
    for (const unreadable of ['tc_abc%0D%0AX-Injected:%201', 'tc_%E2%82%AC']) {
      const answer = await post(plain, ingestPath(unreadable), custom('unreadable-token'))
      expect({ token: unreadable, status: answer.status, error: answer.json.error }).toEqual({ token: unreadable, status: 401, error: 'invalid_token' })
    }
    expect(postsTo(plainWire.recorded.slice(before), '/api/v1/ingest')).toEqual([])
    // Not an error of the relay's: nothing at error level in its log.
    expect(plain.output().slice(outputBefore)).not.toMatch(/"level":50/)
  })

  it('limits requests per client address (--ip-rate-limit 1): a burst from one address gets 429 with Retry-After, other addresses pass', async () => {
    const before = limitedWire.recorded.length
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => post(limited, ingestPath(token), custom(`burst-${i}`), { 'x-forwarded-for': BURST_IP })))
    const passed = burst.filter((answer) => answer.status === 202)
    const limitedAnswers = burst.filter((answer) => answer.status === 429)
    expect(passed.length + limitedAnswers.length).toBe(burst.length)
    expect(passed.length).toBeGreaterThanOrEqual(1)
    expect(limitedAnswers.length).toBeGreaterThanOrEqual(1)
    for (const answer of limitedAnswers) {
      expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/)
      expect(answer.json).toMatchObject({ error: 'rate_limited' })
    }
    const other = await post(limited, ingestPath(token), custom('burst-other-address'), { 'x-forwarded-for': OTHER_IP })
    expect(other.status).toBe(202)
    // Refused requests are not forwarded.
    expect(postsTo(limitedWire.recorded.slice(before), '/api/v1/ingest')).toHaveLength(passed.length + 1)
  })

  it('--scrub: an email, a card number and ?password= leave the relay already scrubbed, and the event is stored', async () => {
    const before = scrubWire.recorded.length
    const event = {
      type: 'error',
      view: { id: 'scrub-view-1', url: `https://shop.example/checkout?password=${PASSWORD}&step=2` },
      error: { message: `Payment failed for ${EMAIL} with card ${CARD}`, type: 'Error' },
      context: { note: `write to ${EMAIL}` },
    }
    const answer = await post(scrubbing, ingestPath(token), JSON.stringify(event))
    expect(answer.status).toBe(202)
    expect(answer.json).toMatchObject({ accepted: 1 })
    const [forwarded] = postsTo(scrubWire.recorded.slice(before), '/api/v1/ingest')
    const onWire = forwarded!.body.toString('utf8')
    expect(onWire).toContain('scrub-view-1')
    for (const secret of [EMAIL, CARD, CARD.replaceAll(' ', ''), PASSWORD]) expect(onWire).not.toContain(secret)

    const [stored] = (await exported('relayed', ['--type', 'error'])).filter((found) => (found.view as { id?: string } | undefined)?.id === 'scrub-view-1')
    expect(stored).toBeDefined()
    expect((stored!.error as { message: string }).message).toMatch(/^Payment failed for /)
    expect((stored!.view as { url: string }).url).toMatch(/^https:\/\/shop\.example\/checkout\?password=/)
    const text = JSON.stringify(stored)
    for (const secret of [EMAIL, CARD, CARD.replaceAll(' ', ''), PASSWORD]) expect(text).not.toContain(secret)
  })

  it('--scrub: a Reporting API report gets 204, goes upstream as scrubbed report events, and is stored', async () => {
    const before = scrubWire.recorded.length
    const answer = await post(scrubbing, `/api/v1/report?token=${token}`, cspReport('scrubbed-report-marker'), { 'content-type': 'application/reports+json' })
    expect(answer.status).toBe(204)
    expect(answer.text).toBe('')
    const [forwarded] = postsTo(scrubWire.recorded.slice(before), '/api/v1/ingest')
    expect(forwarded!.headers['content-type']).toBe('application/x-ndjson')
    const onWire = forwarded!.body.toString('utf8')
    expect(JSON.parse(onWire)).toMatchObject({ type: 'report', report: { type: 'csp-violation' } })
    for (const secret of [EMAIL, PASSWORD]) expect(onWire).not.toContain(secret)

    const reports = (await exported('relayed', ['--type', 'report'])).filter((found) => JSON.stringify(found).includes('scrubbed-report-marker'))
    expect(reports).toHaveLength(1)
    expect(reports[0]).toMatchObject({ type: 'report', report: { type: 'csp-violation', body: { blockedURL: 'https://scrubbed-report-marker.example/pixel.js' } } })
    for (const secret of [EMAIL, PASSWORD]) expect(JSON.stringify(reports[0])).not.toContain(secret)
  })

  it('spools while the upstream is away, answers 503 with Retry-After once the spool is full, and delivers every acknowledged event exactly once', async () => {
    const send = (body: string) => post(spooling, ingestPath(token), body, { 'x-forwarded-for': SPOOL_IP })
    // Warm: the relay has the app's settings before its upstream goes away.
    expect((await send(custom('spool-warm-up'))).status).toBe(202)
    expect(await (await fetch(`${spooling.url}/readyz`)).json()).toEqual({ status: 'ready', upstream: 'up' })
    spoolWire.setTarget(undefined)

    // 12 requests of ~100 KB (25 events of ~4 KB), ~1.2 MB in all, against a 1 MiB spool.
    const pad = 'p'.repeat(3900)
    const nameOf = (request: number, event: number) => `spool-${request}-${event}`
    const bodyOf = (request: number) => Array.from({ length: 25 }, (_, event) => custom(nameOf(request, event), { context: { pad } })).join('\n')
    const answers: Answer[] = []
    for (let request = 0; request < 12; request++) {
      answers.push(await send(bodyOf(request)))
      if (request === 0) {
        // Still ready (the spool has room), and it knows its upstream is down once the replay has tried.
        await expect.poll(async () => (await fetch(`${spooling.url}/readyz`)).json(), { timeout: 5000, interval: 100 }).toEqual({ status: 'ready', upstream: 'down' })
      }
    }
    const statuses = answers.map((answer) => answer.status)
    const acknowledged = statuses.filter((status) => status === 202).length
    expect(acknowledged).toBeGreaterThanOrEqual(8)
    expect(acknowledged).toBeLessThan(12)
    // First the ones that fit, then refusals: nothing acknowledged beyond the spool's room.
    expect(statuses).toEqual([...Array<number>(acknowledged).fill(202), ...Array<number>(12 - acknowledged).fill(503)])
    for (const answer of answers.slice(0, acknowledged)) expect(answer.json).toMatchObject({ spooled: true })
    for (const answer of answers.slice(acknowledged)) {
      expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/)
      expect(answer.json).toMatchObject({ error: 'unavailable' })
    }
    expect(await metric(spooling, 'tacit_relay_spool_entries')).toBe(acknowledged)
    // Nearly full and no upstream: not ready for more.
    expect((await fetch(`${spooling.url}/readyz`)).status).toBe(503)

    spoolWire.setTarget(server.url)
    // A request that goes through tells the relay its upstream is back (no waiting out the replay's pause).
    const back = await send(custom('spool-back'))
    expect(back.status).toBe(202)
    expect(back.json).not.toHaveProperty('spooled')
    await expect.poll(() => metric(spooling, 'tacit_relay_spool_entries'), { timeout: 20_000, interval: 200 }).toBe(0)
    expect(await (await fetch(`${spooling.url}/readyz`)).json()).toEqual({ status: 'ready', upstream: 'up' })

    const counts = new Map<string, number>()
    for (const event of await exported('relayed', ['--type', 'custom'])) {
      const name = customName(event)
      if (name?.startsWith('spool-')) counts.set(name, (counts.get(name) ?? 0) + 1)
    }
    const expected = new Map<string, number>([
      ['spool-warm-up', 1],
      ['spool-back', 1],
    ])
    for (let request = 0; request < acknowledged; request++) for (let event = 0; event < 25; event++) expected.set(nameOf(request, event), 1)
    // Every acknowledged event exactly once, and nothing of the refused requests.
    expect(counts).toEqual(expected)
  }, 40_000)

  it('answers /healthz and /readyz, and /metrics in Prometheus text with tacit_relay_* names and nothing of a visitor or token', async () => {
    const health = await fetch(`${plain.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    const ready = await fetch(`${plain.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready', upstream: 'up' })

    const unknownToken = 'tc_UnknownToken0123456789abcdefXYZ'
    for (const relay of relays()) {
      const { status, contentType, text } = await metricsOf(relay)
      expect(status).toBe(200)
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/)
      const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'))
      expect(samples.length).toBeGreaterThan(0)
      for (const line of samples) expect(line).toMatch(/^tacit_relay_[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/)
      for (const secret of [token, shopToken, unknownToken, relayKey, USER_AGENT, 'Chrome/131', COOKIE_VALUE, ...VISITOR_IPS, '127.0.0.1']) {
        expect(text.includes(secret), `metrics carry ${secret}`).toBe(false)
      }
    }
    expect((await metricsOf(plain)).text).toMatch(/^tacit_relay_refused_total\{reason="token"\} [1-9]/m)
    expect((await metricsOf(plain)).text).toMatch(/^tacit_relay_refused_total\{reason="origin"\} [1-9]/m)
    expect((await metricsOf(limited)).text).toMatch(/^tacit_relay_refused_total\{reason="rate_limited"\} [1-9]/m)
    expect((await metricsOf(spooling)).text).toMatch(/^tacit_relay_refused_total\{reason="spool_full"\} [1-9]/m)
    expect((await metricsOf(spooling)).text).toMatch(/^tacit_relay_replayed_total\{outcome="delivered"\} [1-9]/m)
  })

  it('after all of the above: the wire carried nothing of the browser\'s, and no relay logged a token, address, User-Agent or cookie', () => {
    expectCleanWire()
    for (const relay of relays()) {
      const output = relay.output()
      expect(output).toContain('Tacit relay listening')
      for (const secret of [token, shopToken, 'tc_UnknownToken', relayKey, USER_AGENT, 'Chrome/131', COOKIE_VALUE, BROWSER_AUTHORIZATION, ...VISITOR_IPS]) {
        expect(output.includes(secret), `the relay's log carries ${secret}`).toBe(false)
      }
    }
  })

  it('refuses a bad configuration with one clear sentence and exit code 1: no --upstream, a key that is not a relay key, an unreadable --key-file', async () => {
    const base = ['--listen', '127.0.0.1:0', '--spool-dir', join(spools.path, 'config')]
    const directory = join(spools.path, 'a-directory')
    mkdirSync(directory)
    const clientTokenFile = join(spools.path, 'client-token.key')
    writeFileSync(clientTokenFile, `${token}\n`)
    const cases = {
      noUpstream: await runRelayCommand(base, { env: { TACIT_RELAY_KEY: relayKey } }),
      apiKey: await runRelayCommand([...base, '--upstream', plainWire.url], { env: { TACIT_RELAY_KEY: apiKey } }),
      clientTokenInFile: await runRelayCommand([...base, '--upstream', plainWire.url, '--key-file', clientTokenFile]),
      missingKeyFile: await runRelayCommand([...base, '--upstream', plainWire.url, '--key-file', join(spools.path, 'missing.key')]),
      keyFileIsDirectory: await runRelayCommand([...base, '--upstream', plainWire.url, '--key-file', directory]),
    }
    const expected: Record<keyof typeof cases, RegExp> = {
      noUpstream: /--upstream/,
      apiKey: /not a relay key/,
      clientTokenInFile: /not a relay key/,
      missingKeyFile: /missing\.key cannot be read \(ENOENT\)/,
      keyFileIsDirectory: /cannot be read \(EISDIR\)/,
    }
    for (const [name, result] of Object.entries(cases)) {
      expect(result.code, name).toBe(1)
      expect(result.stdout, name).toBe('')
      const lines = result.stderr.trimEnd().split('\n')
      // One line, one sentence, no stack trace, and never the secret it was given.
      expect(lines, name).toHaveLength(1)
      expect(lines[0], name).toMatch(/^tacit: [A-Z].*\.$/)
      expect(lines[0], name).toMatch(expected[name as keyof typeof cases])
      expect(result.stderr, name).not.toMatch(/\n\s+at /)
      for (const secret of [apiKey, token, relayKey]) expect(result.stderr, name).not.toContain(secret)
    }
  })
})

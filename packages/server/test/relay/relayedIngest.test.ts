import type { InjectOptions } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DAY_MS } from '../../src/clock.js'
import { createSecretKey } from '../../src/keys/createSecretKey.js'
import { generateSecretKey, hashSecretKey } from '../../src/keys/secretKey.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { formatRelayFields, type RelayFields } from '../../src/protocol/relayFields.js'
import { cryptoRandom } from '../../src/randomSource.js'
import type { DailyCount } from '../../src/store/Store.js'
import { startAccountTestServer, type AccountTestServer } from '../accounts/accountTestServer.js'
import { createRelayTestApp, insertSecretKey } from './relayTestApps.js'

const NOW = Date.UTC(2026, 10, 2, 9)
const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
/** What the relay's own HTTP client says it is: a server-side sender, whose own kind must not count. */
const RELAY_UA = 'tacit-relay/0.1.0 node/20'
/** The relay's address (DB-IP: US) and a visitor's (DB-IP: DE), in the country database that ships with Tacit. */
const RELAY_IP = '8.8.8.8'
const GERMAN_IP = '193.99.144.80'
const BRITISH_IP = '81.2.69.142'

const visitor = (n: number): string => `${String(n).padStart(6, '0')}${'V'.repeat(37)}`
const RELAYED_DEVICE = { type: 'mobile', browser: 'Safari', browser_version: '17', os: 'iOS', os_version: '17' } as const

let server: AccountTestServer
let relayKey: string

beforeEach(async () => {
  server = await startAccountTestServer(NOW)
  relayKey = (await createSecretKey(adminDeps(), { kind: 'relay', appId: null })).key
})
afterEach(async () => {
  await server.close()
})

function adminDeps() {
  return { store: server.temp.store, clock: server.clock, random: cryptoRandom }
}

const errorEvent = (message = 'boom') => JSON.stringify({ type: 'error', error: { message } })

interface Sent {
  status: number
  body: Record<string, unknown>
  headers: Record<string, unknown>
}

async function send(options: { token: string; headers?: Record<string, string>; remoteAddress?: string; body?: string; url?: string }): Promise<Sent> {
  const request: InjectOptions = {
    method: 'POST',
    url: options.url ?? '/api/v1/ingest',
    headers: { 'content-type': 'text/plain', 'x-tacit-token': options.token, ...options.headers },
    payload: options.body ?? errorEvent(),
    remoteAddress: options.remoteAddress ?? RELAY_IP,
  }
  const response = await server.app.inject(request)
  return { status: response.statusCode, body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {}, headers: response.headers }
}

/** A request as a `tacit relay` sends it: its key, the visitor's fields, its own address and User-Agent. */
function relayed(token: string, fields: Partial<RelayFields> = {}, options: { key?: string; headers?: Record<string, string>; body?: string; url?: string } = {}): Promise<Sent> {
  const relay: RelayFields = { visitor: visitor(1), client: 'browser', device: { ...RELAYED_DEVICE }, country: 'DE', ...fields }
  return send({
    token,
    remoteAddress: RELAY_IP,
    ...(options.body !== undefined && { body: options.body }),
    ...(options.url !== undefined && { url: options.url }),
    headers: { authorization: `Bearer ${options.key ?? relayKey}`, 'x-tacit-relay': formatRelayFields(relay), 'user-agent': RELAY_UA, ...options.headers },
  })
}

async function stored(appId: number): Promise<StoredEvent[]> {
  const events: StoredEvent[] = []
  for await (const event of server.temp.store.readEvents({ appId })) events.push(event)
  return events
}

async function dropped(appId: number): Promise<Record<string, number>> {
  const counts: DailyCount[] = await server.temp.store.readDailyCounts(appId, '2000-01-01')
  const drops: Record<string, number> = {}
  for (const count of counts) if (count.kind === 'dropped') drops[count.key] = (drops[count.key] ?? 0) + count.count
  return drops
}

describe('a relayed request (valid relay key and X-Tacit-Relay fields)', () => {
  it('is stored with the relay\'s country and device, not those of the relay\'s own address and User-Agent', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const answer = await relayed(token)
    expect(answer.status).toBe(202)
    expect(answer.body).toEqual({ accepted: 1, dropped: {} })
    const [event] = await stored(appId)
    expect(event!.geo).toEqual({ country: 'DE' })
    expect(event!.device).toEqual(RELAYED_DEVICE)
    expect(event!.session?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(event!.received_at).toBe(NOW)
    expect(event).not.toHaveProperty('bot')
  })

  it('keeps no network prefix, even when the app stores truncated addresses', async () => {
    const { appId, token } = await createRelayTestApp(server, ['ip=truncated'])
    expect((await relayed(token)).status).toBe(202)
    const [event] = await stored(appId)
    expect(event).not.toHaveProperty('network')
    expect(JSON.stringify(event)).not.toContain('8.8.8')
  })

  it('keeps the city only with geo=city', async () => {
    const country = await createRelayTestApp(server, ['geo=country'])
    await relayed(country.token, { country: 'DE', city: 'München' })
    expect((await stored(country.appId))[0]!.geo).toEqual({ country: 'DE' })
    const city = await createRelayTestApp(server, ['geo=city'])
    await relayed(city.token, { country: 'DE', city: 'München' })
    expect((await stored(city.appId))[0]!.geo).toEqual({ country: 'DE', city: 'München' })
  })

  it('stores no country when the relay sent none, rather than the relay\'s own', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await relayed(token, { country: undefined })
    expect((await stored(appId))[0]).not.toHaveProperty('geo')
  })

  it('gives a device of type unknown when the relay sent no device', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await relayed(token, { device: undefined })
    expect((await stored(appId))[0]!.device).toEqual({ type: 'unknown' })
  })

  it('treats a client the relay calls "server" as a server sender: no session, no device names', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await relayed(token, { client: 'server' })
    const [event] = await stored(appId)
    expect(event!.device).toEqual({ type: 'unknown' })
    expect(event).not.toHaveProperty('session')
  })

  it('gives two requests with the same visitor key one session, and different visitor keys different sessions, from one address and User-Agent', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await relayed(token, { visitor: visitor(1) })
    server.clock.advance(60_000)
    await relayed(token, { visitor: visitor(1) })
    await relayed(token, { visitor: visitor(2) })
    await relayed(token, { visitor: visitor(3) })
    const sessions = (await stored(appId)).map((event) => event.session?.id)
    expect(sessions.every((id) => typeof id === 'string')).toBe(true)
    expect(sessions[0]).toBe(sessions[1])
    expect(new Set(sessions).size).toBe(3)
  })

  it('does not share a session between a relayed visitor and a direct one from the relay\'s own address', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await relayed(token, { visitor: visitor(1) })
    await send({ token, remoteAddress: RELAY_IP, headers: { 'user-agent': RELAY_UA } })
    await send({ token, remoteAddress: RELAY_IP, headers: { 'user-agent': CHROME_WINDOWS } })
    const sessions = (await stored(appId)).map((event) => event.session?.id)
    // The relay's UA is a server sender: no session; the direct browser gets its own.
    expect(sessions[1]).toBeUndefined()
    expect(sessions[2]).toBeDefined()
    expect(sessions[2]).not.toBe(sessions[0])
  })

  it('carries a session over midnight by the relay\'s previous key, and starts a new one without it', async () => {
    const { appId, token } = await createRelayTestApp(server)
    server.clock.set(Date.UTC(2026, 10, 2, 23, 55))
    await relayed(token, { visitor: visitor(1) }, { body: errorEvent('a1') })
    server.clock.set(Date.UTC(2026, 10, 2, 23, 56))
    await relayed(token, { visitor: visitor(3) }, { body: errorEvent('b1') })
    // The relay's salt rotated at midnight: new visitor keys, and yesterday's as previous while it holds it.
    server.clock.set(Date.UTC(2026, 10, 3, 0, 5))
    await relayed(token, { visitor: visitor(2), previous: visitor(1) }, { body: errorEvent('a2') })
    server.clock.set(Date.UTC(2026, 10, 3, 0, 6))
    await relayed(token, { visitor: visitor(4) }, { body: errorEvent('b2') })
    const session = new Map((await stored(appId)).map((event) => [event.type === 'error' ? event.error.message : '', event.session?.id]))
    expect(session.size).toBe(4)
    expect(session.get('a2')).toBe(session.get('a1'))
    expect(session.get('b2')).not.toBe(session.get('b1'))
    expect(session.get('b1')).not.toBe(session.get('a1'))
  })

  it('accepts relayed browser reports on /api/v1/report too', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const report = { 'csp-report': { 'document-uri': 'https://shop.example/', 'effective-directive': 'img-src', 'blocked-uri': 'https://cdn.example/x.png' } }
    const answer = await relayed(token, {}, { url: '/api/v1/report', body: JSON.stringify(report), headers: { 'content-type': 'application/csp-report' } })
    expect(answer.status).toBe(204)
    const [event] = await stored(appId)
    expect(event!.type).toBe('report')
    expect(event!.geo).toEqual({ country: 'DE' })
    expect(event!.device).toEqual(RELAYED_DEVICE)
  })

  it('can have a relay key limited to one app made as docs/API.md says (`tacit key create shop --kind relay`)', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const other = await createRelayTestApp(server)
    const { key, record } = await createSecretKey(adminDeps(), { kind: 'relay', appId })
    expect(record.appId).toBe(appId)
    expect((await relayed(token, {}, { key })).status).toBe(202)
    expect((await relayed(other.token, {}, { key })).status).toBe(403)
  })

  it('accepts a relay key limited to this app', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const scoped = await insertSecretKey(server, 'relay', appId)
    expect((await relayed(token, {}, { key: scoped })).status).toBe(202)
    expect(await stored(appId)).toHaveLength(1)
  })

  it('never logs the relay key, the visitor key or the relay header', async () => {
    const { token } = await createRelayTestApp(server)
    await relayed(token, { visitor: visitor(9) })
    await relayed(token, {}, { headers: { 'x-tacit-relay': 'not json' } })
    const logs = server.logs()
    expect(logs).not.toContain(relayKey)
    expect(logs).not.toContain(visitor(9))
    expect(logs).not.toContain('not json')
  })
})

describe('forged relay fields (X-Tacit-Relay without a relay key)', () => {
  const forged = formatRelayFields({
    visitor: visitor(7),
    client: 'browser',
    device: { type: 'tv', browser: 'Forged', browser_version: '1', os: 'ForgedOS', os_version: '1' },
    country: 'FR',
    city: 'Paris',
    received_at: NOW - 3 * DAY_MS,
  })

  it('are ignored: country and device come from the request\'s own address and User-Agent', async () => {
    const { appId, token } = await createRelayTestApp(server, ['geo=city'])
    const answer = await send({ token, remoteAddress: GERMAN_IP, headers: { 'user-agent': CHROME_WINDOWS, 'x-tacit-relay': forged } })
    expect(answer.status).toBe(202)
    const [event] = await stored(appId)
    expect(event!.geo).toEqual({ country: 'DE' })
    expect(event!.device).toMatchObject({ type: 'desktop', browser: 'Chrome', browser_version: '131', os: 'Windows' })
    expect(JSON.stringify(event)).not.toMatch(/FR|Paris|Forged/)
    expect(event!.received_at).toBe(NOW)
  })

  it('give no country at all from an address the database does not know', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await send({ token, remoteAddress: '127.0.0.1', headers: { 'user-agent': CHROME_WINDOWS, 'x-tacit-relay': forged } })
    expect((await stored(appId))[0]).not.toHaveProperty('geo')
  })

  it('cannot pick a session: the same forged visitor key from two addresses gets two sessions', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await send({ token, remoteAddress: GERMAN_IP, headers: { 'user-agent': CHROME_WINDOWS, 'x-tacit-relay': forged } })
    await send({ token, remoteAddress: BRITISH_IP, headers: { 'user-agent': CHROME_WINDOWS, 'x-tacit-relay': forged } })
    const [a, b] = await stored(appId)
    expect(a!.session?.id).toBeDefined()
    expect(a!.session?.id).not.toBe(b!.session?.id)
  })

  it('cannot get a bot past dropBots by claiming client "browser"', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const answer = await send({ token, remoteAddress: GERMAN_IP, headers: { 'user-agent': GOOGLEBOT, 'x-tacit-relay': forged } })
    expect(answer.status).toBe(202)
    expect(await stored(appId)).toHaveLength(0)
    expect(await dropped(appId)).toEqual({ bot: 1 })
  })

  it('cannot escape the app\'s IP filters by claiming ip_blocked false', async () => {
    const { appId, token } = await createRelayTestApp(server, [`ip_deny=${GERMAN_IP}/32`])
    const notBlocked = formatRelayFields({ visitor: visitor(7), client: 'browser', ip_blocked: false })
    await send({ token, remoteAddress: GERMAN_IP, headers: { 'user-agent': CHROME_WINDOWS, 'x-tacit-relay': notBlocked } })
    expect(await stored(appId)).toHaveLength(0)
    expect(await dropped(appId)).toEqual({ ip_blocked: 1 })
  })

  it('keep the network prefix of the request\'s own address with ip=truncated', async () => {
    const { appId, token } = await createRelayTestApp(server, ['ip=truncated'])
    await send({ token, remoteAddress: GERMAN_IP, headers: { 'user-agent': CHROME_WINDOWS, 'x-tacit-relay': forged } })
    expect((await stored(appId))[0]!.network).toEqual({ ip_prefix: '193.99.144.0/24' })
  })
})

describe('relay authentication refusals', () => {
  it.each([
    ['an unknown relay key', () => Promise.resolve(generateSecretKey('relay', cryptoRandom))],
    ['a revoked relay key', () => insertSecretKey(server, 'relay', null, true)],
    ['a malformed relay key', () => Promise.resolve('tacit_relay_short')],
    ['an empty relay key', () => Promise.resolve('tacit_relay_')],
    ['a relay key with a character outside base64url', () => Promise.resolve(`tacit_relay_${'a'.repeat(42)}+`)],
  ])('%s is refused with 401 invalid_relay_key and nothing is stored', async (_what, makeKey) => {
    const { appId, token } = await createRelayTestApp(server)
    const key = await makeKey()
    const answer = await relayed(token, {}, { key })
    expect(answer.status).toBe(401)
    expect(answer.body.error).toBe('invalid_relay_key')
    expect(JSON.stringify(answer.body)).not.toContain(key)
    expect(await stored(appId)).toHaveLength(0)
    expect(await dropped(appId)).toEqual({})
  })

  /**
   * Any other Authorization header (an upload or API key, a client token, a gateway's Basic or Bearer
   * credentials) does not make a relayed request: the request is the visitor's own, its relay fields ignored
   * (PROTOCOL.md, "Relayed requests").
   */
  it.each([
    ['an upload key', () => insertSecretKey(server, 'upload', 1)],
    ['an API key', () => insertSecretKey(server, 'api', null)],
    ['a client token', () => Promise.resolve(`tc_${'a'.repeat(32)}`)],
    ['a gateway\'s token', () => Promise.resolve('eyJhbGciOiJIUzI1NiJ9.e30.x')],
  ])('Bearer with %s is the visitor\'s own request: the relay fields are ignored', async (_what, makeKey) => {
    const { appId, token } = await createRelayTestApp(server)
    const answer = await send({
      token,
      remoteAddress: GERMAN_IP,
      headers: {
        authorization: `Bearer ${await makeKey()}`,
        'user-agent': CHROME_WINDOWS,
        'x-tacit-relay': formatRelayFields({ visitor: visitor(1), client: 'browser', country: 'FR', device: { type: 'tv' } }),
      },
    })
    expect(answer.status).toBe(202)
    const [event] = await stored(appId)
    expect(event!.geo).toEqual({ country: 'DE' })
    expect(event!.device).toMatchObject({ type: 'desktop', browser: 'Chrome' })
  })

  it.each(['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', '', 'Token RELAYKEY', 'Bearer RELAYKEY extra', 'RELAYKEY', 'Bearer\tRELAYKEY'])(
    'with Authorization %j, even holding a valid relay key, the request is not relayed and its relay fields are ignored',
    async (template) => {
      const { appId, token } = await createRelayTestApp(server)
      const answer = await relayed(token, { country: 'FR' }, { headers: { authorization: template.replace('RELAYKEY', relayKey) } })
      // Either refused as a broken relay request or taken as the relay's own request: never with the fields.
      if (answer.status === 401) {
        expect(answer.body.error).toBe('invalid_relay_key')
        expect(await stored(appId)).toHaveLength(0)
        return
      }
      expect(answer.status).toBe(202)
      const [event] = await stored(appId)
      // The relay's own address (8.8.8.8, US) and User-Agent (a server sender) count, not the fields.
      expect(event!.geo).toEqual({ country: 'US' })
      expect(event!.device).toEqual({ type: 'unknown' })
      expect(event).not.toHaveProperty('session')
    },
  )

  it('accepts the scheme in any case and spaces after it', async () => {
    const { appId, token } = await createRelayTestApp(server)
    expect((await relayed(token, {}, { headers: { authorization: `bearer  ${relayKey}` } })).status).toBe(202)
    expect(await stored(appId)).toHaveLength(1)
  })

  it('refuses a key revoked after use once its cache time is over', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const key = await insertSecretKey(server, 'relay', null)
    expect((await relayed(token, {}, { key })).status).toBe(202)
    const record = await server.temp.store.secretKeys.findByHash(hashSecretKey(key))
    await server.temp.store.secretKeys.revoke(record!.id, server.clock.now())
    server.clock.advance(30_001)
    const answer = await relayed(token, {}, { key })
    expect(answer.status).toBe(401)
    expect(answer.body.error).toBe('invalid_relay_key')
    expect(await stored(appId)).toHaveLength(1)
  })

  it('refuses a relay key limited to another app with 403 relay_not_for_app', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const other = await createRelayTestApp(server)
    const key = await insertSecretKey(server, 'relay', other.appId)
    const answer = await relayed(token, {}, { key })
    expect(answer.status).toBe(403)
    expect(answer.body.error).toBe('relay_not_for_app')
    expect(await stored(appId)).toHaveLength(0)
    expect(await stored(other.appId)).toHaveLength(0)
  })

  it('checks the client token first', async () => {
    const answer = await relayed(`tc_${'b'.repeat(32)}`)
    expect(answer.status).toBe(401)
    expect(answer.body.error).toBe('invalid_token')
  })

  it.each([
    ['missing', undefined],
    ['not JSON', '{nope'],
    ['with an IP address in it', JSON.stringify({ visitor: visitor(1), client: 'browser', ip: '203.0.113.1' })],
    ['with a bad visitor key', JSON.stringify({ visitor: 'abc', client: 'browser' })],
    ['with a lower-case country', JSON.stringify({ visitor: visitor(1), client: 'browser', country: 'de' })],
  ])('a valid key with X-Tacit-Relay %s is refused with 400 invalid_relay_fields', async (_what, header) => {
    const { appId, token } = await createRelayTestApp(server)
    const headers: Record<string, string> = { authorization: `Bearer ${relayKey}`, 'user-agent': RELAY_UA }
    if (header !== undefined) headers['x-tacit-relay'] = header
    const answer = await send({ token, headers })
    expect(answer.status).toBe(400)
    expect(answer.body.error).toBe('invalid_relay_fields')
    expect(String(answer.body.message)).toMatch(/X-Tacit-Relay/)
    expect(await stored(appId)).toHaveLength(0)
    expect(await dropped(appId)).toEqual({})
  })
})

describe('the relay\'s verdicts', () => {
  it('a bot is dropped and counted as a bot', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const answer = await relayed(token, { client: 'bot' })
    expect(answer.status).toBe(202)
    expect(answer.body).toEqual({ accepted: 0, dropped: { bot: 1 } })
    expect(await stored(appId)).toHaveLength(0)
    expect(await dropped(appId)).toEqual({ bot: 1 })
  })

  it('a bot is kept, marked, with keep_bots', async () => {
    const { appId, token } = await createRelayTestApp(server, ['keep_bots=true'])
    await relayed(token, { client: 'bot' })
    const [event] = await stored(appId)
    expect(event!.bot).toBe(true)
    expect(event!.device).toEqual(RELAYED_DEVICE)
  })

  it('opt_out drops the events only when the app honours GPC', async () => {
    const ignoring = await createRelayTestApp(server)
    await relayed(ignoring.token, { opt_out: true })
    expect(await stored(ignoring.appId)).toHaveLength(1)
    const honouring = await createRelayTestApp(server, ['honor_gpc=true'])
    expect((await relayed(honouring.token, { opt_out: true })).body).toEqual({ accepted: 0, dropped: { opt_out: 1 } })
    expect(await stored(honouring.appId)).toHaveLength(0)
    expect(await dropped(honouring.appId)).toEqual({ opt_out: 1 })
  })

  it('the relay\'s own Sec-GPC and DNT headers are not the visitor\'s', async () => {
    const { appId, token } = await createRelayTestApp(server, ['honor_gpc=true'])
    await relayed(token, {}, { headers: { 'sec-gpc': '1', dnt: '1' } })
    expect(await stored(appId)).toHaveLength(1)
  })

  it('ip_blocked drops the events only when the app has IP filters', async () => {
    const unfiltered = await createRelayTestApp(server)
    await relayed(unfiltered.token, { ip_blocked: true })
    expect(await stored(unfiltered.appId)).toHaveLength(1)
    for (const filter of ['ip_deny=198.51.100.0/24', 'ip_allow=10.0.0.0/8']) {
      const filtered = await createRelayTestApp(server, [filter])
      expect((await relayed(filtered.token, { ip_blocked: true })).body).toEqual({ accepted: 0, dropped: { ip_blocked: 1 } })
      expect(await dropped(filtered.appId)).toEqual({ ip_blocked: 1 })
    }
  })

  it('ip_blocked is not a drop for an app whose only filters are countries or paths (it has no IP filters)', async () => {
    // A relay with settings a minute stale (ip_deny just removed) may still say ip_blocked.
    for (const filter of ['block_countries=RU', 'block_paths=/admin/**']) {
      const app = await createRelayTestApp(server, [filter])
      const answer = await relayed(app.token, { ip_blocked: true })
      expect(answer.body, filter).toEqual({ accepted: 1, dropped: {} })
      expect(await stored(app.appId)).toHaveLength(1)
    }
  })

  it('the relay\'s own address is not checked against the app\'s IP filters', async () => {
    const denied = await createRelayTestApp(server, [`ip_deny=${RELAY_IP}/32`])
    await relayed(denied.token)
    expect(await stored(denied.appId)).toHaveLength(1)
    const allowOnly = await createRelayTestApp(server, ['ip_allow=10.0.0.0/8'])
    await relayed(allowOnly.token)
    expect(await stored(allowOnly.appId)).toHaveLength(1)
  })

  it('geo=off stores no country even though the relay sent one', async () => {
    const { appId, token } = await createRelayTestApp(server, ['geo=off'])
    await relayed(token, { country: 'DE', city: 'Berlin' })
    const [event] = await stored(appId)
    expect(event).not.toHaveProperty('geo')
    expect(JSON.stringify(event)).not.toMatch(/"DE"|Berlin/)
  })

  it('the relay\'s country is what block_countries checks, with geo off too', async () => {
    const { appId, token } = await createRelayTestApp(server, ['geo=off', 'block_countries=DE'])
    await relayed(token, { country: 'DE' })
    await relayed(token, { country: 'GB' })
    expect(await stored(appId)).toHaveLength(1)
    expect(await dropped(appId)).toEqual({ country_blocked: 1 })
    expect((await stored(appId))[0]).not.toHaveProperty('geo')
  })
})

describe('received_at of a relayed request', () => {
  it('keeps the relay\'s time when it is within the last week', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const twoDaysAgo = NOW - 2 * DAY_MS
    await relayed(token, { received_at: twoDaysAgo })
    const [event] = await stored(appId)
    expect(event!.received_at).toBe(twoDaysAgo)
    expect(event!.ts).toBe(twoDaysAgo)
    const days = (await server.temp.store.readDailyCounts(appId, '2000-01-01')).filter((count) => count.kind === 'accepted').map((count) => count.day)
    expect(days).toEqual([new Date(twoDaysAgo).toISOString().slice(0, 10)])
  })

  it('clamps a time older than seven days to seven days ago', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await relayed(token, { received_at: NOW - 30 * DAY_MS })
    await relayed(token, { received_at: 0 })
    const events = await stored(appId)
    expect(events.map((event) => event.received_at)).toEqual([NOW - 7 * DAY_MS, NOW - 7 * DAY_MS])
  })

  it('clamps a time in the future to now', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await relayed(token, { received_at: NOW + DAY_MS })
    expect((await stored(appId))[0]!.received_at).toBe(NOW)
  })

  it('is now when the relay sent none', async () => {
    const { appId, token } = await createRelayTestApp(server)
    await relayed(token, { received_at: undefined })
    expect((await stored(appId))[0]!.received_at).toBe(NOW)
  })
})

describe('rate limits of relayed traffic', () => {
  beforeEach(async () => {
    await server.close()
    // One request a second per client (a burst of two); the token limit out of the way.
    server = await startAccountTestServer(NOW, { clientLimits: { requestsPerIp: 1, requestsPerToken: 0 } })
    relayKey = (await createSecretKey(adminDeps(), { kind: 'relay', appId: null })).key
  })

  it('are per visitor key, not per relay address: many visitors through one relay pass, one busy visitor is limited', async () => {
    const { appId, token } = await createRelayTestApp(server)
    for (let n = 1; n <= 20; n++) expect((await relayed(token, { visitor: visitor(n) })).status).toBe(202)
    expect(await stored(appId)).toHaveLength(20)
    expect((await relayed(token, { visitor: visitor(1) })).status).toBe(202)
    const limited = await relayed(token, { visitor: visitor(1) })
    expect(limited.status).toBe(429)
    expect(limited.body.error).toBe('rate_limited')
    expect(limited.headers['retry-after']).toBe('1')
    expect(await dropped(appId)).toEqual({ rate_limited: 1 })
    // Another visitor through the same relay is still served.
    expect((await relayed(token, { visitor: visitor(21) })).status).toBe(202)
  })

  it('direct requests from one address are still limited by that address (the limit is on)', async () => {
    const { token } = await createRelayTestApp(server)
    expect((await send({ token, remoteAddress: GERMAN_IP, headers: { 'user-agent': CHROME_WINDOWS } })).status).toBe(202)
    expect((await send({ token, remoteAddress: GERMAN_IP, headers: { 'user-agent': CHROME_WINDOWS } })).status).toBe(202)
    expect((await send({ token, remoteAddress: GERMAN_IP, headers: { 'user-agent': CHROME_WINDOWS } })).status).toBe(429)
  })

  it('a relayed visitor and a direct client with the relay\'s address do not share a bucket', async () => {
    const { token } = await createRelayTestApp(server)
    expect((await send({ token, remoteAddress: RELAY_IP, headers: { 'user-agent': CHROME_WINDOWS } })).status).toBe(202)
    expect((await send({ token, remoteAddress: RELAY_IP, headers: { 'user-agent': CHROME_WINDOWS } })).status).toBe(202)
    expect((await send({ token, remoteAddress: RELAY_IP, headers: { 'user-agent': CHROME_WINDOWS } })).status).toBe(429)
    expect((await relayed(token, { visitor: visitor(5) })).status).toBe(202)
  })

  it('forged fields do not move a direct client into a visitor\'s bucket', async () => {
    const { token } = await createRelayTestApp(server)
    const headers = { 'user-agent': CHROME_WINDOWS }
    for (let n = 1; n <= 2; n++) {
      expect((await send({ token, remoteAddress: GERMAN_IP, headers: { ...headers, 'x-tacit-relay': formatRelayFields({ visitor: visitor(n), client: 'browser' }) } })).status).toBe(202)
    }
    const third = await send({ token, remoteAddress: GERMAN_IP, headers: { ...headers, 'x-tacit-relay': formatRelayFields({ visitor: visitor(3), client: 'browser' }) } })
    expect(third.status).toBe(429)
  })
})

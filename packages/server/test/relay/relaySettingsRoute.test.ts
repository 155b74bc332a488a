import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createSecretKey } from '../../src/keys/createSecretKey.js'
import { generateSecretKey } from '../../src/keys/secretKey.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { createRelaySettings } from '../../src/relay/createRelaySettings.js'
import type { Upstream } from '../../src/relay/createUpstream.js'
import { call, startAccountTestServer, type AccountTestServer, type Answer } from '../accounts/accountTestServer.js'
import { createRelayTestApp, insertSecretKey } from './relayTestApps.js'

const URL_PATH = '/api/v1/relay/settings'

let server: AccountTestServer
let relayKey: string

beforeEach(async () => {
  server = await startAccountTestServer()
  relayKey = (await createSecretKey(adminDeps(), { kind: 'relay', appId: null })).key
})
afterEach(async () => {
  await server.close()
})

function adminDeps() {
  return { store: server.temp.store, clock: server.clock, random: cryptoRandom }
}

function getSettings(headers: Record<string, string>, url = URL_PATH): Promise<Answer> {
  return call(server, { method: 'GET', url, headers })
}

const asRelay = (token: string, key = relayKey): Record<string, string> => ({ authorization: `Bearer ${key}`, 'x-tacit-token': token })

describe('GET /api/v1/relay/settings', () => {
  it('answers what a relay needs of the app\'s settings, in snake_case, with a cache time', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const answer = await getSettings(asRelay(token))
    expect(answer.status).toBe(200)
    expect(answer.headers['content-type']).toMatch(/^application\/json/)
    expect(answer.headers['cache-control']).toBe('private, max-age=60')
    expect(answer.body).toEqual({
      app_id: appId,
      max_age_seconds: 60,
      origins: [],
      geo: 'country',
      allow_user_details: false,
      filters: { block_countries: [], ip_allow: [], ip_deny: [] },
      scrub: { patterns: [], sensitive_keys: [], query_allow_list: null, path_rules: [], template_ids: false },
    })
  })

  it('answers the app\'s own settings, and nothing the relay does not use', async () => {
    const { appId, token } = await createRelayTestApp(server, [
      'origins=https://shop.example,https://www.shop.example',
      'geo=city',
      'allow_user_identity=true',
      'allow_user_details=true',
      'block_countries=RU,KP',
      'ip_allow=10.0.0.0/8',
      'ip_deny=10.1.0.0/16',
      'scrub.pattern.order_id=ORD-\\d+',
      'scrub.sensitive_keys=iban,passport',
      'scrub.query_allow=page,sort',
      'scrub.path_rules=/users/*/settings',
      'scrub.template_ids=true',
      'rate_limit=50',
      'retention.error=30',
      'keep_bots=true',
      'honor_gpc=true',
      'ip=truncated',
      'session_timeout=45',
      'block_paths=/admin/**',
    ])
    const answer = await getSettings(asRelay(token))
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({
      app_id: appId,
      max_age_seconds: 60,
      origins: ['https://shop.example', 'https://www.shop.example'],
      geo: 'city',
      allow_user_details: true,
      filters: { block_countries: ['RU', 'KP'], ip_allow: ['10.0.0.0/8'], ip_deny: ['10.1.0.0/16'] },
      scrub: {
        patterns: [{ name: 'order_id', regex: 'ORD-\\d+' }],
        sensitive_keys: ['iban', 'passport'],
        query_allow_list: ['page', 'sort'],
        path_rules: ['/users/*/settings'],
        template_ids: true,
      },
    })
  })

  it('never contains the client token, the relay key or any other secret', async () => {
    const { appId, token } = await createRelayTestApp(server)
    const upload = await insertSecretKey(server, 'upload', appId)
    const other = await createRelayTestApp(server)
    const answer = await getSettings(asRelay(token))
    expect(answer.status).toBe(200)
    for (const secret of [token, relayKey, upload, other.token, token.slice(3, 12), relayKey.slice(12, 24)]) expect(answer.raw).not.toContain(secret)
    expect(answer.raw).not.toMatch(/tc_|tacit_(relay|upload|api)_/)
    expect(JSON.stringify(answer.headers)).not.toContain(token)
    expect(JSON.stringify(answer.headers)).not.toContain(relayKey)
  })

  it('is read by the relay\'s own settings client (createRelaySettings) as it was sent', async () => {
    const { appId, token } = await createRelayTestApp(server, ['origins=https://shop.example', 'geo=off', 'ip_deny=192.0.2.0/24', 'scrub.pattern.ticket=T-\\d{6}', 'scrub.query_allow='])
    // The relay's upstream, answered by this server through inject.
    const upstream: Upstream = {
      base: 'http://server.test',
      inFlight: () => 0,
      close: () => undefined,
      async send(request) {
        const response = await server.app.inject({ method: request.method, url: request.path, headers: request.headers })
        const contentType = response.headers['content-type']
        return { status: response.statusCode, ...(typeof contentType === 'string' && { contentType }), body: response.rawPayload }
      },
    }
    const settings = createRelaySettings({ upstream, relayKey, clock: server.clock })
    expect(await settings.forToken(token)).toEqual({
      ok: true,
      settings: {
        appId,
        origins: ['https://shop.example'],
        geo: 'off',
        allowUserDetails: false,
        filters: { blockCountries: [], ipAllow: [], ipDeny: ['192.0.2.0/24'] },
        scrub: { patterns: [{ name: 'ticket', regex: 'T-\\d{6}' }], sensitiveKeys: [], queryAllowList: null, pathRules: [], templateIds: false },
      },
    })
    expect(await settings.forToken(`tc_${'x'.repeat(32)}`)).toEqual({ ok: false, reason: 'unknown_token' })
    const refused = createRelaySettings({ upstream, relayKey: await insertSecretKey(server, 'relay', null, true), clock: server.clock })
    expect(await refused.forToken(token)).toEqual({ ok: false, reason: 'relay_refused' })
  })

  it('serves any app to an unscoped relay key, and only its app to a scoped one', async () => {
    const shop = await createRelayTestApp(server)
    const blog = await createRelayTestApp(server)
    expect((await getSettings(asRelay(blog.token))).body.app_id).toBe(blog.appId)
    const scoped = await insertSecretKey(server, 'relay', shop.appId)
    expect((await getSettings(asRelay(shop.token, scoped))).status).toBe(200)
    const answer = await getSettings(asRelay(blog.token, scoped))
    expect(answer.status).toBe(403)
    expect(answer.body.error).toBe('relay_not_for_app')
    expect(answer.raw).not.toContain('allow_user_details')
  })
})

describe('GET /api/v1/relay/settings refusals', () => {
  it('401 without a key, asking for a Bearer key', async () => {
    const { token } = await createRelayTestApp(server)
    const answer = await getSettings({ 'x-tacit-token': token })
    expect(answer.status).toBe(401)
    expect(answer.body.error).toBe('unauthorized')
    expect(answer.headers['www-authenticate']).toBe('Bearer')
    expect(answer.raw).not.toContain('app_id')
  })

  it.each([
    ['an unknown relay key', () => Promise.resolve(generateSecretKey('relay', cryptoRandom))],
    ['a revoked relay key', () => insertSecretKey(server, 'relay', null, true)],
    ['a client token', () => Promise.resolve(`tc_${'a'.repeat(32)}`)],
    ['garbage', () => Promise.resolve('garbage')],
  ])('401 with %s', async (_what, makeKey) => {
    const { token } = await createRelayTestApp(server)
    const key = await makeKey()
    const answer = await getSettings(asRelay(token, key))
    expect(answer.status).toBe(401)
    expect(answer.body.error).toBe('unauthorized')
    expect(answer.raw).not.toContain(key)
    expect(answer.raw).not.toContain('app_id')
  })

  it.each(['Basic abc', 'Bearer', 'RELAYKEY'])('401 with the Authorization header %j', async (template) => {
    const { token } = await createRelayTestApp(server)
    const answer = await getSettings({ authorization: template.replace('RELAYKEY', relayKey), 'x-tacit-token': token })
    expect(answer.status).toBe(401)
  })

  it.each([['upload', 1], ['api', null], ['api', 1]] as const)('403 with a valid %s key (app %s)', async (kind, appId) => {
    const { token } = await createRelayTestApp(server)
    const answer = await getSettings(asRelay(token, await insertSecretKey(server, kind, appId)))
    expect(answer.status).toBe(403)
    expect(answer.body.error).toBe('forbidden')
    expect(answer.raw).not.toContain('app_id')
  })

  it('400 when the client token is only in the query, which access logs keep', async () => {
    const { token } = await createRelayTestApp(server)
    const answer = await getSettings({ authorization: `Bearer ${relayKey}` }, `${URL_PATH}?token=${token}`)
    expect(answer.status).toBe(400)
    expect(answer.body.error).toBe('missing_token')
    expect(answer.raw).not.toContain(token)
  })

  it('400 without a client token, or with an empty one', async () => {
    await createRelayTestApp(server)
    expect((await getSettings({ authorization: `Bearer ${relayKey}` })).status).toBe(400)
    expect((await getSettings({ authorization: `Bearer ${relayKey}`, 'x-tacit-token': '' })).status).toBe(400)
  })

  it('404 for an unknown or revoked client token', async () => {
    const { token } = await createRelayTestApp(server)
    const unknown = await getSettings(asRelay(`tc_${'Q'.repeat(32)}`))
    expect(unknown.status).toBe(404)
    expect(unknown.body.error).toBe('invalid_token')
    await server.temp.store.revokeToken(token, server.clock.now())
    server.clock.advance(1000) // past the registry's cache
    const revoked = await getSettings(asRelay(token))
    expect(revoked.status).toBe(404)
    expect(revoked.body.error).toBe('invalid_token')
    expect(revoked.raw).not.toContain(token)
  })

  it('403 for a relay key scoped to another app', async () => {
    const { token } = await createRelayTestApp(server)
    const other = await createRelayTestApp(server)
    const answer = await getSettings(asRelay(token, await insertSecretKey(server, 'relay', other.appId)))
    expect(answer.status).toBe(403)
    expect(answer.body.error).toBe('relay_not_for_app')
  })

  it('checks the key before the token: a prober without a key learns nothing about tokens', async () => {
    const { token } = await createRelayTestApp(server)
    const known = await getSettings({ 'x-tacit-token': token })
    const unknown = await getSettings({ 'x-tacit-token': `tc_${'Q'.repeat(32)}` })
    expect(known.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(known.body).toEqual(unknown.body)
  })

  it('is GET only', async () => {
    const { token } = await createRelayTestApp(server)
    const answer = await call(server, { method: 'POST', url: URL_PATH, headers: asRelay(token), payload: '{}' })
    expect([404, 405]).toContain(answer.status)
  })
})

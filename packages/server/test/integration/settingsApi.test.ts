import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ingest } from '../support/tacitProcess.js'
import { json, startDataApiServer, type DataApiServer } from './dataApiServer.js'

/**
 * The settings routes of /api/v1/apps/:app against the real server: settings read and changed like
 * `tacit app set` (all or nothing, audited), client tokens, delete-all-data, the audit log, drop counters, the
 * data inventory and alert rules. Every route is tried without a key, with the wrong kind of key and with
 * another app's key; changes are checked to take effect on ingest.
 */

const START = Date.UTC(2026, 10, 22, 12, 0, 0)
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'

let now = START
let server: DataApiServer
let shop: { appId: number; token: string }
let blog: { appId: number; token: string }
const keys = { all: '', shopOnly: '', blogOnly: '', upload: '' }

/** Lets the server's caches of settings and tokens (one second) see a change. */
function advance(ms = 2000): void {
  now += ms
}

async function send(token: string, events: object[], userAgent = CHROME) {
  return ingest(server.url, token, events.map((e) => JSON.stringify(e)).join('\n'), { 'content-type': 'text/plain', 'user-agent': userAgent })
}

async function ok(path: string, init: RequestInit = {}, key = keys.all, status = 200) {
  const response = await server.api(path, key, init)
  expect(response.status, JSON.stringify(response.body)).toBe(status)
  return response.body
}

beforeAll(async () => {
  server = await startDataApiServer({ now: () => now })
  shop = await server.createApp('shop')
  blog = await server.createApp('blog')
  keys.all = await server.createKey(null)
  keys.shopOnly = await server.createKey(shop.appId)
  keys.blogOnly = await server.createKey(blog.appId)
  keys.upload = await server.createKey(shop.appId, 'upload')
})
afterAll(async () => server?.stop())

describe('authentication and app scoping', () => {
  const routes: Array<[string, string, RequestInit?]> = [
    ['GET', '/settings'],
    ['PATCH', '/settings', json('PATCH', { geo: 'off' })],
    ['GET', '/tokens'],
    ['POST', '/tokens'],
    ['DELETE', '/tokens/tc_nope'],
    ['POST', '/purge', json('POST', { confirm: 'shop' })],
    ['GET', '/audit'],
    ['GET', '/drops'],
    ['GET', '/inventory'],
    ['GET', '/alerts'],
    ['POST', '/alerts', json('POST', { on: 'new-issue', url: 'https://hooks.example/x' })],
    ['DELETE', '/alerts/1'],
    ['GET', '/alerts/deliveries'],
  ]

  it.each(routes)('%s %s needs an api key that covers the app', async (method, suffix, init = { method }) => {
    const path = (app: number | string) => `/api/v1/apps/${app}${suffix}`
    const none = await server.api(path(shop.appId), undefined, init)
    expect(none.status).toBe(401)
    expect(none.body).toMatchObject({ error: 'unauthorized' })
    expect((await server.api(path(shop.appId), `tacit_api_${'A'.repeat(43)}`, init)).status).toBe(401)
    expect((await server.api(path(shop.appId), shop.token, init)).status).toBe(401)
    expect((await server.api(path(shop.appId), keys.upload, init)).status).toBe(403)
    for (const app of [shop.appId, 'shop', 999_999]) {
      const other = await server.api(path(app), keys.blogOnly, init)
      expect(other.status, `${method} ${path(app)}`).toBe(404)
      expect(other.body).toMatchObject({ error: 'not_found' })
    }
    // Nothing of the shop changed through all that.
    expect((await server.store.getApp(shop.appId))?.settings).toEqual({})
  })
})

describe('settings', () => {
  it('reads the effective settings as `tacit app set` names them, with the keys still at their defaults', async () => {
    const body = await ok(`/api/v1/apps/${shop.appId}/settings`)
    const settings = body.settings as Record<string, unknown>
    expect(settings).toMatchObject({ origins: [], ip: 'off', geo: 'country', keep_bots: false, 'retention.error': 30, 'retention.resource': 15, 'scrub.query_allow': null })
    expect(body.defaults).toEqual(Object.keys(settings))
    expect((await server.api(`/api/v1/apps/${shop.appId}/settings?x=1`, keys.all)).status).toBe(400)
  })

  it('changes several settings at once, audited with the key as actor, and ingest follows within a second', async () => {
    const body = await ok(
      `/api/v1/apps/shop/settings`,
      json('PATCH', { 'retention.error': 60, keep_bots: false, block_paths: ['/admin/**', '/internal/*'], origins: ['https://shop.example'], 'scrub.query_allow': null, 'scrub.pattern.order_id': 'ORD-\\d+' }),
    )
    expect(body.settings).toMatchObject({ 'retention.error': 60, block_paths: ['/admin/**', '/internal/*'], origins: ['https://shop.example'], 'scrub.pattern.order_id': 'ORD-\\d+' })
    // keep_bots and scrub.query_allow were set to what they already were: not a change.
    expect((body.changed as string[]).sort()).toEqual(['block_paths', 'origins', 'retention.error', 'scrub.pattern.order_id'])
    expect(body.defaults).not.toContain('retention.error')
    const [entry] = (await ok(`/api/v1/apps/shop/audit?limit=1`)).entries as Array<Record<string, unknown>>
    expect(entry).toMatchObject({ actor: 'cli', action: 'app.settings', detail: { changes: { 'retention.error': { from: 30, to: 60 }, block_paths: { from: [], to: ['/admin/**', '/internal/*'] } } } })

    advance()
    const blocked = await send(shop.token, [{ type: 'view', view: { id: 'adm', url: 'https://shop.example/admin/users' } }])
    expect(blocked.body).toMatchObject({ accepted: 0, dropped: { path_blocked: 1 } })
    // Back to no origins and no blocked paths, so the other tests can send from anywhere.
    await ok(`/api/v1/apps/shop/settings`, json('PATCH', { origins: null, block_paths: [] }))
    advance()
    expect((await send(shop.token, [{ type: 'view', view: { id: 'adm2', url: 'https://shop.example/admin/users' } }])).body).toMatchObject({ accepted: 1 })
  })

  it('changes nothing when one setting is refused, and says which with the CLI message', async () => {
    const before = (await server.store.getApp(shop.appId))!.settings
    const auditBefore = ((await ok(`/api/v1/apps/shop/audit`)).entries as unknown[]).length
    for (const [body, message] of [
      [{ geo: 'off', ip: 'full' }, /ip must be off or truncated/],
      [{ geo: 'off', 'retention.error': 0 }, /retention.error must be a whole number from 1 to 3650/],
      [{ geo: 'off', nope: 1 }, /Unknown setting "nope"/],
      [{ geo: 'off', 'retention.forever': 1 }, /Unknown retention kind "forever"/],
      [{ 'scrub.pattern.x': '(a+)+' }, /repeats a group/],
      [{ ip_allow: ['10.0.0.0/8', 'not-a-network'] }, /not an IP address or CIDR network/],
      [{ origins: ['javascript:alert(1)'] }, /not an http or https origin|is not an origin/],
    ] as const) {
      const response = await server.api(`/api/v1/apps/shop/settings`, keys.all, json('PATCH', body))
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(response.body).toMatchObject({ error: 'bad_request', message: expect.stringMatching(message) })
    }
    expect((await server.store.getApp(shop.appId))!.settings).toEqual(before)
    expect(((await ok(`/api/v1/apps/shop/audit`)).entries as unknown[]).length).toBe(auditBefore)
  })

  it.each([
    ['an empty object', {}, /Send 1 to 100 settings/],
    ['an array', ['geo=off'], /Send a JSON object of settings/],
    ['a string', 'geo=off', /Send a JSON object of settings/],
    ['null', null, /Send a JSON object of settings/],
    ['a nested object', { geo: { value: 'off' } }, /"geo" takes a string, a number, true or false/],
    ['a key with =', { 'geo=off&ip': 'truncated' }, /is not a setting name/],
    ['a key with spaces', { 'geo ': 'off' }, /is not a setting name/],
    ['a fraction', { rate_limit: 1.5 }, /"rate_limit" must be a whole number/],
    ['a list with a comma in an item', { block_countries: ['FR,DE'] }, /without commas/],
    ['a list of numbers', { block_countries: [1, 2] }, /a list of non-empty strings/],
    ['a value with a newline', { 'scrub.pattern.x': 'a\nb' }, /a single line/],
    ['a huge value', { 'scrub.pattern.x': 'x'.repeat(9000) }, /at most 8192 characters/],
    ['too many keys', Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 1])), /Send 1 to 100 settings/],
    ['SQL in a value', { 'retention.error': "30; DROP TABLE apps; --" }, /must be a whole number/],
  ])('refuses %s with a clear 400', async (_label, body, message) => {
    const response = await server.api(`/api/v1/apps/shop/settings`, keys.all, json('PATCH', body))
    expect(response.status).toBe(400)
    expect(response.body).toMatchObject({ error: 'bad_request', message: expect.stringMatching(message) })
  })

  it('refuses a body that is not JSON, or too large', async () => {
    const text = await server.api(`/api/v1/apps/shop/settings`, keys.all, { method: 'PATCH', body: 'geo=off', headers: { 'content-type': 'text/plain' } })
    expect(text.status).toBe(415)
    const broken = await server.api(`/api/v1/apps/shop/settings`, keys.all, { method: 'PATCH', body: '{"geo":', headers: { 'content-type': 'application/json' } })
    expect(broken.status).toBe(400)
    const huge = await server.api(`/api/v1/apps/shop/settings`, keys.all, json('PATCH', { 'scrub.sensitive_keys': Array.from({ length: 200 }, (_, i) => `key${i}${'x'.repeat(400)}`) }))
    expect(huge.status).toBe(413)
  })
})

describe('client tokens', () => {
  it('lists, creates and revokes tokens; a revoked token stops ingest, audited', async () => {
    const listed = (await ok(`/api/v1/apps/shop/tokens`)).tokens as Array<Record<string, unknown>>
    expect(listed).toEqual([{ token: shop.token, active: true, created_at: new Date(START).toISOString(), revoked_at: null, last_used_at: expect.any(String) }])

    const created = (await ok(`/api/v1/apps/shop/tokens`, { method: 'POST' }, keys.shopOnly, 201)).token as { token: string; active: boolean }
    expect(created.token).toMatch(/^tc_/)
    expect(created.active).toBe(true)
    expect((await send(created.token, [{ type: 'custom', custom: { name: 'hello' } }])).status).toBe(202)

    const revoked = await ok(`/api/v1/apps/shop/tokens/${created.token}`, { method: 'DELETE' })
    expect(revoked).toMatchObject({ token: { token: created.token, active: false, revoked_at: new Date(now).toISOString() }, active_tokens_left: 1 })
    advance()
    expect((await send(created.token, [{ type: 'custom', custom: { name: 'hello' } }])).status).toBe(401)
    const again = await server.api(`/api/v1/apps/shop/tokens/${created.token}`, keys.all, { method: 'DELETE' })
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({ error: 'conflict' })

    const actions = ((await ok(`/api/v1/apps/shop/audit?limit=2`)).entries as Array<{ action: string; detail: { token: string } }>).map((e) => e.action)
    expect(actions).toEqual(['token.revoke', 'token.create'])
    // The audit log keeps a hint of the token, never the token.
    expect(JSON.stringify((await ok(`/api/v1/apps/shop/audit`)).entries)).not.toContain(created.token)
  })

  it("reads another app's token, an unknown one and a hostile one as missing", async () => {
    for (const token of [blog.token, 'tc_unknown', "tc_' OR 1=1 --", 'x'.repeat(100)]) {
      const response = await server.api(`/api/v1/apps/shop/tokens/${encodeURIComponent(token)}`, keys.all, { method: 'DELETE' })
      expect(response.status, token.slice(0, 20)).toBe(404)
    }
    expect((await ok(`/api/v1/apps/blog/tokens`)).tokens).toMatchObject([{ token: blog.token, active: true }])
  })

  it('takes no body fields or parameters when creating', async () => {
    expect((await server.api(`/api/v1/apps/shop/tokens`, keys.all, json('POST', { token: 'tc_mine' }))).status).toBe(400)
    expect((await server.api(`/api/v1/apps/shop/tokens?x=1`, keys.all, { method: 'POST' })).status).toBe(400)
    expect((await server.api(`/api/v1/apps/shop/tokens`, keys.all, json('POST', [1]))).status).toBe(400)
  })
})

describe('drops and inventory', () => {
  it('counts drops by reason per day, every day of the range listed', async () => {
    const bot = await send(shop.token, [{ type: 'custom', custom: { name: 'crawl' } }], BOT)
    expect(bot.body).toMatchObject({ accepted: 0, dropped: { bot: 1 } })
    const body = await ok(`/api/v1/apps/shop/drops?days=3`)
    const days = body.days as Array<{ day: string; accepted: Record<string, number>; dropped: Record<string, number> }>
    expect(days.map((d) => d.day)).toEqual(['2026-11-20', '2026-11-21', '2026-11-22'])
    expect(days[2]!.dropped).toMatchObject({ bot: 1, path_blocked: 1 })
    expect(days[2]!.accepted.view).toBeGreaterThanOrEqual(1)
    expect(days[0]).toEqual({ day: '2026-11-20', accepted: {}, dropped: {}, stripped: {} })
    expect(((await ok(`/api/v1/apps/shop/drops`)).days as unknown[]).length).toBe(30)
    expect((await ok(`/api/v1/apps/blog/drops?days=1`)).days).toEqual([{ day: '2026-11-22', accepted: {}, dropped: {}, stripped: {} }])
    for (const query of ['?days=0', '?days=94', '?days=x', '?days=1&days=2', '?since=2026-11-01']) {
      expect((await server.api(`/api/v1/apps/shop/drops${query}`, keys.all)).status, query).toBe(400)
    }
  })

  it("says what this app stores, following its settings", async () => {
    const field = (inventory: Record<string, unknown>, name: string) => (inventory.fields as Array<{ field: string; stored: boolean; setting: string | null }>).find((f) => f.field === name)
    const before = await ok(`/api/v1/apps/blog/inventory`)
    expect(field(before, 'geo.country')).toMatchObject({ stored: true, setting: 'geo' })
    expect(field(before, 'network.ip_prefix')).toMatchObject({ stored: false, setting: 'ip' })
    expect(field(before, 'usr.id')).toMatchObject({ stored: false })
    expect(field(before, 'session.id')).toMatchObject({ stored: true })
    expect(before.never_stored).toEqual(expect.arrayContaining(['the IP address', 'the User-Agent string']))
    expect(before.retention_days).toMatchObject({ view: 30, resource: 15 })

    await ok(`/api/v1/apps/blog/settings`, json('PATCH', { ip: 'truncated', geo: 'off', allow_user_identity: true, 'retention.view': 7 }))
    const after = await ok(`/api/v1/apps/blog/inventory`)
    expect(field(after, 'geo.country')).toMatchObject({ stored: false })
    expect(field(after, 'network.ip_prefix')).toMatchObject({ stored: true })
    expect(field(after, 'usr.id')).toMatchObject({ stored: true })
    expect(after.retention_days).toMatchObject({ view: 7 })
    expect((await server.api(`/api/v1/apps/blog/inventory?x=1`, keys.all)).status).toBe(400)
  })
})

describe('alert rules', () => {
  it('creates a rule (its secret shown once), lists it without the secret, and removes it, audited', async () => {
    const created = await ok(`/api/v1/apps/shop/alerts`, json('POST', { on: 'error-rate', url: 'https://hooks.example/tacit?k=1', threshold: 50, window_minutes: 5 }), keys.all, 201)
    expect(created.secret).toMatch(/^tacit_whsec_/)
    const rule = created.rule as { id: number }
    expect(created.rule).toMatchObject({ on: 'error-rate', url: 'https://hooks.example/tacit?k=1', format: 'json', threshold: 50, window_minutes: 5, enabled: true, firing: false })
    const listed = await ok(`/api/v1/apps/shop/alerts`)
    expect(listed.rules).toEqual([created.rule])
    expect(JSON.stringify(listed)).not.toContain(String(created.secret))
    expect((await ok(`/api/v1/apps/blog/alerts`)).rules).toEqual([])
    // Another app cannot remove it.
    expect((await server.api(`/api/v1/apps/blog/alerts/${rule.id}`, keys.all, { method: 'DELETE' })).status).toBe(404)
    expect((await server.api(`/api/v1/apps/shop/alerts/${rule.id}`, keys.all, { method: 'DELETE' })).status).toBe(204)
    expect((await server.api(`/api/v1/apps/shop/alerts/${rule.id}`, keys.all, { method: 'DELETE' })).status).toBe(404)
    expect((await ok(`/api/v1/apps/shop/alerts`)).rules).toEqual([])
    const actions = ((await ok(`/api/v1/apps/shop/audit?limit=2`)).entries as Array<{ action: string; detail: Record<string, unknown> }>)
    expect(actions.map((e) => e.action)).toEqual(['alert.remove', 'alert.create'])
    // The audit log has the webhook's origin only: a Slack webhook's path is its secret.
    expect(actions[1]!.detail).toMatchObject({ origin: 'https://hooks.example' })
  })

  it('records deliveries for new issues and lists them', async () => {
    const { rule } = (await ok(`/api/v1/apps/shop/alerts`, json('POST', { on: 'new-issue', url: 'http://127.0.0.1:9/hook', format: 'slack' }), keys.all, 201)) as { rule: { id: number } }
    expect((await send(shop.token, [{ type: 'error', error: { message: 'alert me', type: 'Error' } }])).status).toBe(202)
    const deliveries = (await ok(`/api/v1/apps/shop/alerts/deliveries?rule=${rule.id}`)).deliveries as Array<Record<string, unknown>>
    expect(deliveries).toHaveLength(1)
    expect(deliveries[0]).toMatchObject({ rule_id: rule.id, event: 'issue.new', issue_id: expect.any(Number), created_at: new Date(now).toISOString() })
    expect((await ok(`/api/v1/apps/blog/alerts/deliveries`)).deliveries).toEqual([])
    for (const query of ['?limit=0', '?limit=501', '?rule=x', '?status=failed']) {
      expect((await server.api(`/api/v1/apps/shop/alerts/deliveries${query}`, keys.all)).status, query).toBe(400)
    }
  })

  it.each([
    ['no body', undefined, /Send a JSON object with on, url/],
    ['an unknown trigger', { on: 'always', url: 'https://hooks.example/x' }, /"on" must be one of new-issue, regression, error-rate/],
    ['no url', { on: 'new-issue' }, /"url" must be the webhook URL/],
    ['a javascript: url', { on: 'new-issue', url: 'javascript:alert(1)' }, /must start with https:\/\/ or http:\/\//],
    ['credentials in the url', { on: 'new-issue', url: 'https://user:pass@hooks.example/x' }, /must not hold a user name or password/],
    ['a huge url', { on: 'new-issue', url: `https://hooks.example/${'x'.repeat(2100)}` }, /at most 2048 characters/],
    ['an unknown format', { on: 'new-issue', url: 'https://hooks.example/x', format: 'xml' }, /"format" must be one of json, slack/],
    ['error-rate without a threshold', { on: 'error-rate', url: 'https://hooks.example/x' }, /needs a threshold and a window/],
    ['a threshold on new-issue', { on: 'new-issue', url: 'https://hooks.example/x', threshold: 5 }, /belong to error-rate rules only/],
    ['a text threshold', { on: 'error-rate', url: 'https://hooks.example/x', threshold: '5', window_minutes: 5 }, /must be whole numbers/],
    ['a zero window', { on: 'error-rate', url: 'https://hooks.example/x', threshold: 5, window_minutes: 0 }, /window must be a whole number of minutes from 1 to 1440/],
    ['an unknown field', { on: 'new-issue', url: 'https://hooks.example/x', secret: 'mine' }, /Unknown field "secret"/],
  ])('refuses %s with a clear 400', async (_label, body, message) => {
    const init = body === undefined ? { method: 'POST' } : json('POST', body)
    const response = await server.api(`/api/v1/apps/shop/alerts`, keys.all, init)
    expect(response.status, JSON.stringify(response.body)).toBe(400)
    expect(response.body).toMatchObject({ error: 'bad_request', message: expect.stringMatching(message) })
  })
})

describe('audit log', () => {
  it("lists the app's entries newest first, nothing of other apps", async () => {
    const entries = (await ok(`/api/v1/apps/blog/audit`)).entries as Array<{ action: string; at: string; actor: string }>
    expect(entries.map((e) => e.action)).toEqual(['app.settings', 'app.create'])
    expect(entries[0]!.at).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    for (const query of ['?limit=0', '?limit=1001', '?limit=ten', '?app=shop']) {
      expect((await server.api(`/api/v1/apps/blog/audit${query}`, keys.all)).status, query).toBe(400)
    }
  })
})

describe('delete all data', () => {
  it('needs the exact app name, then deletes every event of the app only, audited', async () => {
    expect((await ok(`/api/v1/apps/shop/explore`)).total as number).toBeGreaterThan(0)
    await send(blog.token, [{ type: 'custom', custom: { name: 'kept' } }])
    // Ranges end before now: let the events just sent fall inside the default one.
    advance()
    for (const body of [{}, { confirm: 'SHOP' }, { confirm: shop.appId }, { confirm: 'blog' }, { confirm: 'shop', also: 1 }, { confirm: "shop' --" }]) {
      const response = await server.api(`/api/v1/apps/shop/purge`, keys.all, json('POST', body))
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(response.body.message).toBe('To delete all data of "shop", send {"confirm": "shop"}.')
    }
    expect((await server.api(`/api/v1/apps/shop/purge`, keys.all, { method: 'POST' })).status).toBe(400)
    expect((await ok(`/api/v1/apps/shop/explore`)).total as number).toBeGreaterThan(0)

    const purged = await ok(`/api/v1/apps/shop/purge`, json('POST', { confirm: 'shop' }))
    expect(purged.deleted as number).toBeGreaterThan(0)
    expect((await ok(`/api/v1/apps/shop/explore`)).total).toBe(0)
    expect((await ok(`/api/v1/apps/shop/sessions`)).sessions).toEqual([])
    expect((await ok(`/api/v1/apps/blog/explore`)).total).toBe(1)
    const [entry] = (await ok(`/api/v1/apps/shop/audit?limit=1`)).entries as Array<Record<string, unknown>>
    expect(entry).toMatchObject({ action: 'app.purge', actor: 'cli', detail: { deleted: purged.deleted } })
    // The app, its tokens and its settings stay.
    expect((await ok(`/api/v1/apps/shop/tokens`)).tokens).toMatchObject([{ token: shop.token, active: true }, { active: false }])
  })
})

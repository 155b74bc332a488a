import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { ingest } from '../support/tacitProcess.js'
import { startDataApiServer, type DataApiServer } from './dataApiServer.js'

/**
 * GET /api/v1/apps/:app/sessions, /sessions/:id and /explore against the real server: authentication and app
 * scoping on every route, validation of every parameter, hostile attribute names and values, and results on
 * seeded data (stored through the writer, and through ingest end to end).
 */

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0)
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const S1 = '11111111-1111-4111-8111-111111111111'
const S2 = '22222222-2222-4222-8222-222222222222'
const HOSTILE = '<img src=x onerror=alert(1)>'
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

let server: DataApiServer
let shop: { appId: number; token: string }
let blog: { appId: number; token: string }
const keys = { all: '', shopOnly: '', blogOnly: '', upload: '' }

function event(type: StoredEvent['type'], ts: number, session: string, fields: Record<string, unknown>): StoredEvent {
  return { type, ts, received_at: ts, session: { id: session }, ...fields } as unknown as StoredEvent
}

async function get(path: string, key = keys.all) {
  const response = await server.api(path, key)
  expect(response.status, JSON.stringify(response.body)).toBe(200)
  return response.body
}

beforeAll(async () => {
  server = await startDataApiServer({ now: () => NOW })
  shop = await server.createApp('shop')
  blog = await server.createApp('blog')
  keys.all = await server.createKey(null)
  keys.shopOnly = await server.createKey(shop.appId)
  keys.blogOnly = await server.createKey(blog.appId)
  keys.upload = await server.createKey(shop.appId, 'upload')
  const device = { type: 'desktop', browser: 'Chrome', os: 'Windows' }
  const results = await server.store.writeBatches([
    {
      appId: shop.appId,
      day: '2026-11-22',
      dropped: {},
      events: [
        event('view', NOW - 3 * HOUR, S1, { view: { id: 'v1', url: 'https://shop.example/' }, device, geo: { country: 'DE' }, release: '2.0', env: 'production' }),
        event('action', NOW - 3 * HOUR + MINUTE, S1, { view: { id: 'v1', url: 'https://shop.example/' }, action: { type: 'click', name: 'Add to cart' }, context: { plan: 'pro', seats: 3 } }),
        event('error', NOW - 3 * HOUR + 2 * MINUTE, S1, { error: { message: HOSTILE, type: 'TypeError' }, context: { plan: 'pro' } }),
        event('view', NOW - 3 * HOUR + 3 * MINUTE, S1, { view: { id: 'v2', url: 'https://shop.example/cart' } }),
        event('view', NOW - HOUR, S2, { view: { id: 'v3', url: 'https://shop.example/' }, device: { type: 'mobile', browser: 'Safari', os: 'iOS' }, geo: { country: 'FR' } }),
        event('action', NOW - HOUR + MINUTE, S2, { action: { type: 'click', name: 'Buy' }, context: { plan: 'free', seats: 1 } }),
      ],
    },
    { appId: blog.appId, day: '2026-11-22', dropped: {}, events: [event('view', NOW - 2 * HOUR, S1, { view: { id: 'b1', url: 'https://blog.example/' } })] },
  ])
  expect(results).toEqual([undefined, undefined])
  // And one visitor through ingest, end to end: the pipeline assigns the session.
  const body = [
    JSON.stringify({ type: 'view', view: { id: 'live-view', url: 'https://shop.example/live' } }),
    JSON.stringify({ type: 'action', view: { id: 'live-view', url: 'https://shop.example/live' }, action: { type: 'click', name: 'Live click' } }),
  ].join('\n')
  const sent = await ingest(server.url, shop.token, body, { 'content-type': 'text/plain', 'user-agent': CHROME })
  expect(sent.status, JSON.stringify(sent.body)).toBe(202)
})
afterAll(async () => server?.stop())

describe('authentication and app scoping', () => {
  const routes = ['/api/v1/apps/{app}/sessions', `/api/v1/apps/{app}/sessions/${S1}`, '/api/v1/apps/{app}/explore']

  it.each(routes)('GET %s needs an api key that covers the app', async (template) => {
    const path = (app: number | string) => template.replace('{app}', String(app))
    const none = await server.api(path(shop.appId), undefined)
    expect(none.status).toBe(401)
    expect(none.body).toMatchObject({ error: 'unauthorized' })
    expect((await server.api(path(shop.appId), 'tacit_api_' + 'A'.repeat(43))).status).toBe(401)
    expect((await server.api(path(shop.appId), shop.token)).status).toBe(401)
    expect((await server.api(path(shop.appId), keys.upload)).status).toBe(403)
    // Another app's key: the app reads as missing, by id and by name.
    for (const app of [shop.appId, 'shop']) {
      const other = await server.api(path(app), keys.blogOnly)
      expect(other.status).toBe(404)
      expect(other.body).toMatchObject({ error: 'not_found' })
    }
    expect((await server.api(path(999_999), keys.all)).status).toBe(404)
    expect((await server.api(path(shop.appId), keys.shopOnly)).status).toBe(200)
    expect((await server.api(path('shop'), keys.shopOnly)).status).toBe(200)
  })

  it("reads another app's session id as missing", async () => {
    // S1 exists in both apps, S2 only in the shop.
    expect((await server.api(`/api/v1/apps/${blog.appId}/sessions/${S2}`, keys.all)).status).toBe(404)
    expect((await server.api(`/api/v1/apps/${blog.appId}/sessions/${S1}`, keys.blogOnly)).status).toBe(200)
  })
})

describe('GET /api/v1/apps/:app/sessions', () => {
  it('lists the sessions of the last 24 hours, newest first, anonymous', async () => {
    const body = await get(`/api/v1/apps/${shop.appId}/sessions`)
    expect(body.range).toEqual({ from: new Date(NOW - 24 * HOUR).toISOString(), to: new Date(NOW).toISOString() })
    const sessions = body.sessions as Array<Record<string, unknown>>
    // The live session started at NOW: outside [from, to), so only with a range that includes it.
    expect(sessions.map((s) => s.id)).toEqual([S2, S1])
    expect(sessions[1]).toEqual({
      id: S1,
      start: new Date(NOW - 3 * HOUR).toISOString(),
      end: new Date(NOW - 3 * HOUR + 3 * MINUTE).toISOString(),
      duration_ms: 3 * MINUTE,
      views: 2,
      actions: 1,
      errors: 1,
      country: 'DE',
      browser: 'Chrome',
      os: 'Windows',
      device: 'desktop',
      release: '2.0',
      entry_page: '/',
      exit_page: '/cart',
      env: 'production',
    })
    expect(sessions[0]).toMatchObject({ entry_page: '/', exit_page: '/', env: null })
    expect(body.next_offset).toBeNull()
  })

  it('filters and pages', async () => {
    const ids = async (query: string) => ((await get(`/api/v1/apps/shop/sessions${query}`)).sessions as Array<{ id: string }>).map((s) => s.id)
    expect(await ids('?country=fr')).toEqual([S2])
    expect(await ids('?device=desktop&browser=Chrome&os=Windows&release=2.0')).toEqual([S1])
    expect(await ids('?errors=true')).toEqual([S1])
    // The entry page and its env, like the overview's session panels.
    expect(await ids('?page=%2F')).toEqual([S2, S1])
    expect(await ids('?page=%2Fcart')).toEqual([])
    expect(await ids('?env=production')).toEqual([S1])
    expect(await ids('?page=%2F&env=staging')).toEqual([])
    expect(await ids(`?from=${NOW - 2 * HOUR}&to=${NOW}`)).toEqual([S2])
    expect(await ids(`?from=${encodeURIComponent(new Date(NOW - 4 * HOUR).toISOString())}&to=${encodeURIComponent(new Date(NOW - 2 * HOUR).toISOString())}`)).toEqual([S1])
    expect(await ids(`?browser=${encodeURIComponent("Chrome' OR '1'='1")}`)).toEqual([])
    const first = await get('/api/v1/apps/shop/sessions?limit=1')
    expect(first.next_offset).toBe(1)
    const second = await get('/api/v1/apps/shop/sessions?limit=1&offset=1')
    expect(second.next_offset).toBeNull()
    expect([...(first.sessions as Array<{ id: string }>), ...(second.sessions as Array<{ id: string }>)].map((s) => s.id)).toEqual([S2, S1])
  })

  it('shows a session that came in through ingest, with its timeline', async () => {
    const body = await get(`/api/v1/apps/shop/sessions?from=${NOW - HOUR}&to=${NOW + MINUTE}`)
    const live = (body.sessions as Array<Record<string, unknown>>).find((s) => s.id !== S2)!
    expect(live).toMatchObject({ views: 1, actions: 1, errors: 0, browser: 'Chrome', os: 'Windows', device: 'desktop' })
    const timeline = await get(`/api/v1/apps/shop/sessions/${String(live.id)}`)
    expect((timeline.events as Array<{ type: string }>).map((e) => e.type)).toEqual(['view', 'action'])
  })

  it.each([
    ['?limit=0', /"limit" must be a whole number from 1 to 500/],
    ['?limit=501', /"limit"/],
    ['?offset=-1', /"offset"/],
    ['?offset=100001', /"offset"/],
    ['?country=Germany', /"country" must be an ISO 3166-1 alpha-2 code/],
    ['?device=fridge', /"device" must be one of desktop, mobile, tablet, tv, unknown/],
    ['?errors=yes', /"errors" must be one of true, false/],
    [`?browser=${'b'.repeat(65)}`, /"browser" takes 1 to 64 characters/],
    ['?release=', /"release" takes 1 to 200 characters/],
    ['?page=cart', /"page" must be a path like \/cart/],
    [`?page=/${'p'.repeat(200)}`, /"page" takes 1 to 200 characters/],
    ['?env=', /"env" takes 1 to 64 characters/],
    ['?from=yesterday', /"from" must be an ISO 8601 time/],
    ['?from=2026-13-45T99:00:00Z', /"from" must be an ISO 8601 time/],
    [`?from=${NOW}&to=${NOW - 1}`, /"from" must be before "to"/],
    [`?from=${NOW - 94 * 24 * HOUR}&to=${NOW}`, /at most 93 days/],
    ['?limit=1&limit=2', /Give "limit" once/],
    ['?entry=/cart', /Unknown parameter "entry"/],
    ['?sort=start;DROP TABLE sessions', /Unknown parameter "sort"/],
  ])('refuses %s with a clear 400', async (query, message) => {
    const response = await server.api(`/api/v1/apps/${shop.appId}/sessions${query}`, keys.all)
    expect(response.status).toBe(400)
    expect(response.body).toMatchObject({ error: 'bad_request', message: expect.stringMatching(message) })
  })
})

describe('GET /api/v1/apps/:app/sessions/:id', () => {
  it("returns the session and its timeline in time order; visitor text stays a JSON string", async () => {
    const response = await server.api(`/api/v1/apps/${shop.appId}/sessions/${S1}`, keys.all)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = response.body as { session: { id: string; views: number }; events: Array<Record<string, unknown>>; truncated: boolean }
    expect(body.session).toMatchObject({ id: S1, views: 2 })
    expect(body.events.map((e) => e.type)).toEqual(['view', 'action', 'error', 'view'])
    expect(body.events[2]).toMatchObject({ ts: new Date(NOW - 3 * HOUR + 2 * MINUTE).toISOString(), error: { message: HOSTILE }, session: { id: S1 } })
    expect(body.truncated).toBe(false)
  })

  it('filters the timeline by type and says when it is cut short', async () => {
    const views = await get(`/api/v1/apps/shop/sessions/${S1}?type=view&type=error`)
    expect((views.events as Array<{ type: string }>).map((e) => e.type)).toEqual(['view', 'error', 'view'])
    const short = await get(`/api/v1/apps/shop/sessions/${S1}?limit=2`)
    expect((short.events as unknown[]).length).toBe(2)
    expect(short.truncated).toBe(true)
  })

  it.each([
    ['not a UUID', 'not-a-session', 404],
    ['upper case', 'AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA', 404],
    ['SQL', "' OR 1=1 --", 404],
    // Longer than any route parameter may be: refused before the route runs.
    ['5000 characters', 'x'.repeat(5000), 414],
    ['an unknown session', '33333333-3333-4333-8333-333333333333', 404],
  ])('answers a session id that is %s', async (_label, id, status) => {
    const response = await server.api(`/api/v1/apps/${shop.appId}/sessions/${encodeURIComponent(id)}`, keys.all)
    expect(response.status).toBe(status)
    if (status === 404) expect(response.body).toMatchObject({ error: 'not_found' })
  })

  it.each([
    ['?type=click', /"type" must be one of view, action/],
    ['?limit=2001', /"limit" must be a whole number from 1 to 2000/],
    ['?since=1', /Unknown parameter "since"/],
    [`?${Array.from({ length: 9 }, () => 'type=view').join('&')}`, /at most 8 times/],
  ])('refuses %s with a clear 400', async (query, message) => {
    const response = await server.api(`/api/v1/apps/${shop.appId}/sessions/${S1}${query}`, keys.all)
    expect(response.status).toBe(400)
    expect(response.body.message).toMatch(message)
  })
})

describe('GET /api/v1/apps/:app/explore', () => {
  const explore = (query: string) => get(`/api/v1/apps/${shop.appId}/explore${query}`)

  it('counts every event of the last 24 hours by minute, with the latest events', async () => {
    const body = await explore('?bucket=hour')
    expect(body.range).toEqual({ from: new Date(NOW - 24 * HOUR).toISOString(), to: new Date(NOW).toISOString(), bucket: 'hour' })
    expect(body.total).toBe(6)
    const series = body.series as Array<{ t: string; count: number }>
    expect(series).toHaveLength(24)
    expect(series.at(-3)).toEqual({ t: new Date(NOW - 3 * HOUR).toISOString(), count: 4 })
    expect(series.at(-1)).toEqual({ t: new Date(NOW - HOUR).toISOString(), count: 2 })
    expect((body.events as Array<{ type: string }>).map((e) => e.type)).toEqual(['action', 'view', 'view', 'error', 'action', 'view'])
    expect(body.groups).toEqual([])
    expect(body.covered_from).toBeNull()
    expect(body.scan_cap).toBe(50_000)
    // 24 h is hours by default; 6 h is minutes.
    expect((await explore('')).range).toMatchObject({ bucket: 'hour' })
    expect(((await explore(`?from=${NOW - 6 * HOUR}&to=${NOW}`)).series as unknown[]).length).toBe(360)
  })

  it('filters by type and attributes, context keys included, and groups', async () => {
    expect((await explore('?type=action')).total).toBe(2)
    expect((await explore('?where=context.plan:pro')).total).toBe(2)
    expect((await explore('?type=action&where=context.plan:pro')).total).toBe(1)
    expect((await explore('?where=context.plan:pro&where=context.plan:free')).total).toBe(3)
    expect((await explore('?where=context.seats:3')).total).toBe(1)
    expect((await explore(`?where=${encodeURIComponent('view.url:https://shop.example/')}&type=view`)).total).toBe(2)
    expect((await explore(`?where=error.message:${encodeURIComponent(HOSTILE)}`)).total).toBe(1)
    expect((await explore('?where=geo.country:FR&where=device.type:mobile')).total).toBe(1)
    const grouped = await explore('?type=view&group_by=view.url')
    expect(grouped.groups).toEqual([
      { key: 'https://shop.example/', count: 2 },
      { key: 'https://shop.example/cart', count: 1 },
    ])
    const byPlan = await explore('?group_by=context.plan')
    expect(byPlan.groups).toEqual([
      { key: null, count: 3 },
      { key: 'pro', count: 2 },
      { key: 'free', count: 1 },
    ])
  })

  it('treats hostile values as values: they match nothing and break nothing', async () => {
    for (const value of ["pro' OR '1'='1", '%', '_', '*', "'); DROP TABLE events; --", '\u0000', '"quoted"', '\\']) {
      const body = await explore(`?where=${encodeURIComponent(`context.plan:${value}`)}`)
      expect(body.total, value).toBe(0)
    }
    expect((await explore('')).total).toBe(6)
  })

  it('keeps apps apart', async () => {
    const body = await get(`/api/v1/apps/${blog.appId}/explore?group_by=view.url`, keys.blogOnly)
    expect(body.total).toBe(1)
    expect(body.groups).toEqual([{ key: 'https://blog.example/', count: 1 }])
  })

  it.each([
    ['?type=click', /"type" must be one of view, action, error/],
    ['?where=plan', /"where" takes <attribute>:<value>/],
    ['?where=:pro', /"where" takes <attribute>:<value>/],
    ['?where=context.plan:', /A "where" value takes 1 to 200 characters/],
    [`?where=context.plan:${'x'.repeat(201)}`, /A "where" value takes 1 to 200 characters/],
    ['?where=data:x', /unknown attribute "data"/],
    ['?where=view.nope:x', /unknown attribute "view.nope"/],
    [`?where=${encodeURIComponent('context.a"b:x')}`, /unknown attribute/],
    [`?where=${encodeURIComponent("context.x') OR 1=1 --:x")}`, /unknown attribute/],
    [`?where=${encodeURIComponent('context.a.b.c.d.e:x')}`, /unknown attribute/],
    [`?where=${encodeURIComponent(`context.${'k'.repeat(65)}:x`)}`, /unknown attribute/],
    ['?where=context.:x', /unknown attribute/],
    [`?group_by=${encodeURIComponent('json_extract(data, "$.x")')}`, /"group_by" names an unknown attribute/],
    ['?group_by=type', /unknown attribute "type"/],
    ['?group_by=a&group_by=b', /Give "group_by" once/],
    [`?${Array.from({ length: 11 }, (_, i) => `where=context.k${i}:v`).join('&')}`, /at most 10 times/],
    ['?bucket=week', /"bucket" must be one of minute, hour, day/],
    [`?bucket=minute&from=${NOW - 2 * 24 * HOUR}&to=${NOW}`, /A minute bucket is too small for this range/],
    [`?from=${NOW - 94 * 24 * HOUR}`, /at most 93 days/],
    ['?to=not-a-time', /"to" must be an ISO 8601 time/],
    ['?filter=x', /Unknown parameter "filter"/],
  ])('refuses %s with a clear 400', async (query, message) => {
    const response = await server.api(`/api/v1/apps/${shop.appId}/explore${query}`, keys.all)
    expect(response.status, JSON.stringify(response.body)).toBe(400)
    expect(response.body).toMatchObject({ error: 'bad_request', message: expect.stringMatching(message) })
  })

  it('refuses a query string too long to be a filter', async () => {
    const response = await server.api(`/api/v1/apps/${shop.appId}/explore?where=context.plan:${'x'.repeat(200_000)}`, keys.all)
    // Node refuses a request line beyond its header size limit (16 KB) before Fastify sees it.
    expect(response.status).toBe(431)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp } from '../support/storedData.js'
import { ingest, makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'

/**
 * The issue routes of /api/v1 against a real server process: operator API keys (hashed, scoped, revocable),
 * filters, sort and pages, detail, the bounded event sample, status changes and per-release counts with
 * crash-free session rates. Every route is tried without a key, with the wrong kind of key and with another
 * app's ids.
 */

const chrome = (version: number) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${version}.0.0.0 Safari/537.36`
const STACK_CART = "TypeError: Cannot read properties of undefined (reading 'price')\n    at formatCartLine (https://shop.example/assets/cart.8f3a1c.js:2:18433)\n    at renderCart (https://shop.example/assets/cart.8f3a1c.js:2:19012)"
const STACK_LOGIN = 'Error: login failed\n    at submitLogin (https://shop.example/assets/login.77aa01.js:1:200)'
const HOSTILE = '<img src=x onerror=alert(1)>'

interface IssueJson {
  id: number
  app_id: number
  title: string
  culprit: string | null
  status: string
  regressed: boolean
  count: number
  sessions: number
  releases: Array<{ release: string; count: number }>
  latest_event?: { message: string; release: string | null; frames: Array<{ function: string | null; in_app: boolean }> } | null
  changed?: boolean
}

let dir: ReturnType<typeof makeTempDir>
let server: ServerProcess
let shop: { appId: number; token: string }
let blog: { appId: number; token: string }
const keys = { all: '', shopOnly: '', blogOnly: '', upload: '', revoked: '' }

async function createKey(args: string[]): Promise<{ id: number; key: string }> {
  const result = await runTacit(['key', 'create', ...args, '--json'], { dataDir: dir.path })
  expect(result.stderr).toBe('')
  return JSON.parse(result.stdout) as { id: number; key: string }
}

async function api(path: string, key: string | undefined, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers = new Headers(init.headers)
  if (key !== undefined) headers.set('authorization', `Bearer ${key}`)
  const response = await fetch(`${server.url}${path}`, { ...init, headers })
  const text = await response.text()
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers }
}

const patch = (path: string, key: string, body: string, contentType = 'application/json') =>
  api(path, key, { method: 'PATCH', body, headers: { 'content-type': contentType } })

async function sendErrors(app: { token: string }, events: Array<{ message: string; stack?: string; release?: string; env?: string; ua: number }>): Promise<void> {
  for (const event of events) {
    const body = JSON.stringify({ type: 'error', error: { message: event.message, type: 'TypeError', stack: event.stack }, ...(event.release && { release: event.release }), ...(event.env && { env: event.env }) })
    const response = await ingest(server.url, app.token, body, { 'content-type': 'text/plain', 'user-agent': chrome(event.ua) })
    expect(response.status, JSON.stringify(response.body)).toBe(202)
  }
}

async function issues(query = '', key = keys.all, app: string | number = shop.appId): Promise<IssueJson[]> {
  const response = await api(`/api/v1/apps/${app}/issues${query}`, key)
  expect(response.status, JSON.stringify(response.body)).toBe(200)
  return response.body.issues as IssueJson[]
}

beforeAll(async () => {
  dir = makeTempDir('tacit-issue-api-')
  server = await startServerProcess({ dataDir: dir.path })
  shop = await createTestApp(dir.path, 'shop')
  blog = await createTestApp(dir.path, 'blog')
  keys.all = (await createKey(['--kind', 'api'])).key
  keys.shopOnly = (await createKey(['shop', '--kind', 'api'])).key
  keys.blogOnly = (await createKey(['blog', '--kind', 'api'])).key
  keys.upload = (await createKey(['shop', '--kind', 'upload'])).key
  const revoked = await createKey(['--kind', 'api'])
  keys.revoked = revoked.key
  expect((await runTacit(['key', 'revoke', String(revoked.id)], { dataDir: dir.path })).code).toBe(0)

  await sendErrors(shop, [
    { message: "Cannot read properties of undefined (reading 'price')", stack: STACK_CART, release: '1.0', ua: 120 },
    { message: "Cannot read properties of undefined (reading 'price')", stack: STACK_CART, release: '1.0', ua: 121 },
    { message: "Cannot read properties of undefined (reading 'price')", stack: STACK_CART, release: '1.1', ua: 121 },
    { message: 'login failed', stack: STACK_LOGIN, release: '1.1', env: 'staging', ua: 122 },
    { message: HOSTILE, release: '1.1', ua: 123 },
  ])
  await sendErrors(blog, [{ message: 'blog only', release: 'b1', ua: 124 }])
  // A session without errors in release 1.1: crash-free rates are not all zero.
  const view = JSON.stringify({ type: 'view', view: { id: 'v1', url: 'https://shop.example/' }, release: '1.1' })
  expect((await ingest(server.url, shop.token, view, { 'content-type': 'text/plain', 'user-agent': chrome(125) })).status).toBe(202)
})
afterAll(async () => {
  await server?.stop()
  dir?.remove()
})

describe('authentication', () => {
  const routes: Array<[method: string, template: string]> = [
    ['GET', '/api/v1/apps'],
    ['GET', '/api/v1/apps/{shop}/issues'],
    ['GET', '/api/v1/apps/{shop}/issues/1'],
    ['GET', '/api/v1/apps/{shop}/issues/1/events'],
    ['PATCH', '/api/v1/apps/{shop}/issues/1'],
    ['GET', '/api/v1/apps/{shop}/releases'],
  ]

  it.each(routes)('%s %s needs a valid, unrevoked api key in the Authorization header', async (method, template) => {
    const path = () => template.replace('{shop}', String(shop.appId))
    const init = method === 'PATCH' ? { method, body: '{"status":"resolved"}', headers: { 'content-type': 'application/json' } } : { method }
    const none = await api(path(), undefined, init)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    expect(none.body).toMatchObject({ error: 'unauthorized' })
    // Not in the query string: a key there would end up in access logs.
    expect((await api(`${path()}${path().includes('?') ? '&' : '?'}key=${keys.all}`, undefined, init)).status).toBe(401)
    expect((await api(path(), 'tacit_api_' + 'A'.repeat(43), init)).status).toBe(401)
    expect((await api(path(), keys.revoked, init)).status).toBe(401)
    // The public client token opens nothing here; an upload key is the wrong kind.
    expect((await api(path(), shop.token, init)).status).toBe(401)
    const upload = await api(path(), keys.upload, init)
    expect(upload.status).toBe(403)
    expect(upload.body.message).toMatch(/needs a api key; this is a upload key|needs an? api key/)
    for (const header of [`Basic ${Buffer.from(`x:${keys.all}`).toString('base64')}`, keys.all, `Bearer`, `Bearer ${keys.all} extra`]) {
      expect((await fetch(`${server.url}${path()}`, { ...init, headers: { ...(init.headers ?? {}), authorization: header } })).status, header).toBe(401)
    }
  })

  it('gives a key limited to one app nothing of another app: the other app and its issues read as missing', async () => {
    const blogIssues = await issues('', keys.all, blog.appId)
    const [shopIssue] = await issues()
    expect((await api(`/api/v1/apps/${blog.appId}/issues`, keys.shopOnly)).status).toBe(404)
    expect((await api(`/api/v1/apps/blog/issues`, keys.shopOnly)).status).toBe(404)
    expect((await api(`/api/v1/apps/${blog.appId}/releases`, keys.shopOnly)).status).toBe(404)
    expect((await api(`/api/v1/apps/${blog.appId}/issues/${blogIssues[0]!.id}`, keys.shopOnly)).status).toBe(404)
    // Another app's issue id under an app the key does cover: same answer as a missing issue.
    expect((await api(`/api/v1/apps/${shop.appId}/issues/${blogIssues[0]!.id}`, keys.shopOnly)).status).toBe(404)
    expect((await api(`/api/v1/apps/${shop.appId}/issues/${blogIssues[0]!.id}/events`, keys.all)).status).toBe(404)
    expect((await patch(`/api/v1/apps/${shop.appId}/issues/${blogIssues[0]!.id}`, keys.all, '{"status":"ignored"}')).status).toBe(404)
    expect((await patch(`/api/v1/apps/${blog.appId}/issues/${shopIssue!.id}`, keys.blogOnly, '{"status":"ignored"}')).status).toBe(404)
    expect((await api(`/api/v1/apps/${shop.appId}/issues/${shopIssue!.id}`, keys.blogOnly)).status).toBe(404)
    const apps = await api('/api/v1/apps', keys.shopOnly)
    expect(apps.body).toEqual({ apps: [{ id: shop.appId, name: 'shop', created_at: expect.any(String), role: 'owner' }] })
    // The unscoped key sees every app, the demo app of the first start included.
    const names = ((await api('/api/v1/apps', keys.all)).body.apps as Array<{ name: string }>).map((a) => a.name)
    expect(names).toEqual(expect.arrayContaining(['shop', 'blog']))
  })
})

describe('GET /api/v1/apps/:app/issues', () => {
  it('lists issues with exact counts, sessions and releases, by app id or name, newest first', async () => {
    const list = await issues()
    expect(list.map((i) => i.title)).toEqual([`TypeError: ${HOSTILE}`, 'TypeError: login failed', "TypeError: Cannot read properties of undefined (reading 'price')"])
    const cart = list[2]!
    expect(cart).toMatchObject({ app_id: shop.appId, status: 'open', regressed: false, count: 3, sessions: 2, culprit: 'formatCartLine (cart.js)' })
    expect(cart.releases.map((r) => [r.release, r.count])).toEqual([['1.0', 2], ['1.1', 1]])
    expect(await issues('', keys.shopOnly, 'shop')).toEqual(list)
  })

  it('filters by status, kind, release and text, sorts, and pages with next_offset', async () => {
    expect((await issues('?release=1.0')).map((i) => i.count)).toEqual([3])
    expect((await issues('?search=LOGIN')).map((i) => i.title)).toEqual(['TypeError: login failed'])
    const staging = await issues('?environment=staging')
    expect(staging.map((i) => i.title)).toEqual(['TypeError: login failed'])
    expect((staging[0] as unknown as { environments: unknown[] }).environments).toEqual([
      { environment: 'staging', count: 1, first_seen: expect.any(String), last_seen: expect.any(String) },
    ])
    expect(await issues('?environment=production')).toEqual([])
    expect((await issues('?search=cart.js')).map((i) => i.count)).toEqual([3])
    expect(await issues('?kind=report')).toEqual([])
    expect((await issues('?sort=count')).map((i) => i.count)).toEqual([3, 1, 1])
    expect((await issues('?sort=sessions'))[0]!.sessions).toBe(2)
    const first = await api(`/api/v1/apps/${shop.appId}/issues?limit=2`, keys.all)
    expect(first.body.next_offset).toBe(2)
    const second = await api(`/api/v1/apps/${shop.appId}/issues?limit=2&offset=2`, keys.all)
    expect(second.body.next_offset).toBe(null)
    expect([...(first.body.issues as IssueJson[]), ...(second.body.issues as IssueJson[])].map((i) => i.id)).toEqual((await issues()).map((i) => i.id))
  })

  it('returns visitor-sent text as JSON strings, never as something a browser would render', async () => {
    const response = await api(`/api/v1/apps/${shop.appId}/issues`, keys.all)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it.each([
    ['?status=closed', /"status" must be one of open, resolved, ignored, regressed/],
    ['?sort=id;DROP TABLE issues', /"sort" must be one of/],
    ['?kind=x', /"kind" must be one of error, report/],
    ['?limit=0', /"limit" must be a whole number from 1 to 1000/],
    ['?limit=1001', /"limit" must be a whole number/],
    ['?limit=1e3', /"limit" must be a whole number/],
    ['?offset=-1', /"offset" must be a whole number/],
    ['?status=open&status=resolved', /Give "status" once/],
    ['?stauts=open', /Unknown parameter "stauts"/],
    [`?search=${'x'.repeat(201)}`, /"search" takes 1 to 200 characters/],
    ['?release=', /"release" takes 1 to 200 characters/],
    [`?environment=${'e'.repeat(201)}`, /"environment" takes 1 to 200 characters/],
  ])('refuses %s with a clear 400', async (query, message) => {
    const response = await api(`/api/v1/apps/${shop.appId}/issues${query}`, keys.all)
    expect(response.status).toBe(400)
    expect(response.body).toMatchObject({ error: 'bad_request' })
    expect(response.body.message).toMatch(message)
  })

  it('answers 404 for an unknown app, by id or by name', async () => {
    for (const app of ['999', 'nope', 'x'.repeat(90), '%00', '0x1']) {
      expect((await api(`/api/v1/apps/${app}/issues`, keys.all)).status, app).toBe(404)
    }
  })
})

describe('GET /api/v1/apps/:app/issues/:id and /events', () => {
  it('shows an issue with its latest event and parsed frames', async () => {
    const cart = (await issues('?search=cart.js'))[0]!
    const detail = await api(`/api/v1/apps/${shop.appId}/issues/${cart.id}`, keys.all)
    expect(detail.status).toBe(200)
    const body = detail.body as unknown as IssueJson
    expect(body).toMatchObject({ id: cart.id, count: 3 })
    expect(body.latest_event).toMatchObject({ release: '1.1', message: "Cannot read properties of undefined (reading 'price')" })
    expect(body.latest_event!.frames.map((f) => f.function)).toEqual(['formatCartLine', 'renderCart'])
    // Exact counts per day and per browser, OS and device, from every event (not the stored sample).
    expect((detail.body as { breakdown: unknown }).breakdown).toEqual({
      days: [{ day: new Date().toISOString().slice(0, 10), count: 3 }],
      browser: [{ value: 'Chrome', count: 3 }],
      os: [{ value: 'Windows', count: 3 }],
      device: [{ value: 'desktop', count: 3 }],
      country: [],
    })
  })

  it('lists the stored sample of an issue, newest first', async () => {
    const cart = (await issues('?search=cart.js'))[0]!
    const response = await api(`/api/v1/apps/${shop.appId}/issues/${cart.id}/events?limit=2`, keys.all)
    const events = response.body.events as Array<{ type: string; release: string; session?: { id: string } }>
    expect(events.map((e) => [e.type, e.release])).toEqual([['error', '1.1'], ['error', '1.0']])
    expect(events[0]!.session?.id).toMatch(/^[0-9a-f-]{36}$/)
    const text = JSON.stringify(response.body)
    expect(text).not.toContain('127.0.0.1')
    expect(text).not.toContain('Chrome/121.0.0.0')
    expect((await api(`/api/v1/apps/${shop.appId}/issues/${cart.id}/events?limit=101`, keys.all)).status).toBe(400)
  })

  it.each(['0', '99999', 'abc', '1.5', '1e3', '-1', '9'.repeat(30)])('answers 404 for issue id %s', async (id) => {
    expect((await api(`/api/v1/apps/${shop.appId}/issues/${id}`, keys.all)).status).toBe(404)
  })
})

describe('PATCH /api/v1/apps/:app/issues/:id', () => {
  it('resolves, ignores and reopens, saying whether anything changed', async () => {
    const login = (await issues('?search=login'))[0]!
    const path = `/api/v1/apps/${shop.appId}/issues/${login.id}`
    const resolved = await patch(path, keys.shopOnly, '{"status":"resolved"}')
    expect(resolved.status).toBe(200)
    expect(resolved.body).toMatchObject({ status: 'resolved', changed: true })
    expect((resolved.body.resolved_at as string).length).toBeGreaterThan(0)
    expect((await patch(path, keys.shopOnly, '{"status":"resolved"}')).body).toMatchObject({ status: 'resolved', changed: false })
    expect((await issues('?status=resolved')).map((i) => i.id)).toEqual([login.id])
    expect((await patch(path, keys.all, '{"status":"ignored"}')).body).toMatchObject({ status: 'ignored', resolved_at: null })
    expect((await patch(path, keys.all, '{"status":"open"}')).body).toMatchObject({ status: 'open', changed: true })
  })

  it.each([
    ['{"status":"closed"}', 'application/json', 400],
    ['{"status":"resolved","title":"x"}', 'application/json', 400],
    ['["resolved"]', 'application/json', 400],
    ['null', 'application/json', 400],
    ['{"status":', 'application/json', 400],
    ['', 'application/json', 400],
    ['status=resolved', 'application/x-www-form-urlencoded', 415],
    [JSON.stringify({ status: 'resolved', pad: 'x'.repeat(2000) }), 'application/json', 413],
  ])('refuses the body %j (%s) with %i and changes nothing', async (body, type, status) => {
    const cart = (await issues('?search=cart.js'))[0]!
    const response = await patch(`/api/v1/apps/${shop.appId}/issues/${cart.id}`, keys.all, body, type)
    expect(response.status).toBe(status)
    expect(response.body.error).toBeTruthy()
    expect((await issues('?search=cart.js'))[0]!.status).toBe('open')
  })
})

describe('GET /api/v1/apps/:app/releases', () => {
  it('counts errors, issues, new issues and crash-free sessions per release', async () => {
    const response = await api(`/api/v1/apps/shop/releases`, keys.all)
    expect(response.status).toBe(200)
    const releases = response.body.releases as Array<Record<string, unknown>>
    const byName = Object.fromEntries(releases.map((r) => [r.release, r]))
    expect(byName['1.0']).toMatchObject({ errors: 2, issues: 1, new_issues: 1 })
    expect(byName['1.1']).toMatchObject({ errors: 3, issues: 3, new_issues: 2 })
    // Sessions belong to the release their latest event named: 121 moved from 1.0 to 1.1.
    expect(byName['1.0']).toMatchObject({ sessions: 1, crashed_sessions: 1, crash_free_rate: 0 })
    expect(byName['1.1']).toMatchObject({ sessions: 4, crashed_sessions: 3, crash_free_rate: 0.25 })
    expect(Object.keys(byName)).not.toContain('b1')
  })
})

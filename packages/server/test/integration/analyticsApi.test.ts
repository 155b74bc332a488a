import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateBatches } from '../../bench/generateEvents.js'
import { analyticsRoutes } from '../../src/http/analyticsRoutes.js'
import { generateSecretKey, hashSecretKey, secretKeyHint } from '../../src/keys/secretKey.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { expectedOverview, expectedPerformance, rounded } from '../store/analyticsOracle.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'

/**
 * GET /api/v1/apps/:app/overview and /performance over real HTTP on 127.0.0.1, against a real SQLite store seeded
 * through writeBatches and rolled up: authorization, the numbers (equal to a scan of the raw events), ranges and
 * buckets, and malformed, oversized and hostile parameters.
 */
const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** The clock: 20 minutes past the hour the data ends in. */
const NOW = Date.UTC(2026, 10, 20, 14, 20)
const END = Date.UTC(2026, 10, 20, 15)

let temp: TempSqliteStore
let http: FastifyInstance
let base: string
let shopId: number
const keys = { all: '', blogOnly: '', upload: '' }

async function createKey(kind: 'api' | 'upload', appId: number | null): Promise<string> {
  const key = generateSecretKey(kind, cryptoRandom)
  await temp.store.secretKeys.create({ kind, appId, hash: hashSecretKey(key), hint: secretKeyHint(key), label: null, createdAt: NOW })
  return key
}

async function get(path: string, key: string | null = keys.all): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

beforeAll(async () => {
  temp = await createTempSqliteStore()
  const shop = await temp.store.createApp({ name: 'shop', createdAt: 0, settings: {} })
  const blog = await temp.store.createApp({ name: 'blog', createdAt: 0, settings: {} })
  shopId = shop.id
  const batches = [...generateBatches({ appId: shop.id, seed: 3, events: 3000, end: END, days: 3 }), ...generateBatches({ appId: blog.id, seed: 4, events: 300, end: END, days: 3 })]
  for (let i = 0; i < batches.length; i += 50) await temp.store.writeBatches(batches.slice(i, i + 50))
  await temp.store.analytics.refreshRollups({ now: NOW })
  keys.all = await createKey('api', null)
  keys.blogOnly = await createKey('api', blog.id)
  keys.upload = await createKey('upload', null)
  http = Fastify()
  await http.register(async (scope) => analyticsRoutes(scope, { store: temp.store, clock: { now: () => NOW } }))
  await http.listen({ host: '127.0.0.1', port: 0 })
  const address = http.server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})

afterAll(async () => {
  await http?.close()
  await temp?.cleanup()
})

describe('analytics routes: access', () => {
  for (const view of ['overview', 'performance']) {
    it(`${view}: 401 without a key or with a wrong one, 403 with an upload key, 404 for an app the key does not cover or that does not exist`, async () => {
      expect((await get(`/api/v1/apps/shop/${view}`, null)).status).toBe(401)
      expect((await get(`/api/v1/apps/shop/${view}`, 'tacit_api_' + 'x'.repeat(43))).status).toBe(401)
      expect((await get(`/api/v1/apps/shop/${view}`, keys.upload)).status).toBe(403)
      const other = await get(`/api/v1/apps/shop/${view}`, keys.blogOnly)
      expect(other.status).toBe(404)
      expect(other.body).toEqual((await get(`/api/v1/apps/nope/${view}`)).body)
      expect((await get(`/api/v1/apps/${shopId}/${view}`, keys.blogOnly)).status).toBe(404)
      expect((await get(`/api/v1/apps/blog/${view}`, keys.blogOnly)).status).toBe(200)
    })
  }
})

describe('analytics routes: results', () => {
  it('overview: the numbers of a raw scan, with ISO times, by name or id', async () => {
    const from = END - 3 * DAY_MS
    const { status, body } = await get(`/api/v1/apps/shop/overview?from=${new Date(from).toISOString()}&to=${END}`)
    expect(status).toBe(200)
    const expected = await expectedOverview(temp.store, { appId: shopId, from, to: END, bucket: 'day', filters: {} })
    expect(body.range).toEqual({ from: new Date(from).toISOString(), to: new Date(END).toISOString(), bucket: 'day' })
    expect(rounded(body.totals)).toEqual(rounded(expected.totals))
    expect(body.top).toEqual(expected.top)
    expect(body.series).toEqual(expected.series.map((p) => ({ ...p, t: new Date(p.t).toISOString() })))
    expect((await get(`/api/v1/apps/${shopId}/overview?from=${from}&to=${END}`)).body).toEqual(body)
  })

  it('overview: defaults to the last 24 hours by hour, widened to whole hours', async () => {
    const { body } = await get('/api/v1/apps/shop/overview')
    expect(body.range).toEqual({ from: new Date(END - DAY_MS).toISOString(), to: new Date(END).toISOString(), bucket: 'hour' })
    expect((body.series as unknown[]).length).toBe(24)
    const odd = await get(`/api/v1/apps/shop/overview?from=${END - 5 * HOUR_MS + 1234}&to=${END - HOUR_MS - 99}`)
    expect(odd.body.range).toEqual({ from: new Date(END - 5 * HOUR_MS).toISOString(), to: new Date(END - HOUR_MS).toISOString(), bucket: 'hour' })
  })

  it('filters apply to every panel', async () => {
    const filtered = await get(`/api/v1/apps/shop/overview?from=${END - 3 * DAY_MS}&to=${END}&country=US&device=desktop`)
    const expected = await expectedOverview(temp.store, { appId: shopId, from: END - 3 * DAY_MS, to: END, bucket: 'day', filters: { country: 'US', device: 'desktop' } })
    expect(rounded(filtered.body.totals)).toEqual(rounded(expected.totals))
    expect(filtered.body.top).toEqual(expected.top)
    expect((filtered.body.top as { countries: Array<{ key: string }> }).countries.map((c) => c.key)).toEqual(['US'])
  })

  it('performance: vitals, breakdown, navigation, resources and long tasks of a raw scan', async () => {
    const from = END - 2 * DAY_MS
    const { status, body } = await get(`/api/v1/apps/shop/performance?from=${from}&to=${END}&by=country&page=%2F`)
    expect(status).toBe(200)
    const expected = await expectedPerformance(temp.store, { appId: shopId, from, to: END, bucket: 'hour', filters: { page: '/' }, by: 'country' })
    expect(rounded(body.by)).toEqual({ country: rounded(expected.by) })
    expect(rounded(body.navigation)).toEqual(rounded(expected.navigation))
    expect(rounded(body.slowest_resources)).toEqual(rounded(expected.slowest_resources))
    const lcp = (body.vitals as Record<string, { p75: number; count: number; series: Array<{ t: string }> }>).LCP!
    expect(lcp.count).toBe(expected.vitals.LCP.count)
    expect(lcp.p75).toBeCloseTo(expected.vitals.LCP.p75!, 9)
    expect(lcp.series[0]!.t).toBe(new Date(from).toISOString())
    expect((body.long_tasks as { count: number }).count).toBe(expected.long_tasks.count)
    expect(Object.keys((await get('/api/v1/apps/shop/performance')).body.by as object)).toEqual(['page'])
  })
})

describe('analytics routes: validation', () => {
  const bad: Array<[string, string]> = [
    ['an unknown parameter', '?contry=US'],
    ['a repeated parameter', '?country=US&country=FR'],
    ['from after to', `?from=${END}&to=${END - DAY_MS}`],
    ['from equal to to', `?from=${END}&to=${END}`],
    ['a span over 93 days', `?from=${END - 94 * DAY_MS}&to=${END}`],
    ['hourly points over 14 days', `?from=${END - 15 * DAY_MS}&to=${END}&bucket=hour`],
    ['an unknown bucket', '?bucket=week'],
    ['a word for a time', '?from=yesterday'],
    ['a time without its zone', '?from=2026-11-19T10:00'],
    ['a time before 2000', '?from=0'],
    ['an impossible date', '?from=2026-13-45'],
    ['an overlong number', `?to=${'9'.repeat(40)}`],
    ['an unknown device class', '?device=phone'],
    ['a page that is not a path', '?page=cart'],
    ['an empty filter', '?country='],
    ['an oversized filter', `?release=${'r'.repeat(201)}`],
    ['an unknown breakdown', '?by=os'],
  ]
  for (const [what, query] of bad) {
    it(`400 for ${what}`, async () => {
      const view = query.startsWith('?by=') ? 'performance' : 'overview'
      const { status, body } = await get(`/api/v1/apps/shop/${view}${query}`)
      expect(status).toBe(400)
      expect(body.error).toBe('bad_request')
      expect(body.message).toMatch(/^[^\n]{5,200}[.]$/)
    })
  }

  it('hostile filter values are data: they match nothing and are not echoed', async () => {
    for (const value of ["' OR 1=1 --", '<img src=x onerror=alert(1)>', 'US\u0000', '%00', '../../etc/passwd']) {
      const { status, body } = await get(`/api/v1/apps/shop/overview?from=${END - 3 * DAY_MS}&to=${END}&country=${encodeURIComponent(value)}&page=${encodeURIComponent('/' + value)}`)
      expect(status).toBe(200)
      expect((body.totals as { views: number }).views).toBe(0)
      expect(JSON.stringify(body)).not.toContain('onerror')
    }
  })
})

import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateBatches } from '../../bench/generateEvents.js'
import { analyticsRoutes } from '../../src/http/analyticsRoutes.js'
import { exploreRoutes } from '../../src/http/exploreRoutes.js'
import { issueApiRoutes } from '../../src/http/issueApiRoutes.js'
import { sessionRoutes } from '../../src/http/sessionRoutes.js'
import { generateSecretKey, hashSecretKey, secretKeyHint } from '../../src/keys/secretKey.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { createStackResolver } from '../../src/sourcemaps/createStackResolver.js'
import { PERFORMANCE_BREAKDOWNS } from '../../src/store/AnalyticsStore.js'
import type { IngestBatch, Store } from '../../src/store/Store.js'
import { createTempPostgresStore, type TempPostgresStore } from '../store/tempPostgresStore.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'

/**
 * Issue 7: "the dashboard shows identical numbers for identical data". Both stores get the same generated events
 * (as ingest writes them), both roll up, and every dashboard API route is asked the same questions through HTTP:
 * the answers must be equal — after renaming issue ids, which each database numbers its own way (PostgreSQL's
 * sequence skips the numbers of upserts that found their issue), to the issues' fingerprints.
 */
const DAY_MS = 86_400_000
const END = Date.UTC(2026, 10, 20, 15)
const iso = (ms: number) => new Date(ms).toISOString()

interface Side {
  store: Store
  http: FastifyInstance
  key: string
  /** Issue id → fingerprint, and back. */
  fingerprints: Map<number, string>
  ids: Map<string, number>
}

async function prepare(store: Store): Promise<Side> {
  const app = await store.createApp({ name: 'shop', createdAt: END - 10 * DAY_MS, settings: {} })
  const batches: IngestBatch[] = [...generateBatches({ appId: app.id, seed: 7, events: 6000, end: END, days: 3 })]
  for (let i = 0; i < batches.length; i += 50) expect(await store.writeBatches(batches.slice(i, i + 50))).toEqual(batches.slice(i, i + 50).map(() => undefined))
  await store.analytics.refreshRollups({ now: END + 2 * DAY_MS })
  const key = generateSecretKey('api', cryptoRandom)
  await store.secretKeys.create({ kind: 'api', appId: null, hash: hashSecretKey(key), hint: secretKeyHint(key), label: 'parity', createdAt: END })
  const clock = { now: () => END }
  const deps = { store, clock, stackResolver: createStackResolver({ store, clock }) }
  const http = Fastify()
  await http.register(async (scope) => analyticsRoutes(scope, deps))
  await http.register(async (scope) => issueApiRoutes(scope, deps))
  // Only what these routes use of HttpDeps.
  const dataDeps = deps as unknown as Parameters<typeof sessionRoutes>[1]
  await http.register(async (scope) => sessionRoutes(scope, dataDeps))
  await http.register(async (scope) => exploreRoutes(scope, dataDeps))
  const issues = await store.listIssues({ appId: app.id, limit: 1000 })
  return {
    store,
    http,
    key,
    fingerprints: new Map(issues.map((issue) => [issue.id, issue.fingerprint])),
    ids: new Map(issues.map((issue) => [issue.fingerprint, issue.id])),
  }
}

/** The answer with every issue id replaced by its fingerprint. */
function withFingerprints(value: unknown, side: Side, parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => withFingerprints(item, side, parentKey))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => {
        const isIssueId = (key === 'id' && parentKey === 'issue') || key === 'issue_id' || (key === 'id' && typeof child === 'number' && side.fingerprints.has(child))
        return [key, isIssueId && typeof child === 'number' ? `issue:${side.fingerprints.get(child)}` : withFingerprints(child, side, key)]
      }),
    )
  }
  return value
}

async function ask(side: Side, url: string): Promise<{ status: number; body: unknown }> {
  const response = await side.http.inject({ url, headers: { authorization: `Bearer ${side.key}` } })
  return { status: response.statusCode, body: withFingerprints(JSON.parse(response.body), side) }
}

describe('the dashboard API answers the same on SQLite and PostgreSQL for the same events', () => {
  let sqlite: TempSqliteStore
  let postgres: TempPostgresStore
  let sides: [Side, Side]

  beforeAll(async () => {
    sqlite = await createTempSqliteStore()
    postgres = await createTempPostgresStore()
    sides = [await prepare(sqlite.store), await prepare(postgres.store)]
  }, 120_000)
  afterAll(async () => {
    for (const side of sides ?? []) await side.http.close()
    await sqlite?.cleanup()
    await postgres?.cleanup()
  })

  async function expectSame(url: string | ((side: Side) => string)): Promise<unknown> {
    const [a, b] = await Promise.all(sides.map((side) => ask(side, typeof url === 'string' ? url : url(side))))
    const label = typeof url === 'string' ? url : url(sides[0])
    expect(a!.status, label).toBe(200)
    expect(b, label).toEqual(a)
    return a!.body
  }

  it('overview and performance, over every range and filter', async () => {
    const ranges = [`from=${iso(END - DAY_MS)}&to=${iso(END)}`, `from=${iso(END - 3 * DAY_MS)}&to=${iso(END)}`, `from=${iso(END - 30 * DAY_MS)}&to=${iso(END)}`]
    const overview = (await expectSame(`/api/v1/apps/shop/overview?${ranges[1]}`)) as { top: Record<string, Array<{ key: string | null }>> }
    const first = (list: Array<{ key: string | null }> | undefined) => encodeURIComponent(list?.find((entry) => entry.key !== null)?.key ?? '')
    const filters = ['', `&page=${first(overview.top.pages)}`, `&country=${first(overview.top.countries)}`, `&browser=${first(overview.top.browsers)}`, '&env=staging', '&release=2026.1.0']
    for (const range of ranges) {
      for (const filter of filters) {
        await expectSame(`/api/v1/apps/shop/overview?${range}${filter}`)
        await expectSame(`/api/v1/apps/shop/performance?${range}${filter}`)
      }
      for (const by of PERFORMANCE_BREAKDOWNS) await expectSame(`/api/v1/apps/shop/performance?${range}&by=${by}`)
    }
  })

  it('issues, each issue with its events, and releases', async () => {
    const list = (await expectSame('/api/v1/apps/shop/issues')) as { issues: Array<{ id: string }> }
    expect(list.issues.length).toBeGreaterThan(0)
    for (const sort of ['count', 'sessions', 'first_seen']) await expectSame(`/api/v1/apps/shop/issues?sort=${sort}`)
    await expectSame('/api/v1/apps/shop/issues?status=resolved')
    for (const { id } of list.issues.slice(0, 5)) {
      const fingerprint = id.slice('issue:'.length)
      await expectSame((side) => `/api/v1/apps/shop/issues/${side.ids.get(fingerprint)}`)
      await expectSame((side) => `/api/v1/apps/shop/issues/${side.ids.get(fingerprint)}/events`)
    }
    await expectSame('/api/v1/apps/shop/releases')
  })

  it('sessions, a timeline, and the explorer', async () => {
    const day = `from=${iso(END - DAY_MS)}&to=${iso(END)}`
    const sessions = (await expectSame(`/api/v1/apps/shop/sessions?${day}`)) as { sessions: Array<{ id: string }> }
    expect(sessions.sessions.length).toBeGreaterThan(0)
    await expectSame(`/api/v1/apps/shop/sessions?from=${iso(END - 3 * DAY_MS)}&to=${iso(END)}&country=DE`)
    for (const { id } of sessions.sessions.slice(0, 3)) await expectSame(`/api/v1/apps/shop/sessions/${id}`)
    for (const query of ['type=view&group_by=geo.country', 'type=error&where=device.browser%3AChrome', 'type=vital&group_by=vital.name', 'type=action&group_by=action.name']) {
      await expectSame(`/api/v1/apps/shop/explore?${day}&${query}`)
    }
  })
})

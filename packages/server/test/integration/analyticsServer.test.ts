import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTestApp } from '../support/storedData.js'
import { ingest, makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'

/**
 * The server wires the rollup job: events ingested over HTTP show in the overview and performance views within a
 * job period (10 s), without anything else asking for a refresh. Polls, with no timing assertion.
 */
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36'

let dir: ReturnType<typeof makeTempDir>
let server: ServerProcess
let key = ''

beforeAll(async () => {
  dir = makeTempDir('tacit-analytics-server-')
  server = await startServerProcess({ dataDir: dir.path })
  const created = await runTacit(['key', 'create', '--kind', 'api', '--json'], { dataDir: dir.path })
  key = (JSON.parse(created.stdout) as { key: string }).key
})

afterAll(async () => {
  await server?.stop()
  dir?.remove()
})

it('events ingested over HTTP reach the overview and performance views through the rollup job', async () => {
  const shop = await createTestApp(dir.path, 'shop')
  const view = { id: 'view-1', url: 'https://shop.example/cart?utm_campaign=launch', referrer: 'https://www.google.com/search?q=x' }
  const body = [
    { type: 'view', view: { ...view, time_spent: 5000, first_byte: 120 } },
    { type: 'vital', view, vital: { name: 'LCP', value: 2100 } },
    { type: 'error', view, error: { message: 'boom', type: 'Error' } },
  ]
    .map((event) => JSON.stringify(event))
    .join('\n')
  expect((await ingest(server.url, shop.token, body, { 'content-type': 'text/plain', 'user-agent': CHROME })).status).toBe(202)
  let overview: { totals: { views: number; errors: number; sessions: number }; top: { pages: unknown[]; referrers: unknown[]; utm_campaigns: unknown[] } } | undefined
  for (let i = 0; i < 300; i++) {
    const response = await fetch(`${server.url}/api/v1/apps/shop/overview`, { headers: { authorization: `Bearer ${key}` } })
    expect(response.status).toBe(200)
    overview = (await response.json()) as typeof overview
    if (overview!.totals.views > 0) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  expect(overview!.totals).toMatchObject({ views: 1, errors: 1, sessions: 1 })
  expect(overview!.top.pages).toEqual([{ key: '/cart', views: 1 }])
  expect(overview!.top.referrers).toEqual([{ key: 'www.google.com', views: 1 }])
  const performance = (await (await fetch(`${server.url}/api/v1/apps/shop/performance`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
    vitals: { LCP: { count: number; good: number } }
  }
  expect(performance.vitals.LCP).toMatchObject({ count: 1, good: 1 })
})

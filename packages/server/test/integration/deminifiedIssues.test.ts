import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtureBundle, type FixtureBundle } from '../sourcemaps/buildFixtureBundle.js'
import { createTestApp } from '../support/storedData.js'
import { ingest, makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'

/**
 * Source maps from CI to the issue page, end to end on a real server: a terser-minified bundle (mangled names)
 * throws in Node, its map is uploaded over HTTP with an upload key, the error is ingested like a browser sends
 * it, and both the issue API and `tacit issue` show the original file, line, function and source around it.
 */

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

interface FrameJson {
  function: string | null
  file: string | null
  line: number | null
  resolved: boolean
  reason?: string
  map?: string
  context?: { pre: string[]; line: string; post: string[] }
  minified: { function: string | null; file: string | null }
}

let root: ReturnType<typeof makeTempDir>
let dataDir: string
let server: ServerProcess
let build: FixtureBundle
let shop: { appId: number; token: string }
const keys = { upload: '', api: '' }

async function key(args: string[]): Promise<string> {
  const result = await runTacit(['key', 'create', ...args, '--json'], { dataDir })
  return (JSON.parse(result.stdout) as { key: string }).key
}

async function sendError(release: string): Promise<void> {
  const event = { type: 'error', release, error: { message: 'discount service unavailable for 2 items', type: 'TypeError', stack: build.stack } }
  const answer = await ingest(server.url, shop.token, JSON.stringify(event), { 'content-type': 'text/plain', 'user-agent': CHROME })
  expect(answer.status).toBe(202)
}

async function latestFrames(issueId: number): Promise<FrameJson[]> {
  const response = await fetch(`${server.url}/api/v1/apps/shop/issues/${issueId}`, { headers: { authorization: `Bearer ${keys.api}` } })
  expect(response.status).toBe(200)
  return ((await response.json()) as { latest_event: { frames: FrameJson[] } }).latest_event.frames
}

beforeAll(async () => {
  root = makeTempDir('tacit-deminified-')
  dataDir = join(root.path, 'data')
  build = await buildFixtureBundle(join(root.path, 'build'), 'terser')
  server = await startServerProcess({ dataDir })
  shop = await createTestApp(dataDir, 'shop')
  keys.upload = await key(['shop', '--kind', 'upload'])
  keys.api = await key(['shop', '--kind', 'api'])
}, 60_000)
afterAll(async () => {
  await server?.stop()
  root?.remove()
})

describe('an issue of a minified bundle', () => {
  let issueId: number

  it('shows minified frames, saying why, before any map is uploaded', async () => {
    await sendError('2.0.0')
    const list = await fetch(`${server.url}/api/v1/apps/shop/issues`, { headers: { authorization: `Bearer ${keys.api}` } })
    const issues = ((await list.json()) as { issues: Array<{ id: number }> }).issues
    expect(issues).toHaveLength(1)
    issueId = issues[0]!.id
    const [top] = await latestFrames(issueId)
    expect(top).toMatchObject({ resolved: false, reason: 'no_source_maps', file: `https://shop.example.com/${build.bundleName}` })
    expect(top!.function).not.toBe('applyDiscount')
  })

  it('is shown de-minified once CI has uploaded the release\'s bundle and map, without new events', async () => {
    for (const name of [build.bundleName, build.mapName]) {
      const url = `${server.url}/api/v1/sourcemaps?${new URLSearchParams({ release: '2.0.0', name }).toString()}`
      const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${keys.upload}` }, body: new Uint8Array(readFileSync(join(build.dist, name))) })
      expect(response.status, await response.clone().text()).toBe(201)
    }
    const [top, caller] = await latestFrames(issueId)
    expect(top).toMatchObject({ resolved: true, function: 'applyDiscount', file: 'src/cart.ts', map: build.mapName })
    expect(top!.context!.line).toContain('throw new TypeError')
    expect(top!.context!.pre.at(-1)).toContain('if (total > 100)')
    expect(top!.minified.file).toBe(`https://shop.example.com/${build.bundleName}`)
    expect(caller).toMatchObject({ resolved: true, function: 'checkout', file: 'src/cart.ts' })
  })

  it('is shown de-minified by tacit issue, with the minified position and the source around the line', async () => {
    const result = await runTacit(['issue', String(issueId)], { dataDir })
    expect(result.stderr).toBe('')
    expect(result.stdout).toMatch(/> at applyDiscount \(src\/cart\.ts:\d+:\d+\)\n {8}\(minified: .*assets\/app\.7d41e0aa\.js:\d+:\d+\)+\n/)
    expect(result.stdout).toMatch(/\n {6}> +\d+ \| +throw new TypeError/)
  })

  it('stays minified for an event of a release that has no maps, and says so', async () => {
    await sendError('2.0.1')
    const [top] = await latestFrames(issueId)
    expect(top).toMatchObject({ resolved: false, reason: 'no_source_maps' })
    const result = await runTacit(['issue', String(issueId)], { dataDir })
    expect(result.stdout).toContain('(No source maps uploaded for release 2.0.1: see `tacit sourcemaps upload`.)')
  })
})

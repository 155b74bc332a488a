import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { parseStack } from '../../src/errors/parseStack.js'
import { CONTEXT_LINES, createStackResolver, type ResolvedFrame } from '../../src/sourcemaps/createStackResolver.js'
import { storeSourceFile } from '../../src/sourcemaps/storeSourceFile.js'
import { makeTempDir } from '../support/tacitProcess.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'
import { buildFixtureBundle, fixtureSource, SITE, type FixtureBundle } from './buildFixtureBundle.js'

const NOW = Date.UTC(2024, 5, 15, 12)

function fakeClock(start = NOW) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

/** The 1-based line of the first line of a fixture source that contains `text`. */
function lineOf(file: 'cart.ts' | 'index.ts', text: string): number {
  const index = fixtureSource(file).findIndex((line) => line.includes(text))
  expect(index, `${file} has no line with ${text}`).not.toBe(-1)
  return index + 1
}

const builds = makeTempDir('tacit-sourcemap-fixture-')
let esbuilt: FixtureBundle
let tersed: FixtureBundle
let linked: FixtureBundle

beforeAll(async () => {
  esbuilt = await buildFixtureBundle(join(builds.path, 'esbuild'), 'esbuild')
  tersed = await buildFixtureBundle(join(builds.path, 'terser'), 'terser')
  // The map in another directory under another name: only the bundle's sourceMappingURL links them.
  linked = await buildFixtureBundle(join(builds.path, 'linked'), 'esbuild', { mapDir: 'maps' })
})
afterAll(() => builds.remove())

let temp: TempSqliteStore
let clock: ReturnType<typeof fakeClock>
let appId: number

beforeEach(async () => {
  temp = await createTempSqliteStore()
  clock = fakeClock()
  appId = (await temp.store.createApp({ name: 'shop', createdAt: NOW, settings: {} })).id
})
afterEach(async () => temp.cleanup())

async function upload(release: string, name: string, content: Buffer | string, forApp = appId): Promise<void> {
  const result = await storeSourceFile({ sourceMaps: temp.store.sourceMaps, clock }, { appId: forApp, release, name, content: Buffer.from(content) })
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true })
}

async function uploadBuild(build: FixtureBundle, release: string, options: { bundle?: boolean; prefix?: string } = {}): Promise<void> {
  const prefix = options.prefix ?? ''
  await upload(release, `${prefix}${build.mapName}`, readFileSync(join(build.dist, build.mapName)))
  if (options.bundle ?? true) await upload(release, `${prefix}${build.bundleName}`, readFileSync(join(build.dist, build.bundleName)))
}

function inAppOnly(frames: ResolvedFrame[]): ResolvedFrame[] {
  return frames.filter((frame) => frame.minified.file?.startsWith(SITE))
}

describe('createStackResolver with real minified bundles', () => {
  it('resolves an esbuild bundle to the original file, line, column, function names and source context', async () => {
    await uploadBuild(esbuilt, '1.0.0')
    const resolver = createStackResolver({ store: temp.store, clock })
    const frames = inAppOnly(await resolver.resolveStack(appId, '1.0.0', esbuilt.stack))
    expect(frames).toHaveLength(4)
    const [thrower, caller, entry] = frames as [ResolvedFrame, ResolvedFrame, ResolvedFrame]

    expect(thrower).toMatchObject({ resolved: true, file: 'src/cart.ts', line: lineOf('cart.ts', 'throw new TypeError'), function: 'applyDiscount', inApp: true })
    expect(thrower.map).toBe(esbuilt.mapName)
    // The column points into the original line at the thrown expression.
    expect(fixtureSource('cart.ts')[thrower.line! - 1]!.slice(thrower.column! - 1)).toMatch(/^(throw )?new TypeError/)
    expect(caller).toMatchObject({ resolved: true, file: 'src/cart.ts', line: lineOf('cart.ts', 'applyDiscount(total'), function: 'checkout' })
    expect(entry).toMatchObject({ resolved: true, file: 'src/index.ts', line: lineOf('index.ts', 'checkout([60, 70])') })
    // The minified frame is kept next to the resolved one.
    expect(thrower.minified.file).toBe(`${SITE}/${esbuilt.bundleName}`)
    expect(thrower.minified.line).toBe(1)

    const source = fixtureSource('cart.ts')
    const at = thrower.line! - 1
    expect(thrower.context).toEqual({
      pre: source.slice(Math.max(0, at - CONTEXT_LINES), at),
      line: source[at],
      post: source.slice(at + 1, at + 1 + CONTEXT_LINES),
    })
  })

  it('resolves a terser bundle whose map was chained from an esbuild one', async () => {
    await uploadBuild(tersed, '2.0.0')
    const resolver = createStackResolver({ store: temp.store, clock })
    const frames = inAppOnly(await resolver.resolveStack(appId, '2.0.0', tersed.stack))
    const [thrower, caller] = frames as [ResolvedFrame, ResolvedFrame]
    expect(thrower).toMatchObject({ resolved: true, file: 'src/cart.ts', line: lineOf('cart.ts', 'throw new TypeError'), function: 'applyDiscount' })
    expect(caller).toMatchObject({ resolved: true, file: 'src/cart.ts', line: lineOf('cart.ts', 'applyDiscount(total'), function: 'checkout' })
    expect(thrower.context?.line).toContain('throw new TypeError')
  })

  it('resolves Firefox-format stacks the same way', async () => {
    await uploadBuild(esbuilt, '1.0.0')
    const resolver = createStackResolver({ store: temp.store, clock })
    const chrome = inAppOnly(await resolver.resolveStack(appId, '1.0.0', esbuilt.stack))
    const firefox = await resolver.resolveStack(appId, '1.0.0', esbuilt.firefoxStack)
    expect(firefox.map((f) => [f.file, f.line, f.column, f.function])).toEqual(chrome.map((f) => [f.file, f.line, f.column, f.function]))
  })

  it('follows the bundle\'s sourceMappingURL to a map with another name in another directory', async () => {
    await uploadBuild(linked, '1.0.0')
    const resolver = createStackResolver({ store: temp.store, clock })
    const [top] = await resolver.resolveStack(appId, '1.0.0', linked.stack)
    expect(top).toMatchObject({ resolved: true, file: 'src/cart.ts', map: 'maps/app.js.map' })
  })

  it('without the bundle, cannot find a map named unlike the script', async () => {
    await uploadBuild(linked, '1.0.0', { bundle: false })
    const resolver = createStackResolver({ store: temp.store, clock })
    const [top] = await resolver.resolveStack(appId, '1.0.0', linked.stack)
    expect(top).toMatchObject({ resolved: false, reason: 'no_map', function: 'u' })
  })

  it('finds `<script>.map` without the bundle, and matches by path suffix whatever the host and query', async () => {
    await uploadBuild(esbuilt, '1.0.0', { bundle: false })
    const resolver = createStackResolver({ store: temp.store, clock })
    for (const url of [
      `${SITE}/${esbuilt.bundleName}`,
      `https://cdn.example.net/${esbuilt.bundleName}?v=3#top`,
      `https://cdn.example.net/static/site/${esbuilt.bundleName}`,
      `/srv/www/${esbuilt.bundleName}`,
      `C:\\www\\${esbuilt.bundleName.replaceAll('/', '\\')}`,
    ]) {
      const stack = esbuilt.stack.replaceAll(`${SITE}/${esbuilt.bundleName}`, url)
      const [top] = await resolver.resolveStack(appId, '1.0.0', stack)
      expect(top, url).toMatchObject({ resolved: true, file: 'src/cart.ts' })
    }
    // A script of the same file name in another directory is another script.
    const other = esbuilt.stack.replaceAll(`${SITE}/${esbuilt.bundleName}`, `${SITE}/vendor/app.3f9a2c1b.js`)
    expect((await resolver.resolveStack(appId, '1.0.0', other))[0]).toMatchObject({ resolved: false, reason: 'no_map' })
  })

  it('matches files uploaded under a URL prefix, preferring the longest matching path', async () => {
    await uploadBuild(esbuilt, '1.0.0', { prefix: 'static/' })
    const resolver = createStackResolver({ store: temp.store, clock })
    const under = esbuilt.stack.replaceAll(`${SITE}/`, `${SITE}/static/`)
    expect((await resolver.resolveStack(appId, '1.0.0', under))[0]).toMatchObject({ resolved: true, map: `static/${esbuilt.mapName}` })
    // Served from the root, the prefixed upload does not match.
    expect((await resolver.resolveStack(appId, '1.0.0', esbuilt.stack))[0]).toMatchObject({ resolved: false, reason: 'no_map' })

    // With both a prefixed and an unprefixed map, the longer match wins.
    await uploadBuild(tersed, '1.0.0', { bundle: false })
    await upload('1.0.0', esbuilt.mapName.replace('3f9a2c1b', '7d41e0aa'), readFileSync(join(tersed.dist, tersed.mapName)))
    resolver.invalidate(appId, '1.0.0')
    expect((await resolver.resolveStack(appId, '1.0.0', under))[0]).toMatchObject({ map: `static/${esbuilt.mapName}` })
  })

  it('says why frames stay unresolved: no release, nothing uploaded, no position, no mapping', async () => {
    const resolver = createStackResolver({ store: temp.store, clock })
    expect((await resolver.resolveStack(appId, undefined, esbuilt.stack)).every((f) => f.reason === 'no_release' && !f.resolved)).toBe(true)
    expect((await resolver.resolveStack(appId, null, esbuilt.stack))[0]?.reason).toBe('no_release')
    expect((await resolver.resolveStack(appId, '9.9.9', esbuilt.stack))[0]?.reason).toBe('no_source_maps')

    await uploadBuild(esbuilt, '1.0.0')
    const url = `${SITE}/${esbuilt.bundleName}`
    const frames = await resolver.resolveFrames(appId, '1.0.0', [
      { function: 'a', file: url, line: 1, column: 172, inApp: true },
      { function: 'b', file: url, line: 40, column: 1, inApp: true },
      { function: 'c', file: url, inApp: true },
      { function: 'd', file: '<anonymous>', inApp: false },
      { file: '[native code]', inApp: false },
    ])
    expect(frames.map((f) => f.reason)).toEqual([undefined, 'no_mapping', 'no_position', 'no_position', 'no_position'])
    // Unresolved frames come back as they were.
    expect(frames[1]).toMatchObject({ function: 'b', file: url, line: 40, column: 1, resolved: false })
    expect(frames[1]!.minified).toEqual({ function: 'b', file: url, line: 40, column: 1, inApp: true })
    // Another app's release of the same name has nothing.
    const other = (await temp.store.createApp({ name: 'blog', createdAt: NOW, settings: {} })).id
    expect((await resolver.resolveStack(other, '1.0.0', esbuilt.stack))[0]?.reason).toBe('no_source_maps')
  })

  it('returns nothing for an empty or hostile stack, and never throws', async () => {
    await uploadBuild(esbuilt, '1.0.0')
    const resolver = createStackResolver({ store: temp.store, clock })
    expect(await resolver.resolveStack(appId, '1.0.0', '')).toEqual([])
    const hostile = `Error\n${'    at x (https://a/b.js:99999999:99999999)\n'.repeat(500)}    at ${'('.repeat(10_000)}`
    const frames = await resolver.resolveStack(appId, '1.0.0', hostile)
    expect(frames.every((f) => !f.resolved)).toBe(true)
  })

  it('reports a stored map that cannot be read as bad_map instead of failing', async () => {
    // Written past the upload checks, as a damaged row or an older server's upload would be.
    await temp.store.sourceMaps.put(
      { appId, release: '1.0.0', name: `${esbuilt.bundleName}.map`, kind: 'map', content: Buffer.from('{"version":3,"sources":'), sourceMappingUrl: null, uploadedAt: NOW },
      { releaseBytes: 1e9, releaseFiles: 100, appBytes: 1e9 },
    )
    const resolver = createStackResolver({ store: temp.store, clock })
    const [top] = await resolver.resolveStack(appId, '1.0.0', esbuilt.stack)
    expect(top).toMatchObject({ resolved: false, reason: 'bad_map', function: 'u' })
  })

  it('sees a map uploaded after the errors: at once when invalidated, else within the release TTL', async () => {
    const resolver = createStackResolver({ store: temp.store, clock, releaseTtlMs: 1000 })
    expect((await resolver.resolveStack(appId, '1.0.0', esbuilt.stack))[0]?.reason).toBe('no_source_maps')
    await uploadBuild(esbuilt, '1.0.0')
    // Cached: another process's upload is not seen yet…
    expect((await resolver.resolveStack(appId, '1.0.0', esbuilt.stack))[0]?.reason).toBe('no_source_maps')
    // …until the TTL passes.
    clock.advance(1001)
    expect((await resolver.resolveStack(appId, '1.0.0', esbuilt.stack))[0]?.resolved).toBe(true)

    // A deleted release stops resolving once invalidated, and its map leaves the cache.
    await temp.store.sourceMaps.deleteRelease(appId, '1.0.0')
    expect(resolver.cacheStats().maps).toBe(1)
    resolver.invalidate(appId, '1.0.0')
    expect(resolver.cacheStats()).toEqual({ maps: 0, bytes: 0 })
    expect((await resolver.resolveStack(appId, '1.0.0', esbuilt.stack))[0]?.reason).toBe('no_source_maps')
  })

  it('never answers from an old map after a changed map is uploaded under the same name', async () => {
    await uploadBuild(esbuilt, '1.0.0', { bundle: false })
    const resolver = createStackResolver({ store: temp.store, clock })
    expect((await resolver.resolveStack(appId, '1.0.0', esbuilt.stack))[0]).toMatchObject({ file: 'src/cart.ts' })
    const map = JSON.parse(readFileSync(join(esbuilt.dist, esbuilt.mapName), 'utf8')) as { sources: string[] }
    map.sources = map.sources.map((source) => source.replace('cart.ts', 'basket.ts'))
    await upload('1.0.0', esbuilt.mapName, JSON.stringify(map))
    resolver.invalidate(appId, '1.0.0')
    expect((await resolver.resolveStack(appId, '1.0.0', esbuilt.stack))[0]).toMatchObject({ file: 'src/basket.ts' })
  })

  it('keeps the parsed-map cache within its byte bound, evicting the least recently used map', async () => {
    await uploadBuild(esbuilt, '1.0.0', { bundle: false })
    await uploadBuild(esbuilt, '1.0.1', { bundle: false })
    const map = JSON.parse(readFileSync(join(esbuilt.dist, esbuilt.mapName), 'utf8')) as { names: string[] }
    map.names = [...map.names, 'another']
    await upload('1.0.2', esbuilt.mapName, JSON.stringify(map))
    const oneMap = readFileSync(join(esbuilt.dist, esbuilt.mapName)).length * 4
    const resolver = createStackResolver({ store: temp.store, clock, maxCachedBytes: oneMap + 100 })
    for (const release of ['1.0.0', '1.0.1', '1.0.2']) {
      expect((await resolver.resolveStack(appId, release, esbuilt.stack))[0]?.resolved).toBe(true)
      expect(resolver.cacheStats().bytes).toBeLessThanOrEqual(oneMap + 100)
    }
    // 1.0.0 and 1.0.1 share one map (same content), 1.0.2 pushed it out.
    expect(resolver.cacheStats().maps).toBe(1)

    // A map larger than the whole cache still resolves, and is not kept.
    const tiny = createStackResolver({ store: temp.store, clock, maxCachedBytes: 10 })
    expect((await tiny.resolveStack(appId, '1.0.0', esbuilt.stack))[0]?.resolved).toBe(true)
    expect(tiny.cacheStats()).toEqual({ maps: 0, bytes: 0 })
  })

  it('reads a map once when many frames ask for it at the same time', async () => {
    await uploadBuild(esbuilt, '1.0.0')
    let reads = 0
    const sourceMaps = temp.store.sourceMaps
    const counting = {
      sourceMaps: {
        ...sourceMaps,
        readMap: async (...args: Parameters<typeof sourceMaps.readMap>) => {
          reads++
          return sourceMaps.readMap(...args)
        },
      },
    }
    const resolver = createStackResolver({ store: counting, clock })
    const all = await Promise.all(Array.from({ length: 10 }, () => resolver.resolveStack(appId, '1.0.0', esbuilt.stack)))
    expect(all.every((frames) => frames[0]?.resolved)).toBe(true)
    expect(reads).toBe(1)
  })

  it('marks frames whose original source is a dependency as not in-app', async () => {
    await uploadBuild(esbuilt, '1.0.0', { bundle: false })
    const map = JSON.parse(readFileSync(join(esbuilt.dist, esbuilt.mapName), 'utf8')) as { sources: string[] }
    map.sources = map.sources.map((source) => source.replace('src/cart.ts', 'node_modules/cart-lib/index.ts'))
    await upload('1.0.1', esbuilt.mapName, JSON.stringify(map))
    const resolver = createStackResolver({ store: temp.store, clock })
    const [top] = await resolver.resolveStack(appId, '1.0.1', esbuilt.stack)
    expect(top).toMatchObject({ resolved: true, file: 'node_modules/cart-lib/index.ts', inApp: false })
  })
})

describe('parseStack output is what the resolver takes', () => {
  it('resolves the frames parseStack gives for the fixture', async () => {
    const frames = parseStack(esbuilt.stack)
    expect(frames[0]).toMatchObject({ function: 'u', file: `${SITE}/${esbuilt.bundleName}`, line: 1 })
  })
})

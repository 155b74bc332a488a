import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStackResolver } from '../../src/sourcemaps/createStackResolver.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import { expectOneSentenceError, expectSuccess, parseJson } from '../cli/cliAssertions.js'
import { createTestApp } from '../support/storedData.js'
import { makeTempDir, runTacit } from '../support/tacitProcess.js'
import { buildFixtureBundle, SITE, type FixtureBundle } from './buildFixtureBundle.js'

const dir = makeTempDir('tacit-sourcemap-cli-')
const dataDir = join(dir.path, 'data')
let build: FixtureBundle

beforeAll(async () => {
  build = await buildFixtureBundle(join(dir.path, 'build'), 'esbuild')
  // Files the upload must leave out: a script without a map, a stylesheet, and a link pointing outside.
  writeFileSync(join(build.dist, 'assets/plain.js'), 'console.log(1)\n')
  writeFileSync(join(build.dist, 'assets/site.css'), 'body{}\n')
  const outside = join(dir.path, 'outside')
  mkdirSync(outside)
  writeFileSync(join(outside, 'secret.js.map'), JSON.stringify({ version: 3, sources: ['secret.ts'], mappings: '' }))
  symlinkSync(outside, join(build.dist, 'linked'))
  symlinkSync(join(outside, 'secret.js.map'), join(build.dist, 'assets/linked.js.map'))
  await createTestApp(dataDir, 'shop')
}, 60_000)
afterAll(() => dir.remove())

function tacit(...args: string[]) {
  return runTacit(['sourcemaps', ...args], { dataDir })
}

describe('tacit sourcemaps upload | list | delete', () => {
  it('uploads a build directory: its maps and the scripts linking to them, not other files or links', async () => {
    const result = await tacit('upload', 'shop', build.dist, '--release', '1.0.0', '--json')
    const uploaded = parseJson<{ release: string; maps: number; scripts: number; files: Array<{ name: string; kind: string }> }>(result)
    expect(uploaded).toMatchObject({ release: '1.0.0', maps: 1, scripts: 1 })
    expect(uploaded.files.map((f) => [f.name, f.kind])).toEqual([
      [build.bundleName, 'bundle'],
      [build.mapName, 'map'],
    ])

    const human = expectSuccess(await tacit('upload', 'shop', build.dist, '--release', '1.0.1'))
    expect(human).toMatch(/^Stored 1 source map \([\d.]+ KiB, [\d.]+ (KiB|bytes) compressed\) and 1 script for release 1\.0\.1 of "shop" \(id 1\)\.\n$/)
  })

  it('stores what the resolver then uses, under a URL prefix', async () => {
    expectSuccess(await tacit('upload', 'shop', build.dist, '--release', '2.0.0', '--url-prefix', '~/static/'))
    const listed = parseJson<Array<{ name: string }>>(await tacit('list', 'shop', '--release', '2.0.0', '--json'))
    expect(listed.map((f) => f.name)).toEqual([`static/${build.bundleName}`, `static/${build.mapName}`])
    const store = createSqliteStore({ path: join(dataDir, 'tacit.db') })
    try {
      const resolver = createStackResolver({ store, clock: { now: () => 0 } })
      const [top] = await resolver.resolveStack(1, '2.0.0', build.stack.replaceAll(`${SITE}/`, `${SITE}/static/`))
      expect(top).toMatchObject({ resolved: true, file: 'src/cart.ts', function: 'applyDiscount' })
    } finally {
      await store.close()
    }
  })

  it('accepts a URL or an absolute path as --url-prefix', async () => {
    for (const prefix of ['https://cdn.example.com/js/', '/js']) {
      const listed = parseJson<{ files: Array<{ name: string }> }>(await tacit('upload', 'shop', build.dist, '--release', '2.1.0', '--url-prefix', prefix, '--json'))
      expect(listed.files.map((f) => f.name)).toEqual([`js/${build.bundleName}`, `js/${build.mapName}`])
    }
  })

  it('lists releases and files, in tables and as JSON', async () => {
    const releases = parseJson<Array<{ release: string; maps: number; files: number }>>(await tacit('list', 'shop', '--json'))
    expect(releases.find((r) => r.release === '1.0.0')).toMatchObject({ maps: 1, files: 2 })
    const table = expectSuccess(await tacit('list', 'shop'))
    expect(table).toMatch(/^RELEASE +MAPS +FILES +SIZE +UPLOADED\n/)
    expect(table).toMatch(/of the app's 1024 MiB for source maps are used\.\n$/)
    const files = expectSuccess(await tacit('list', 'shop', '--release', '1.0.0'))
    expect(files).toContain(build.mapName)
    expect(files).toContain('app.3f9a2c1b.js.map')
    expect(expectSuccess(await tacit('list', 'shop', '--release', 'nope'))).toBe('Release nope of "shop" has no source maps.\n')
  })

  it('deletes a release, and says so when there is nothing to delete', async () => {
    expect(parseJson(await tacit('delete', 'shop', '--release', '1.0.1', '--json'))).toEqual({ app: 'shop', app_id: 1, release: '1.0.1', deleted: 2 })
    expectOneSentenceError(await tacit('delete', 'shop', '--release', '1.0.1'), /Release 1\.0\.1 of "shop" has no source maps/)
  })

  it('refuses missing and malformed input in one sentence, storing nothing', async () => {
    expectOneSentenceError(await tacit('upload', 'shop', build.dist), /Missing --release/)
    expectOneSentenceError(await tacit('upload', 'shop', '--release', '1'), /Missing the argument <dir>/)
    expectOneSentenceError(await tacit('upload', 'shop', build.dist, '--release', ' 1 '), /surrounding spaces/)
    expectOneSentenceError(await tacit('upload', 'nope', build.dist, '--release', '1'), /There is no app "nope"/)
    expectOneSentenceError(await tacit('upload', 'shop', join(dir.path, 'missing'), '--release', '1'), /There is no directory/)
    expectOneSentenceError(await tacit('upload', 'shop', build.dist, '--release', '1', '--url-prefix', '../up'), /--url-prefix "\.\.\/up"/)
    expectOneSentenceError(await tacit('delete', 'shop'), /Missing --release/)
    expectOneSentenceError(await tacit('list', 'shop', '--release', 'a\tb'), /control characters/)

    const empty = join(dir.path, 'empty')
    mkdirSync(join(empty, 'assets'), { recursive: true })
    writeFileSync(join(empty, 'assets/app.js'), 'x()\n')
    expectOneSentenceError(await tacit('upload', 'shop', empty, '--release', '1'), /There are no source maps \(\*\.map\) in/)

    const broken = join(dir.path, 'broken')
    mkdirSync(join(broken, 'assets'), { recursive: true })
    writeFileSync(join(broken, 'assets/a.js.map'), JSON.stringify({ version: 3, sources: [], mappings: '' }))
    writeFileSync(join(broken, 'assets/b.js.map'), '{"version": 2}')
    expectOneSentenceError(await tacit('upload', 'shop', broken, '--release', '9.9.9'), /^tacit: assets\/b\.js\.map cannot be uploaded: the file is not a source map v3: "version" is not 3\.\n$/)

    const hostile = join(dir.path, 'hostile')
    mkdirSync(hostile)
    writeFileSync(join(hostile, 'a\nb.js.map'), JSON.stringify({ version: 3, sources: [], mappings: '' }))
    expectOneSentenceError(await tacit('upload', 'shop', hostile, '--release', '9.9.9'), /^tacit: "a\\nb\.js\.map" cannot be uploaded: the file name contains control characters\.\n$/)

    // Nothing of the refused uploads was stored.
    expect(expectSuccess(await tacit('list', 'shop', '--release', '9.9.9'))).toBe('Release 9.9.9 of "shop" has no source maps.\n')
  })

  it('refuses a file over the size limit before storing anything', async () => {
    const big = join(dir.path, 'big')
    mkdirSync(big)
    writeFileSync(join(big, 'a.js.map'), JSON.stringify({ version: 3, sources: [], mappings: '' }))
    writeFileSync(join(big, 'b.js.map'), Buffer.alloc(32 * 1024 * 1024 + 1, 0x20))
    expectOneSentenceError(await tacit('upload', 'shop', big, '--release', '9.9.8'), /b\.js\.map is larger than 32 MiB, the limit for one file/)
    expect(expectSuccess(await tacit('list', 'shop', '--release', '9.9.8'))).toContain('has no source maps')
  })
})

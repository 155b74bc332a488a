import { createHash, randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NewSourceFile, SourceFileQuota, SourceMapStore } from '../../src/store/SourceMapStore.js'

/**
 * The contract every SourceMapStore adapter passes (DESIGN.md §3.6). It uses the interface only, so the
 * PostgreSQL adapter runs it unchanged: call describeSourceMapStoreContract from the adapter's test file.
 */
export interface SourceMapStoreUnderTest {
  sourceMaps: SourceMapStore
  cleanup(): Promise<void>
}

const T0 = Date.UTC(2024, 4, 1, 12)
const ROOMY: SourceFileQuota = { releaseBytes: 1e9, releaseFiles: 1000, appBytes: 1e9 }

function mapFile(overrides: Partial<NewSourceFile> & { name: string }): NewSourceFile {
  return { appId: 1, release: '1.0.0', kind: 'map', content: Buffer.from('{"version":3,"sources":[],"mappings":""}'), sourceMappingUrl: null, uploadedAt: T0, ...overrides }
}

function bundleFile(overrides: Partial<NewSourceFile> & { name: string }): NewSourceFile {
  return { appId: 1, release: '1.0.0', kind: 'bundle', content: Buffer.from('x();\n//# sourceMappingURL=a.js.map\n'), sourceMappingUrl: 'a.js.map', uploadedAt: T0, ...overrides }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * Puts a map that compresses well (a.js.map) and a bundle (a.js) into app 1's release 1.0.0, and checks that the
 * map's stored size is a small part of its own; each adapter's test then looks at the rows in its database.
 */
export async function putCompressibleMapAndBundle(sourceMaps: SourceMapStore, uploadedAt: number): Promise<void> {
  const map = JSON.stringify({ version: 3, sources: ['src/a.ts'], sourcesContent: ['export const a = 1\n'.repeat(5000)], mappings: 'AAAA' })
  const put = await sourceMaps.put({ appId: 1, release: '1.0.0', name: 'a.js.map', kind: 'map', content: Buffer.from(map), sourceMappingUrl: null, uploadedAt }, ROOMY)
  await sourceMaps.put({ appId: 1, release: '1.0.0', name: 'a.js', kind: 'bundle', content: Buffer.from('x()'), sourceMappingUrl: 'a.js.map', uploadedAt }, ROOMY)
  expect(put.ok && put.file.storedSize).toBeLessThan(map.length / 20)
}

export function describeSourceMapStoreContract(label: string, open: () => Promise<SourceMapStoreUnderTest>): void {
  describe(`SourceMapStore contract: ${label}`, () => {
    let subject: SourceMapStoreUnderTest
    let store: SourceMapStore
    beforeEach(async () => {
      subject = await open()
      store = subject.sourceMaps
    })
    afterEach(async () => subject.cleanup())

    it('stores a map and reads back its exact bytes, with its record', async () => {
      // Random bytes do not compress: the round trip must still be exact, whatever the adapter does.
      const content = Buffer.concat([Buffer.from('{"version":3}'), randomBytes(200_000)])
      const put = await store.put(mapFile({ name: 'assets/app.js.map', content, uploadedAt: T0 + 5 }), ROOMY)
      expect(put).toEqual({
        ok: true,
        replaced: false,
        file: {
          appId: 1,
          release: '1.0.0',
          name: 'assets/app.js.map',
          kind: 'map',
          size: content.length,
          storedSize: expect.any(Number) as number,
          sha256: sha256(content),
          sourceMappingUrl: null,
          uploadedAt: T0 + 5,
        },
      })
      const read = await store.readMap(1, '1.0.0', 'assets/app.js.map')
      expect(read?.content.equals(content)).toBe(true)
      expect(read?.file).toEqual(put.ok ? put.file : undefined)
    })

    it('keeps a bundle as its record only, and has no map to read for it', async () => {
      const put = await store.put(bundleFile({ name: 'assets/a.js' }), ROOMY)
      expect(put).toMatchObject({ ok: true, file: { kind: 'bundle', storedSize: 0, sourceMappingUrl: 'a.js.map' } })
      expect(await store.readMap(1, '1.0.0', 'assets/a.js')).toBeUndefined()
      expect(await store.listFiles(1, '1.0.0')).toMatchObject([{ name: 'assets/a.js', kind: 'bundle' }])
    })

    it('replaces a file of the same app, release and name, and tells so', async () => {
      await store.put(mapFile({ name: 'a.js.map', content: Buffer.from('{"version":3,"old":1}') }), ROOMY)
      const second = await store.put(mapFile({ name: 'a.js.map', content: Buffer.from('{"version":3,"new":22}'), uploadedAt: T0 + 1 }), ROOMY)
      expect(second).toMatchObject({ ok: true, replaced: true, file: { size: 22, uploadedAt: T0 + 1 } })
      expect((await store.readMap(1, '1.0.0', 'a.js.map'))?.content.toString()).toBe('{"version":3,"new":22}')
      expect(await store.listFiles(1, '1.0.0')).toHaveLength(1)
    })

    it('keeps apps, releases and names apart (names are case-sensitive, as URLs are)', async () => {
      await store.put(mapFile({ name: 'a.js.map', content: Buffer.from('app1-r1') }), ROOMY)
      await store.put(mapFile({ name: 'a.js.map', release: '1.0.1', content: Buffer.from('app1-r2') }), ROOMY)
      await store.put(mapFile({ name: 'a.js.map', appId: 2, content: Buffer.from('app2-r1') }), ROOMY)
      await store.put(mapFile({ name: 'A.js.map', content: Buffer.from('upper') }), ROOMY)
      expect((await store.readMap(1, '1.0.0', 'a.js.map'))?.content.toString()).toBe('app1-r1')
      expect((await store.readMap(1, '1.0.1', 'a.js.map'))?.content.toString()).toBe('app1-r2')
      expect((await store.readMap(2, '1.0.0', 'a.js.map'))?.content.toString()).toBe('app2-r1')
      expect((await store.readMap(1, '1.0.0', 'A.js.map'))?.content.toString()).toBe('upper')
      expect(await store.readMap(3, '1.0.0', 'a.js.map')).toBeUndefined()
      expect(await store.readMap(1, '1.0.2', 'a.js.map')).toBeUndefined()
      expect((await store.listFiles(1, '1.0.0')).map((f) => f.name)).toEqual(['A.js.map', 'a.js.map'])
    })

    it('lists releases with their counts and sizes, latest upload first', async () => {
      await store.put(mapFile({ name: 'a.js.map', content: Buffer.alloc(100, 1), uploadedAt: T0 }), ROOMY)
      await store.put(bundleFile({ name: 'a.js', content: Buffer.alloc(5000, 2), uploadedAt: T0 + 1 }), ROOMY)
      await store.put(mapFile({ name: 'a.js.map', release: '2.0.0', content: Buffer.alloc(40, 3), uploadedAt: T0 + 10 }), ROOMY)
      await store.put(mapFile({ name: 'b.js.map', release: '2.0.0', content: Buffer.alloc(60, 3), uploadedAt: T0 + 10 }), ROOMY)
      await store.put(mapFile({ name: 'x.js.map', appId: 2, content: Buffer.alloc(7, 3) }), ROOMY)
      expect(await store.listReleases(1)).toEqual([
        { release: '2.0.0', files: 2, maps: 2, bytes: 100, uploadedAt: T0 + 10 },
        // The bundle counts as a file, not as bytes: it is not kept.
        { release: '1.0.0', files: 2, maps: 1, bytes: 100, uploadedAt: T0 + 1 },
      ])
      expect(await store.appBytes(1)).toBe(200)
      expect(await store.appBytes(2)).toBe(7)
      expect(await store.appBytes(3)).toBe(0)
      expect(await store.listReleases(3)).toEqual([])
    })

    it('refuses a file that would take a release or an app over its quota, and stores nothing then', async () => {
      const quota: SourceFileQuota = { releaseBytes: 100, releaseFiles: 3, appBytes: 150 }
      expect(await store.put(mapFile({ name: 'a.js.map', content: Buffer.alloc(60) }), quota)).toMatchObject({ ok: true })
      expect(await store.put(mapFile({ name: 'b.js.map', content: Buffer.alloc(41) }), quota)).toEqual({ ok: false, exceeded: 'release_bytes', used: 60, limit: 100 })
      expect(await store.put(mapFile({ name: 'b.js.map', content: Buffer.alloc(40) }), quota)).toMatchObject({ ok: true })
      // Files: two maps and a bundle fill the release.
      expect(await store.put(bundleFile({ name: 'a.js' }), quota)).toMatchObject({ ok: true })
      expect(await store.put(bundleFile({ name: 'b.js' }), quota)).toEqual({ ok: false, exceeded: 'release_files', used: 3, limit: 3 })
      // The app's total counts every release: 100 used, 51 more is too many.
      expect(await store.put(mapFile({ name: 'a.js.map', release: '2.0.0', content: Buffer.alloc(51) }), quota)).toEqual({ ok: false, exceeded: 'app_bytes', used: 100, limit: 150 })
      expect(await store.put(mapFile({ name: 'a.js.map', release: '2.0.0', content: Buffer.alloc(50) }), quota)).toMatchObject({ ok: true })
      // Another app has its own quota.
      expect(await store.put(mapFile({ name: 'a.js.map', appId: 2, content: Buffer.alloc(100) }), quota)).toMatchObject({ ok: true })
      expect(await store.listFiles(1, '1.0.0')).toHaveLength(3)
      expect(await store.appBytes(1)).toBe(150)
    })

    it('counts a replacement net of the file it replaces, and always lets a file shrink', async () => {
      const quota: SourceFileQuota = { releaseBytes: 100, releaseFiles: 1, appBytes: 100 }
      expect(await store.put(mapFile({ name: 'a.js.map', content: Buffer.alloc(90) }), quota)).toMatchObject({ ok: true })
      // Same name: no new file, and 100 replaces 90 within 100.
      expect(await store.put(mapFile({ name: 'a.js.map', content: Buffer.alloc(100) }), quota)).toMatchObject({ ok: true, replaced: true })
      expect(await store.put(mapFile({ name: 'a.js.map', content: Buffer.alloc(101) }), quota)).toMatchObject({ ok: false, exceeded: 'release_bytes' })
      // Under a lowered limit, a smaller file is still welcome.
      const lowered: SourceFileQuota = { releaseBytes: 10, releaseFiles: 1, appBytes: 10 }
      expect(await store.put(mapFile({ name: 'a.js.map', content: Buffer.alloc(50) }), lowered)).toMatchObject({ ok: true, replaced: true })
      expect(await store.appBytes(1)).toBe(50)
    })

    it('keeps the quota when uploads race', async () => {
      const quota: SourceFileQuota = { releaseBytes: 1000, releaseFiles: 1000, appBytes: 1000 }
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.put(mapFile({ name: `f${i}.js.map`, content: randomBytes(100) }), quota)),
      )
      expect(results.filter((r) => r.ok)).toHaveLength(10)
      expect(await store.appBytes(1)).toBe(1000)
    })

    it('deletes one release, and purges one app, leaving the others', async () => {
      await store.put(mapFile({ name: 'a.js.map' }), ROOMY)
      await store.put(bundleFile({ name: 'a.js' }), ROOMY)
      await store.put(mapFile({ name: 'a.js.map', release: '2.0.0' }), ROOMY)
      await store.put(mapFile({ name: 'a.js.map', appId: 2 }), ROOMY)
      expect(await store.deleteRelease(1, '1.0.0')).toBe(2)
      expect(await store.deleteRelease(1, '1.0.0')).toBe(0)
      expect(await store.listFiles(1, '1.0.0')).toEqual([])
      expect(await store.readMap(1, '1.0.0', 'a.js.map')).toBeUndefined()
      expect(await store.listFiles(1, '2.0.0')).toHaveLength(1)
      expect(await store.listFiles(2, '1.0.0')).toHaveLength(1)
      expect(await store.purgeApp(1)).toBe(1)
      expect(await store.listReleases(1)).toEqual([])
      expect(await store.listReleases(2)).toHaveLength(1)
    })
  })
}

import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../src/store/postgres/createPostgresStore.js'
import type { SourceFileQuota } from '../../src/store/SourceMapStore.js'
import type { Store } from '../../src/store/Store.js'
import { describeSourceMapStoreContract } from './sourceMapStoreContract.js'
import { createTempPostgresStore, type TempPostgresStore } from './tempPostgresStore.js'

describeSourceMapStoreContract('postgres', async () => {
  const temp = await createTempPostgresStore()
  return { sourceMaps: temp.store.sourceMaps, cleanup: temp.cleanup }
})

const NOW = Date.UTC(2024, 5, 15, 12)
const ROOMY: SourceFileQuota = { releaseBytes: 1e9, releaseFiles: 1000, appBytes: 1e9 }

describe('PostgreSQL source map storage', () => {
  let temp: TempPostgresStore
  let other: Store
  beforeEach(async () => {
    temp = await createTempPostgresStore()
    other = await openPostgresStore({ url: temp.url })
  })
  afterEach(async () => {
    await other.close()
    await temp.cleanup()
  })

  it('keeps maps gzip-compressed in bytea, and no content for bundles', async () => {
    const map = JSON.stringify({ version: 3, sources: ['src/a.ts'], sourcesContent: ['export const a = 1\n'.repeat(5000)], mappings: 'AAAA' })
    const put = await temp.store.sourceMaps.put(
      { appId: 1, release: '1.0.0', name: 'a.js.map', kind: 'map', content: Buffer.from(map), sourceMappingUrl: null, uploadedAt: NOW },
      ROOMY,
    )
    await temp.store.sourceMaps.put(
      { appId: 1, release: '1.0.0', name: 'a.js', kind: 'bundle', content: Buffer.from('x()'), sourceMappingUrl: 'a.js.map', uploadedAt: NOW },
      ROOMY,
    )
    expect(put.ok && put.file.storedSize).toBeLessThan(map.length / 20)
    const client = new pg.Client({ connectionString: temp.url })
    await client.connect()
    try {
      const { rows } = await client.query<{ name: string; content: Buffer | null }>('SELECT name, content FROM source_maps ORDER BY name COLLATE "C"')
      expect(rows[0]).toEqual({ name: 'a.js', content: null })
      expect(rows[1]!.content!.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    } finally {
      await client.end()
    }
  })

  it('keeps an app\'s quota when two nodes upload at once', async () => {
    const quota: SourceFileQuota = { releaseBytes: 1000, releaseFiles: 1000, appBytes: 1000 }
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? other : temp.store).sourceMaps.put(
          { appId: 1, release: `r${i % 4}`, name: `f${i}.js.map`, kind: 'map', content: randomBytes(100), sourceMappingUrl: null, uploadedAt: NOW },
          quota,
        ),
      ),
    )
    expect(results.filter((r) => r.ok)).toHaveLength(10)
    expect(await temp.store.sourceMaps.appBytes(1)).toBe(1000)
  })
})

import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SourceFileQuota } from '../../src/store/SourceMapStore.js'
import { describeSourceMapStoreContract, putCompressibleMapAndBundle } from './sourceMapStoreContract.js'
import { createTempPostgresNodes, createTempPostgresStore, type TempPostgresNodes } from './tempPostgresStore.js'

describeSourceMapStoreContract('postgres', async () => {
  const temp = await createTempPostgresStore()
  return { sourceMaps: temp.store.sourceMaps, cleanup: temp.cleanup }
})

const NOW = Date.UTC(2024, 5, 15, 12)

describe('PostgreSQL source map storage', () => {
  let temp: TempPostgresNodes
  beforeEach(async () => {
    temp = await createTempPostgresNodes()
  })
  afterEach(async () => temp.cleanup())

  it('keeps maps gzip-compressed in bytea, and no content for bundles', async () => {
    await putCompressibleMapAndBundle(temp.store.sourceMaps, NOW)
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
        (i % 2 ? temp.other : temp.store).sourceMaps.put(
          { appId: 1, release: `r${i % 4}`, name: `f${i}.js.map`, kind: 'map', content: randomBytes(100), sourceMappingUrl: null, uploadedAt: NOW },
          quota,
        ),
      ),
    )
    expect(results.filter((r) => r.ok)).toHaveLength(10)
    expect(await temp.store.sourceMaps.appBytes(1)).toBe(1000)
  })
})

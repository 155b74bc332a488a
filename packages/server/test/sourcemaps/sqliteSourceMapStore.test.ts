import Database from 'better-sqlite3'
import { randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { describeSourceMapStoreContract, putCompressibleMapAndBundle } from '../store/sourceMapStoreContract.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'

describeSourceMapStoreContract('sqlite', async () => {
  const temp = await createTempSqliteStore()
  return { sourceMaps: temp.store.sourceMaps, cleanup: temp.cleanup }
})

const NOW = Date.UTC(2024, 5, 15, 12)
const ROOMY = { releaseBytes: 1e9, releaseFiles: 1000, appBytes: 1e9 }

/** Files in the data directory (database, WAL, shm) that contain `marker`. */
async function filesContaining(dir: string, marker: Buffer): Promise<string[]> {
  const found: string[] = []
  for (const name of await readdir(dir)) {
    if ((await readFile(join(dir, name))).includes(marker)) found.push(name)
  }
  return found
}

describe('SQLite source map storage', () => {
  let temp: TempSqliteStore
  beforeEach(async () => {
    temp = await createTempSqliteStore()
  })
  afterEach(async () => temp.cleanup())

  it('keeps maps gzip-compressed on disk, and no content for bundles', async () => {
    await putCompressibleMapAndBundle(temp.store.sourceMaps, NOW)
    const db = new Database(temp.path, { readonly: true })
    try {
      const rows = db.prepare('SELECT name, content FROM source_maps ORDER BY name').all() as Array<{ name: string; content: Buffer | null }>
      expect(rows[0]).toEqual({ name: 'a.js', content: null })
      expect(rows[1]!.content!.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
      // app_id leads the key, as in every other table (DESIGN.md §2).
      const index = db.prepare("SELECT name FROM pragma_index_list('source_maps') WHERE \"unique\" = 1").pluck().get() as string
      expect(db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').pluck().all(index)).toEqual(['app_id', 'release', 'name'])
    } finally {
      db.close()
    }
  })

  it('leaves no byte of a purged app\'s maps in the database files', async () => {
    const marker = `secret-source-${randomUUID()}`
    const content = Buffer.from(JSON.stringify({ version: 3, sources: ['a.ts'], sourcesContent: [marker], mappings: '' }))
    await temp.store.sourceMaps.put({ appId: 1, release: '1.0.0', name: 'a.js.map', kind: 'map', content, sourceMappingUrl: null, uploadedAt: NOW }, ROOMY)
    // Stored compressed, so the scan looks for a run of the compressed bytes (the same zlib, the same output).
    const compressed = gzipSync(content).subarray(10, 40)
    await temp.store.compact()
    expect(await filesContaining(temp.dir, compressed)).toEqual(['tacit.db'])
    await temp.store.purgeApp(1)
    expect(await filesContaining(temp.dir, compressed)).toEqual([])
    expect(await filesContaining(temp.dir, Buffer.from(marker))).toEqual([])
  })
})

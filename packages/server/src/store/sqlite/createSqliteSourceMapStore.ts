import type Database from 'better-sqlite3'
import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import type { SourceFileKind, SourceMapRelease, SourceMapStore } from '../SourceMapStore.js'
import { FILE_COLUMNS, toFile, toStoredFile, type FileRow } from '../sourceMapRows.js'

// On the libuv thread pool: a map of megabytes takes tens of milliseconds to (de)compress, which the
// server's event loop, busy with ingest, should not wait out.
const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)

export function createSqliteSourceMapStore(db: Database.Database): SourceMapStore {
  const sql = {
    existing: db.prepare<[number, string, string]>('SELECT kind, size FROM source_maps WHERE app_id = ? AND release = ? AND name = ?'),
    releaseTotals: db.prepare<[number, string]>(
      "SELECT count(*) AS files, coalesce(sum(CASE WHEN kind = 'map' THEN size END), 0) AS bytes FROM source_maps WHERE app_id = ? AND release = ?",
    ),
    appBytes: db.prepare<[number]>("SELECT coalesce(sum(size), 0) FROM source_maps WHERE app_id = ? AND kind = 'map'").pluck(),
    upsert: db.prepare<Record<string, unknown>>(
      `INSERT INTO source_maps (${FILE_COLUMNS}, content)
       VALUES (@appId, @release, @name, @kind, @size, @storedSize, @sha256, @sourceMappingUrl, @uploadedAt, @content)
       ON CONFLICT (app_id, release, name) DO UPDATE SET kind = excluded.kind, size = excluded.size,
         stored_size = excluded.stored_size, sha256 = excluded.sha256, source_mapping_url = excluded.source_mapping_url,
         uploaded_at = excluded.uploaded_at, content = excluded.content`,
    ),
    listFiles: db.prepare<[number, string]>(`SELECT ${FILE_COLUMNS} FROM source_maps WHERE app_id = ? AND release = ? ORDER BY name`),
    listReleases: db.prepare<[number]>(
      `SELECT release, count(*) AS files, count(CASE WHEN kind = 'map' THEN 1 END) AS maps,
         coalesce(sum(CASE WHEN kind = 'map' THEN size END), 0) AS bytes, max(uploaded_at) AS uploaded_at
       FROM source_maps WHERE app_id = ? GROUP BY release ORDER BY uploaded_at DESC, release`,
    ),
    readMap: db.prepare<[number, string, string]>(
      `SELECT ${FILE_COLUMNS}, content FROM source_maps WHERE app_id = ? AND release = ? AND name = ? AND kind = 'map'`,
    ),
    deleteRelease: db.prepare<[number, string]>('DELETE FROM source_maps WHERE app_id = ? AND release = ?'),
    purge: db.prepare<[number]>('DELETE FROM source_maps WHERE app_id = ?'),
    deleteStale: db.prepare<{ appId: number; before: number }>(
      `DELETE FROM source_maps WHERE app_id = @appId AND release IN (
         SELECT release FROM source_maps WHERE app_id = @appId GROUP BY release HAVING max(uploaded_at) < @before
         EXCEPT SELECT release FROM releases WHERE app_id = @appId AND last_seen >= @before)`,
    ),
  }

  return {
    async put(file, quota) {
      const keep = file.kind === 'map'
      const content = keep ? await gzipAsync(file.content) : null
      const stored = toStoredFile(file, content)
      // IMMEDIATE: the totals are read under the write lock, so another process's upload cannot slip in between.
      return db
        .transaction(() => {
          const existing = sql.existing.get(file.appId, file.release, file.name) as { kind: SourceFileKind; size: number } | undefined
          const oldBytes = existing?.kind === 'map' ? existing.size : 0
          const newBytes = keep ? stored.size : 0
          const release = sql.releaseTotals.get(file.appId, file.release) as { files: number; bytes: number }
          const files = release.files + (existing ? 0 : 1)
          if (!existing && files > quota.releaseFiles) return { ok: false as const, exceeded: 'release_files' as const, used: release.files, limit: quota.releaseFiles }
          // Only growth is refused: a smaller replacement is always welcome, even above a lowered limit.
          if (newBytes > oldBytes) {
            if (release.bytes - oldBytes + newBytes > quota.releaseBytes) {
              return { ok: false as const, exceeded: 'release_bytes' as const, used: release.bytes, limit: quota.releaseBytes }
            }
            const app = sql.appBytes.get(file.appId) as number
            if (app - oldBytes + newBytes > quota.appBytes) return { ok: false as const, exceeded: 'app_bytes' as const, used: app, limit: quota.appBytes }
          }
          sql.upsert.run({ ...stored, content })
          return { ok: true as const, file: stored, replaced: existing !== undefined }
        })
        .immediate()
    },
    async listFiles(appId, release) {
      return (sql.listFiles.all(appId, release) as FileRow[]).map(toFile)
    },
    async listReleases(appId) {
      const rows = sql.listReleases.all(appId) as Array<{ release: string; files: number; maps: number; bytes: number; uploaded_at: number }>
      return rows.map((r): SourceMapRelease => ({ release: r.release, files: r.files, maps: r.maps, bytes: r.bytes, uploadedAt: r.uploaded_at }))
    },
    async readMap(appId, release, name) {
      const row = sql.readMap.get(appId, release, name) as (FileRow & { content: Buffer | null }) | undefined
      if (!row?.content) return undefined
      return { file: toFile(row), content: await gunzipAsync(row.content) }
    },
    async appBytes(appId) {
      return sql.appBytes.get(appId) as number
    },
    async deleteRelease(appId, release) {
      return sql.deleteRelease.run(appId, release).changes
    },
    async deleteStaleReleases(appId, before) {
      return sql.deleteStale.run({ appId, before }).changes
    },
    async purgeApp(appId) {
      return sql.purge.run(appId).changes
    },
  }
}

import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import type { PutSourceFileResult, SourceFileKind, SourceMapRelease, SourceMapStore } from '../SourceMapStore.js'
import { FILE_COLUMNS, toFile, toStoredFile, type FileRow } from '../sourceMapRows.js'
import type { PgDatabase, PgQueryable } from './openPostgresPool.js'

// On the libuv thread pool, as in sqlite/createSqliteSourceMapStore.ts: the event loop does not wait out a
// multi-megabyte map's (de)compression.
const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)

/**
 * The first key of the two-key advisory lock that serializes an app's uploads (the second is the app id). The
 * two-key form has its own key space, apart from the one-key locks of migrations and partitions.
 */
const SOURCE_MAPS_LOCK = 0x736d_6170

/** store.sourceMaps on PostgreSQL: the same contract as sqlite/createSqliteSourceMapStore.ts. */
export function createPostgresSourceMapStore(db: PgDatabase): SourceMapStore {
  /**
   * SQLite checks the quota under its one write lock (BEGIN IMMEDIATE). Here uploads to one app from several
   * nodes run at once, and row locks cannot cover rows not inserted yet, so an advisory lock per app, held to
   * the commit, makes read-totals-then-write one step. The id is folded into the int4 key; two apps sharing a
   * key only wait for each other.
   */
  const lockApp = (tx: PgQueryable, appId: number) => tx.query('SELECT pg_advisory_xact_lock($1, ($2::bigint % 2147483648)::int)', [SOURCE_MAPS_LOCK, appId])

  return {
    async put(file, quota) {
      const keep = file.kind === 'map'
      const content = keep ? await gzipAsync(file.content) : null
      const stored = toStoredFile(file, content)
      return db.transaction(async (tx): Promise<PutSourceFileResult> => {
        await lockApp(tx, file.appId)
        const [existing] = await tx.query<{ kind: SourceFileKind; size: number }>('SELECT kind, size FROM source_maps WHERE app_id = $1 AND release = $2 AND name = $3', [
          file.appId,
          file.release,
          file.name,
        ])
        const oldBytes = existing?.kind === 'map' ? existing.size : 0
        const newBytes = keep ? stored.size : 0
        const [release] = await tx.query<{ files: number; bytes: number }>(
          "SELECT count(*) AS files, coalesce(sum(CASE WHEN kind = 'map' THEN size END), 0) AS bytes FROM source_maps WHERE app_id = $1 AND release = $2",
          [file.appId, file.release],
        )
        const files = release!.files + (existing ? 0 : 1)
        if (!existing && files > quota.releaseFiles) return { ok: false, exceeded: 'release_files', used: release!.files, limit: quota.releaseFiles }
        // Only growth is refused: a smaller replacement is always welcome, even above a lowered limit.
        if (newBytes > oldBytes) {
          if (release!.bytes - oldBytes + newBytes > quota.releaseBytes) return { ok: false, exceeded: 'release_bytes', used: release!.bytes, limit: quota.releaseBytes }
          const app = await appBytes(tx, file.appId)
          if (app - oldBytes + newBytes > quota.appBytes) return { ok: false, exceeded: 'app_bytes', used: app, limit: quota.appBytes }
        }
        await tx.query(
          `INSERT INTO source_maps (${FILE_COLUMNS}, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (app_id, release, name) DO UPDATE SET kind = excluded.kind, size = excluded.size,
             stored_size = excluded.stored_size, sha256 = excluded.sha256, source_mapping_url = excluded.source_mapping_url,
             uploaded_at = excluded.uploaded_at, content = excluded.content`,
          [stored.appId, stored.release, stored.name, stored.kind, stored.size, stored.storedSize, stored.sha256, stored.sourceMappingUrl, stored.uploadedAt, content],
        )
        return { ok: true, file: stored, replaced: existing !== undefined }
      })
    },
    async listFiles(appId, release) {
      // COLLATE "C": names sort by code point, as SQLite's BINARY collation does ('A.js.map' before 'a.js.map').
      const rows = await db.query<FileRow>(`SELECT ${FILE_COLUMNS} FROM source_maps WHERE app_id = $1 AND release = $2 ORDER BY name COLLATE "C"`, [appId, release])
      return rows.map(toFile)
    },
    async listReleases(appId) {
      const rows = await db.query<{ release: string; files: number; maps: number; bytes: number; uploaded_at: number }>(
        `SELECT release, count(*) AS files, count(CASE WHEN kind = 'map' THEN 1 END) AS maps,
           coalesce(sum(CASE WHEN kind = 'map' THEN size END), 0) AS bytes, max(uploaded_at) AS uploaded_at
         FROM source_maps WHERE app_id = $1 GROUP BY release ORDER BY uploaded_at DESC, release COLLATE "C"`,
        [appId],
      )
      return rows.map((r): SourceMapRelease => ({ release: r.release, files: r.files, maps: r.maps, bytes: r.bytes, uploadedAt: r.uploaded_at }))
    },
    async readMap(appId, release, name) {
      const [row] = await db.query<FileRow & { content: Buffer | null }>(
        `SELECT ${FILE_COLUMNS}, content FROM source_maps WHERE app_id = $1 AND release = $2 AND name = $3 AND kind = 'map'`,
        [appId, release, name],
      )
      if (!row?.content) return undefined
      return { file: toFile(row), content: await gunzipAsync(row.content) }
    },
    async appBytes(appId) {
      return appBytes(db, appId)
    },
    async deleteRelease(appId, release) {
      return (await db.query('DELETE FROM source_maps WHERE app_id = $1 AND release = $2 RETURNING 1', [appId, release])).length
    },
    async deleteStaleReleases(appId, before) {
      return db.transaction(async (tx) => {
        // Under the upload lock: a re-upload into a release being found stale either lands before (and the
        // release is no longer stale) or after (and is kept), never deleted with the old files.
        await lockApp(tx, appId)
        const deleted = await tx.query(
          `DELETE FROM source_maps WHERE app_id = $1 AND release IN (
             SELECT release FROM source_maps WHERE app_id = $1 GROUP BY release HAVING max(uploaded_at) < $2
             EXCEPT SELECT release FROM releases WHERE app_id = $1 AND last_seen >= $2)
           RETURNING 1`,
          [appId, before],
        )
        return deleted.length
      })
    },
    async purgeApp(appId) {
      return (await db.query('DELETE FROM source_maps WHERE app_id = $1 RETURNING 1', [appId])).length
    },
  }
}

async function appBytes(db: PgQueryable, appId: number): Promise<number> {
  const [row] = await db.query<{ bytes: number }>("SELECT coalesce(sum(size), 0) AS bytes FROM source_maps WHERE app_id = $1 AND kind = 'map'", [appId])
  return row!.bytes
}

import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { promisify } from 'node:util'
import { assertValidAuditEntry } from '../../audit/auditEntry.js'
import { NewerSchemaError } from '../sqlite/createSqliteStore.js'
import type { DailyCount, Store } from '../Store.js'
import { toApp, toAuditEntry, toToken, type AppRow, type AuditRow, type TokenRow } from '../storeRows.js'
import { createEventPartitions } from './eventPartitions.js'
import { createPostgresAlertStore } from './createPostgresAlertStore.js'
import { createPostgresAnalyticsStore } from './createPostgresAnalyticsStore.js'
import { createPostgresEventStore } from './createPostgresEventStore.js'
import { createPostgresExploreStore } from './createPostgresExploreStore.js'
import { createPostgresIssueStore } from './createPostgresIssueStore.js'
import { createPostgresSecretKeyStore } from './createPostgresSecretKeyStore.js'
import { createPostgresSourceMapStore } from './createPostgresSourceMapStore.js'
import { createPostgresUserStore } from './createPostgresUserStore.js'
import { POSTGRES_MIGRATIONS } from './migrations.js'
import { openPostgresPool, type PgDatabase } from './openPostgresPool.js'

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database (TACIT_DATABASE_URL). */
  url: string
  /** Connections this node keeps at most (default 10). */
  poolSize?: number
}

/** Serializes migrations when several nodes start at once (an arbitrary, fixed advisory lock key). */
const MIGRATION_LOCK = 0x7461_6373
/** The first half of the two-key advisory locks of runExclusive's jobs (the second is the job name's hash). */
const JOB_LOCK_SPACE = 0x7461_636a

/**
 * The Store on PostgreSQL (issue 7): the same contract as SQLite's (test/store/storeContract.ts), for several
 * Tacit nodes sharing one database. Opening connects, checks the schema and migrates it.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const db = openPostgresPool({ url: options.url, max: options.poolSize })
  try {
    await migrate(db)
  } catch (error) {
    await db.close()
    throw error
  }
  const partitions = createEventPartitions(db)
  // VACUUM makes the space of deleted rows reusable; it does not overwrite their bytes, nor the WAL's copies
  // (docs/SCALING.md says what an operator runs to force that). It cannot run inside a transaction, and skips
  // what another session holds locked rather than wait for it.
  const vacuum = async () => void (await db.query('VACUUM (SKIP_LOCKED)'))
  const sourceMaps = createPostgresSourceMapStore(db)
  const alerts = createPostgresAlertStore(db)
  const analytics = createPostgresAnalyticsStore(db)
  const explorer = createPostgresExploreStore(db)
  // A purge removes what the other parts keep of the app too.
  const events = createPostgresEventStore(db, partitions, [sourceMaps, alerts, analytics, explorer])
  let closing: Promise<void> | undefined

  return {
    secretKeys: createPostgresSecretKeyStore(db),
    sourceMaps,
    alerts,
    users: createPostgresUserStore(db),
    analytics,
    explorer,
    ...events,
    ...createPostgresIssueStore(db),
    async purgeApp(appId) {
      const deleted = await events.purgeApp(appId)
      // As after retention: the purged rows' space is reused first. Their bytes stay until overwritten
      // (docs/SCALING.md, "Deletion on PostgreSQL").
      await vacuum()
      return deleted
    },

    async createApp({ name, createdAt, settings }) {
      const [row] = await db.query<AppRow>('INSERT INTO apps (name, created_at, settings) VALUES ($1, $2, $3) RETURNING *', [name, createdAt, JSON.stringify(settings)])
      return toApp(row!)
    },
    async listApps() {
      return (await db.query<AppRow>('SELECT * FROM apps ORDER BY id')).map(toApp)
    },
    async getApp(id) {
      const [row] = await db.query<AppRow>('SELECT * FROM apps WHERE id = $1', [id])
      return row && toApp(row)
    },
    async findAppByName(name) {
      const [row] = await db.query<AppRow>('SELECT * FROM apps WHERE lower(name) = lower($1)', [name])
      return row && toApp(row)
    },
    async updateAppSettings(appId, settings) {
      await db.query('UPDATE apps SET settings = $1 WHERE id = $2', [JSON.stringify(settings), appId])
    },

    async createToken(token) {
      await db.query('INSERT INTO client_tokens (token, app_id, created_at, revoked_at, last_used_at) VALUES ($1, $2, $3, $4, $5)', [
        token.token,
        token.appId,
        token.createdAt,
        token.revokedAt,
        token.lastUsedAt,
      ])
    },
    async listTokens(appId) {
      return (await db.query<TokenRow>('SELECT * FROM client_tokens WHERE app_id = $1 ORDER BY created_at, token', [appId])).map(toToken)
    },
    async findToken(token) {
      const [row] = await db.query<TokenRow>('SELECT * FROM client_tokens WHERE token = $1', [token])
      return row && toToken(row)
    },
    async revokeToken(token, at) {
      const rows = await db.query('UPDATE client_tokens SET revoked_at = $1 WHERE token = $2 AND revoked_at IS NULL RETURNING token', [at, token])
      return rows.length > 0
    },
    async touchToken(token, at) {
      await db.query('UPDATE client_tokens SET last_used_at = $1 WHERE token = $2 AND (last_used_at IS NULL OR last_used_at < $1)', [at, token])
    },

    async deleteDailyCountsBefore(appId, day) {
      return (await db.query('DELETE FROM daily_counts WHERE app_id = $1 AND day < $2 RETURNING 1', [appId, day])).length
    },
    async readDailyCounts(appId, sinceDay) {
      // COLLATE "C": days and keys sort by code point, as SQLite's BINARY collation does.
      return db.query<DailyCount>(
        'SELECT day, kind, key, count FROM daily_counts WHERE app_id = $1 AND day >= $2 ORDER BY day COLLATE "C", kind COLLATE "C", key COLLATE "C"',
        [appId, sinceDay],
      )
    },

    async appendAudit(entry) {
      assertValidAuditEntry(entry)
      const [row] = await db.query<AuditRow>('INSERT INTO audit_log (app_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5) RETURNING *', [
        entry.appId,
        entry.at,
        entry.actor,
        entry.action,
        JSON.stringify(entry.detail),
      ])
      return toAuditEntry(row!)
    },
    async readAudit(query = {}) {
      const conditions: string[] = []
      const values: unknown[] = []
      if (query.appId !== undefined) conditions.push(`app_id = $${values.push(query.appId)}`)
      if (query.since !== undefined) conditions.push(`at >= $${values.push(query.since)}`)
      const where = conditions.length > 0 ? conditions.join(' AND ') : 'true'
      const limit = query.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(query.limit))}`
      return (await db.query<AuditRow>(`SELECT * FROM audit_log WHERE ${where} ORDER BY at DESC, id DESC${limit}`, values)).map(toAuditEntry)
    },
    async deleteAuditBefore(at) {
      return (await db.query('DELETE FROM audit_log WHERE at < $1 RETURNING 1', [at])).length
    },

    compact: vacuum,
    async runExclusive(job, work) {
      // A session-level advisory lock, held on one pooled connection for the job's duration: if the node dies,
      // PostgreSQL ends its session and the lock goes with it.
      const connection = await db.connect()
      let broken: Error | undefined
      try {
        const [row] = await connection.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [JOB_LOCK_SPACE, job])
        if (!row?.locked) return undefined
        try {
          return await work()
        } finally {
          try {
            await connection.query('SELECT pg_advisory_unlock($1, hashtext($2))', [JOB_LOCK_SPACE, job])
          } catch (error) {
            // The connection was lost, and the lock with its session: closing it is all that is left to do.
            broken = error instanceof Error ? error : new Error(String(error))
          }
        }
      } finally {
        connection.release(broken)
      }
    },
    async isWritable() {
      try {
        // A write that is rolled back: it proves the connection works and the server takes writes (not a
        // read-only replica or a full disk's refusal).
        await db.transaction(async (tx) => {
          await tx.query('INSERT INTO audit_log (app_id, at, actor, action, detail) VALUES (NULL, 0, $1, $1, $1)', ['probe'])
          throw new RollbackProbe()
        })
        return true
      } catch (error) {
        return error instanceof RollbackProbe
      }
    },
    async backup(destination, onProgress) {
      // pg_dump takes a consistent snapshot without blocking writers; its custom format is read by pg_restore.
      onProgress?.(0)
      try {
        await promisify(execFile)(pgDumpBinary(), ['--format=custom', '--no-owner', `--file=${destination}`, `--dbname=${options.url}`])
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('pg_dump is not installed here: install PostgreSQL\'s client tools (apt-get install postgresql-client).')
        // pg_dump's own message (stderr), without the command line, which holds the database URL.
        throw new Error(`pg_dump failed: ${String((error as { stderr?: string }).stderr ?? '').trim().slice(0, 500)}`)
      }
      onProgress?.(1)
    },
    close() {
      closing ??= db.close()
      return closing
    },
  }
}

class RollbackProbe extends Error {}

/** Debian keeps each major's tools under /usr/lib/postgresql/<major>/bin: the newest dumps any older server. */
export function postgresTool(name: 'pg_dump' | 'pg_restore'): string {
  const root = '/usr/lib/postgresql'
  const majors = existsSync(root) ? readdirSync(root).filter((entry) => /^\d+$/.test(entry)).sort((a, b) => Number(b) - Number(a)) : []
  for (const major of majors) {
    const path = `${root}/${major}/bin/${name}`
    if (existsSync(path)) return path
  }
  return name
}
const pgDumpBinary = () => postgresTool('pg_dump')

async function migrate(db: PgDatabase): Promise<void> {
  const latest = POSTGRES_MIGRATIONS.at(-1)?.version ?? 0
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await tx.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)')
    const [row] = await tx.query<{ version: number }>('SELECT version FROM schema_version')
    const current = row?.version ?? 0
    if (current > latest) {
      throw new NewerSchemaError(`The database was written by a newer Tacit (schema ${current}, this one knows ${latest}): upgrade Tacit.`)
    }
    for (const migration of POSTGRES_MIGRATIONS) {
      if (migration.version <= current) continue
      await tx.query(migration.sql)
    }
    if (current < latest) {
      await tx.query('DELETE FROM schema_version')
      await tx.query('INSERT INTO schema_version (version) VALUES ($1)', [latest])
    }
  })
}

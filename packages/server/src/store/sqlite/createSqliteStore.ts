import type Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { assertValidAuditEntry, type AuditQuery } from '../../audit/auditEntry.js'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import type { IssueKind, IssueStatus } from '../issues/issue.js'
import {
  groupIssueTags,
  issueQuery,
  toIssueEnvironment,
  toIssueRelease,
  toReleaseHealth,
  toReleaseSummary,
  type IssueEnvironmentRow,
  type IssueReleaseRow,
  type ReleaseHealthRow,
  type ReleaseSummaryRow,
} from '../issues/issueQuery.js'
import type { DailyCount, EventQuery, SessionQuery, Store } from '../Store.js'
import { MIGRATIONS } from './migrations.js'
import { pagePath } from '../../analytics/eventDimensions.js'
import { createEventWriter } from './createEventWriter.js'
import { createSqliteAlertStore } from './createSqliteAlertStore.js'
import { createSqliteAnalyticsStore } from './createSqliteAnalyticsStore.js'
import { createSqliteExploreStore } from './createSqliteExploreStore.js'
import { createSqliteUserStore } from './createSqliteUserStore.js'
import { createSqliteSecretKeyStore } from './createSqliteSecretKeyStore.js'
import { createSqliteSourceMapStore } from './createSqliteSourceMapStore.js'
import { openSqliteConnection, type ConnectionOptions } from './openSqliteConnection.js'
import { toSession, type SessionRow } from '../sessionRow.js'
import { assertIssueKind, ISSUE_STATUS_SET, toApp, toAuditEntry, toIssue, toToken, type AppRow, type AuditRow, type IssueRow, type TokenRow } from '../storeRows.js'
import { startCheckpointer } from './startCheckpointer.js'

export interface SqliteStoreOptions extends ConnectionOptions {
  path: string
  /** The long-running server checkpoints from a worker thread; short CLI commands leave it to SQLite. */
  backgroundCheckpoints?: boolean
}

/** Short transactions for bulk deletes, so a concurrent ingest never waits long for the write lock. */
const DELETE_CHUNK = 5000
const PAGE_SIZE = 1000

export class NewerSchemaError extends Error {}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  mkdirSync(dirname(options.path), { recursive: true })
  const db = openSqliteConnection(options.path, options)
  try {
    migrate(db, options.path)
  } catch (error) {
    // The caller gets no store to close, so the connection would stay open for the life of the process.
    db.close()
    throw error
  }
  const checkpointer = options.backgroundCheckpoints
    ? (db.pragma('wal_autocheckpoint = 0'), startCheckpointer({ path: options.path, intervalMs: 250, restartFrames: 4096 }))
    : undefined
  const writeBatches = createEventWriter(db)
  const secretKeys = createSqliteSecretKeyStore(db)
  const sourceMaps = createSqliteSourceMapStore(db)
  const alerts = createSqliteAlertStore(db)
  const users = createSqliteUserStore(db)
  const analytics = createSqliteAnalyticsStore(db)
  const explorer = createSqliteExploreStore(db)

  let closing: Promise<void> | undefined

  const sql = {
    insertApp: db.prepare<[string, number, string]>('INSERT INTO apps (name, created_at, settings) VALUES (?, ?, ?) RETURNING *'),
    listApps: db.prepare('SELECT * FROM apps ORDER BY id'),
    getApp: db.prepare<[number]>('SELECT * FROM apps WHERE id = ?'),
    findAppByName: db.prepare<[string]>('SELECT * FROM apps WHERE name = ?'),
    updateSettings: db.prepare<[string, number]>('UPDATE apps SET settings = ? WHERE id = ?'),
    insertToken: db.prepare<[string, number, number, number | null, number | null]>(
      'INSERT INTO client_tokens (token, app_id, created_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?)',
    ),
    listTokens: db.prepare<[number]>('SELECT * FROM client_tokens WHERE app_id = ? ORDER BY created_at, token'),
    findToken: db.prepare<[string]>('SELECT * FROM client_tokens WHERE token = ?'),
    revokeToken: db.prepare<[number, string]>('UPDATE client_tokens SET revoked_at = ? WHERE token = ? AND revoked_at IS NULL'),
    touchToken: db.prepare<[number, string, number]>(
      'UPDATE client_tokens SET last_used_at = ? WHERE token = ? AND (last_used_at IS NULL OR last_used_at < ?)',
    ),
    purgeChunk: db.prepare<[number, number]>('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE app_id = ? LIMIT ?)'),
    purgeCounts: db.prepare<[number]>('DELETE FROM daily_counts WHERE app_id = ?'),
    purgeSessionsChunk: db.prepare<[number, number]>(
      'DELETE FROM sessions WHERE (app_id, session_id) IN (SELECT app_id, session_id FROM sessions WHERE app_id = ? LIMIT ?)',
    ),
    expiredSessions: db.prepare<[number, number, number]>('SELECT session_id FROM sessions WHERE app_id = ? AND received_at < ? LIMIT ?').pluck(),
    deleteSession: db.prepare<[number, string]>('DELETE FROM sessions WHERE app_id = ? AND session_id = ?'),
    deleteSessionIssues: db.prepare<[number, string]>('DELETE FROM issue_sessions WHERE app_id = ? AND session_id = ?'),
    purgeIssueSessionsChunk: db.prepare<[number, number]>(
      'DELETE FROM issue_sessions WHERE (app_id, issue_id, session_id) IN (SELECT app_id, issue_id, session_id FROM issue_sessions WHERE app_id = ? LIMIT ?)',
    ),
    purgeIssueReleasesChunk: db.prepare<[number, number]>(
      'DELETE FROM issue_releases WHERE (app_id, issue_id, release) IN (SELECT app_id, issue_id, release FROM issue_releases WHERE app_id = ? LIMIT ?)',
    ),
    purgeIssueEnvironmentsChunk: db.prepare<[number, number]>(
      'DELETE FROM issue_environments WHERE (app_id, issue_id, environment) IN (SELECT app_id, issue_id, environment FROM issue_environments WHERE app_id = ? LIMIT ?)',
    ),
    purgeIssueDaysChunk: db.prepare<[number, number]>(
      'DELETE FROM issue_days WHERE (app_id, issue_id, day) IN (SELECT app_id, issue_id, day FROM issue_days WHERE app_id = ? LIMIT ?)',
    ),
    purgeIssueTagsChunk: db.prepare<[number, number]>(
      'DELETE FROM issue_tags WHERE (app_id, issue_id, tag, value) IN (SELECT app_id, issue_id, tag, value FROM issue_tags WHERE app_id = ? LIMIT ?)',
    ),
    purgeIssuesChunk: db.prepare<[number, number]>('DELETE FROM issues WHERE id IN (SELECT id FROM issues WHERE app_id = ? LIMIT ?)'),
    purgeReleases: db.prepare<[number]>('DELETE FROM releases WHERE app_id = ?'),
    getIssue: db.prepare<[number]>('SELECT * FROM issues WHERE id = ?'),
    setIssueStatus: db.prepare<{ id: number; status: IssueStatus; at: number }>(
      `UPDATE issues SET status = @status,
         resolved_at = CASE WHEN @status = 'resolved' THEN @at END,
         -- Kept as history when resolved or ignored; a reopening by hand is not a regression.
         regressed_at = CASE WHEN @status = 'open' THEN NULL ELSE regressed_at END
       WHERE id = @id`,
    ),
    readIssueEvents: db.prepare<[number, number, number]>(
      'SELECT data FROM events WHERE app_id = ? AND issue_id = ? ORDER BY id DESC LIMIT ?',
    ).pluck(),
    // By app and issue, the primary key's order: the app id comes from the issue.
    issueReleases: db.prepare<{ id: number }>(
      `SELECT release, first_seen, last_seen, count FROM issue_releases
       WHERE app_id = (SELECT app_id FROM issues WHERE id = @id) AND issue_id = @id ORDER BY first_seen, release`,
    ),
    issueEnvironments: db.prepare<{ id: number }>(
      `SELECT environment, first_seen, last_seen, count FROM issue_environments
       WHERE app_id = (SELECT app_id FROM issues WHERE id = @id) AND issue_id = @id ORDER BY count DESC, environment`,
    ),
    listReleases: db.prepare<{ appId: number }>(
      `SELECT r.release, r.first_seen, r.last_seen,
         coalesce(e.errors, 0) AS errors, coalesce(e.issues, 0) AS issues,
         (SELECT count(*) FROM issues WHERE app_id = @appId AND kind = 'error' AND first_release = r.release) AS new_issues
       FROM releases r
       LEFT JOIN (
         SELECT ir.release, sum(ir.count) AS errors, count(*) AS issues FROM issue_releases ir
         JOIN issues i ON i.id = ir.issue_id AND i.kind = 'error'
         WHERE ir.app_id = @appId GROUP BY ir.release
       ) e ON e.release = r.release
       WHERE r.app_id = @appId ORDER BY r.first_seen DESC, r.release`,
    ),
    issuesToTrim: db.prepare<[number, IssueKind, number]>('SELECT id FROM issues WHERE app_id = ? AND kind = ? AND count > ? ORDER BY id').pluck(),
    // Keeps the issue's first stored event (lowest id) and its `keep` newest; the `OFFSET` row is the oldest of
    // those, so nothing is deleted while an issue has no more than `keep` + 1 events.
    trimIssue: db.prepare<{ appId: number; issueId: number; offset: number; limit: number }>(
      `DELETE FROM events WHERE id IN (
         SELECT id FROM events WHERE app_id = @appId AND issue_id = @issueId
           AND id > (SELECT min(id) FROM events WHERE app_id = @appId AND issue_id = @issueId)
           AND id < (SELECT id FROM events WHERE app_id = @appId AND issue_id = @issueId ORDER BY id DESC LIMIT 1 OFFSET @offset)
         ORDER BY id LIMIT @limit)`,
    ),
    // No index on received_at: an app has few issues next to its events, and one more index would cost every
    // ingest commit that touches an issue a page write.
    expiredIssues: db.prepare<[number, IssueKind, number, number]>('SELECT id FROM issues WHERE app_id = ? AND kind = ? AND received_at < ? LIMIT ?').pluck(),
    deleteIssueSessions: db.prepare<[number, number]>('DELETE FROM issue_sessions WHERE app_id = ? AND issue_id = ?'),
    deleteIssueReleases: db.prepare<[number, number]>('DELETE FROM issue_releases WHERE app_id = ? AND issue_id = ?'),
    deleteIssueEnvironments: db.prepare<[number, number]>('DELETE FROM issue_environments WHERE app_id = ? AND issue_id = ?'),
    deleteIssueDays: db.prepare<[number, number]>('DELETE FROM issue_days WHERE app_id = ? AND issue_id = ?'),
    deleteIssueTags: db.prepare<[number, number]>('DELETE FROM issue_tags WHERE app_id = ? AND issue_id = ?'),
    issueDays: db.prepare<{ id: number; since: number }>(
      'SELECT day, count FROM issue_days WHERE app_id = (SELECT app_id FROM issues WHERE id = @id) AND issue_id = @id AND day >= @since ORDER BY day',
    ),
    issueTags: db.prepare<{ id: number }>(
      'SELECT tag, value, count FROM issue_tags WHERE app_id = (SELECT app_id FROM issues WHERE id = @id) AND issue_id = @id ORDER BY tag, count DESC, value',
    ),
    // Its events are normally gone already (same retention, counted the same way); any left stop pointing at it.
    unlinkIssueEvents: db.prepare<[number, number]>('UPDATE events SET issue_id = NULL WHERE app_id = ? AND issue_id = ?'),
    deleteIssue: db.prepare<[number]>('DELETE FROM issues WHERE id = ?'),
    expireReleases: db.prepare<[number, number]>('DELETE FROM releases WHERE app_id = ? AND last_seen < ?'),
    expireChunk: db.prepare<[number, string, number, number]>(
      'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE app_id = ? AND type = ? AND received_at < ? LIMIT ?)',
    ),
    expireCounts: db.prepare<[number, string]>('DELETE FROM daily_counts WHERE app_id = ? AND day < ?'),
    readCounts: db.prepare<[number, string]>(
      'SELECT day, kind, key, count FROM daily_counts WHERE app_id = ? AND day >= ? ORDER BY day, kind, key',
    ),
    insertAudit: db.prepare<[number | null, number, string, string, string]>(
      'INSERT INTO audit_log (app_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?) RETURNING *',
    ),
    deleteAuditBefore: db.prepare<[number]>('DELETE FROM audit_log WHERE at < ?'),
  }

  const expireSessions = db.transaction((appId: number, receivedBefore: number, limit: number): number => {
    const ids = sql.expiredSessions.all(appId, receivedBefore, limit) as string[]
    // An issue's session rows go with the summary: they are per-session data (DESIGN.md P7).
    for (const id of ids) {
      sql.deleteSessionIssues.run(appId, id)
      sql.deleteSession.run(appId, id)
    }
    return ids.length
  })
  const expireIssues = db.transaction((appId: number, kind: IssueKind, receivedBefore: number, limit: number): number => {
    const ids = sql.expiredIssues.all(appId, kind, receivedBefore, limit) as number[]
    for (const id of ids) {
      sql.deleteIssueSessions.run(appId, id)
      sql.deleteIssueReleases.run(appId, id)
      sql.deleteIssueEnvironments.run(appId, id)
      sql.deleteIssueDays.run(appId, id)
      sql.deleteIssueTags.run(appId, id)
      sql.unlinkIssueEvents.run(appId, id)
      sql.deleteIssue.run(id)
    }
    return ids.length
  })

  function eventFilter(query: EventQuery): Filter {
    const types = query.types?.length ? query.types : undefined
    return whereAll([
      ['app_id = ?', query.appId],
      [`type IN (${types?.map(() => '?').join(', ')})`, types],
      ['ts >= ?', query.since],
      ['ts < ?', query.until],
    ])
  }

  function sessionFilter(query: SessionQuery): Filter {
    return whereAll([
      ['app_id = ?', query.appId],
      ['start_ts >= ?', query.since],
      ['start_ts < ?', query.until],
    ])
  }

  function auditFilter(query: AuditQuery): Filter {
    return whereAll([
      ['app_id = ?', query.appId],
      ['at >= ?', query.since],
    ])
  }

  return {
    secretKeys,
    sourceMaps,
    alerts,
    users,
    analytics,
    explorer,

    async createApp({ name, createdAt, settings }) {
      return toApp(sql.insertApp.get(name, createdAt, JSON.stringify(settings)) as AppRow)
    },
    async listApps() {
      return (sql.listApps.all() as AppRow[]).map(toApp)
    },
    async getApp(id) {
      const row = sql.getApp.get(id) as AppRow | undefined
      return row && toApp(row)
    },
    async findAppByName(name) {
      const row = sql.findAppByName.get(name) as AppRow | undefined
      return row && toApp(row)
    },
    async updateAppSettings(appId, settings) {
      sql.updateSettings.run(JSON.stringify(settings), appId)
    },

    async createToken(token) {
      sql.insertToken.run(token.token, token.appId, token.createdAt, token.revokedAt, token.lastUsedAt)
    },
    async listTokens(appId) {
      return (sql.listTokens.all(appId) as TokenRow[]).map(toToken)
    },
    async findToken(token) {
      const row = sql.findToken.get(token) as TokenRow | undefined
      return row && toToken(row)
    },
    async revokeToken(token, at) {
      return sql.revokeToken.run(at, token).changes > 0
    },
    async touchToken(token, at) {
      sql.touchToken.run(at, token, at)
    },

    async writeBatches(batches) {
      if (batches.length === 0) return []
      return writeBatches(batches)
    },
    async *readEvents(query) {
      // Keyset pages rather than one open cursor, so other statements can run on this connection between pages.
      const { where, params } = eventFilter(query)
      const page = db.prepare(
        // A row-value comparison lets SQLite seek in the (app_id, ts, rowid) index instead of rescanning earlier pages.
        `SELECT id, ts, data FROM events WHERE ${where} AND (ts, id) > (?, ?) ORDER BY ts, id LIMIT ${PAGE_SIZE}`,
      )
      let after = { ts: -Infinity, id: 0 }
      for (;;) {
        const rows = page.all(...params, after.ts, after.id) as Array<{ id: number; ts: number; data: string }>
        for (const row of rows) yield JSON.parse(row.data) as StoredEvent
        const last = rows.at(-1)
        if (!last || rows.length < PAGE_SIZE) return
        after = last
      }
    },
    async *readSessions(query) {
      const { where, params } = sessionFilter(query)
      const page = db.prepare(
        `SELECT * FROM sessions WHERE ${where} AND (start_ts, session_id) > (?, ?) ORDER BY start_ts, session_id LIMIT ${PAGE_SIZE}`,
      )
      let after: { start_ts: number; session_id: string } = { start_ts: -Infinity, session_id: '' }
      for (;;) {
        const rows = page.all(...params, after.start_ts, after.session_id) as SessionRow[]
        for (const row of rows) yield toSession(row)
        const last = rows.at(-1)
        if (!last || rows.length < PAGE_SIZE) return
        after = last
      }
    },
    async countEvents(query) {
      const { where, params } = eventFilter(query)
      return (db.prepare(`SELECT count(*) AS n FROM events WHERE ${where}`).get(...params) as { n: number }).n
    },

    async purgeApp(appId) {
      let total = 0
      for (;;) {
        const deleted = sql.purgeChunk.run(appId, DELETE_CHUNK).changes
        total += deleted
        if (deleted < DELETE_CHUNK) break
        await yieldToEventLoop()
      }
      while (sql.purgeSessionsChunk.run(appId, DELETE_CHUNK).changes === DELETE_CHUNK) await yieldToEventLoop()
      for (const chunk of [sql.purgeIssueSessionsChunk, sql.purgeIssueReleasesChunk, sql.purgeIssueEnvironmentsChunk, sql.purgeIssueDaysChunk, sql.purgeIssueTagsChunk, sql.purgeIssuesChunk]) {
        while (chunk.run(appId, DELETE_CHUNK).changes === DELETE_CHUNK) await yieldToEventLoop()
      }
      sql.purgeReleases.run(appId)
      sql.purgeCounts.run(appId)
      await sourceMaps.purgeApp(appId)
      await alerts.purgeApp(appId)
      await analytics.purgeApp(appId)
      await explorer.purgeApp(appId)
      // secure_delete zeroes a deleted row where it lies, but not the older copies SQLite leaves in a page's
      // free space when it moves rows around (page rebalancing after other rows grew or shrank): a purge must
      // leave no trace, so the file is rebuilt. Writers wait meanwhile (a purge is a rare, explicit act).
      db.exec('VACUUM')
      checkpointTruncate()
      return total
    },
    async deleteExpired({ appId, type, receivedBefore, limit }) {
      if (type === 'session') return expireSessions.immediate(appId, receivedBefore, limit)
      return sql.expireChunk.run(appId, type, receivedBefore, limit).changes
    },
    async dropEventsBefore() {
      // One file, no partitions: per-app deleteExpired removes expired events row by row.
      return []
    },
    async deleteDailyCountsBefore(appId, day) {
      return sql.expireCounts.run(appId, day).changes
    },
    async readDailyCounts(appId, sinceDay) {
      return sql.readCounts.all(appId, sinceDay) as DailyCount[]
    },

    async listIssues(query) {
      const params: unknown[] = []
      const { where, order, limit, offset } = issueQuery(query, {
        param: (value) => (params.push(value), '?'),
        // instr, not LIKE: the text is matched as it is, with no wildcard characters to escape.
        containsIgnoringCase: (haystack, needle) => `instr(lower(${haystack}), lower(${needle})) > 0`,
      })
      const rows = db.prepare(`SELECT * FROM issues WHERE ${where} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...params, limit ?? -1, offset) as IssueRow[]
      return rows.map(toIssue)
    },
    async getIssue(appId, id) {
      const row = sql.getIssue.get(id) as IssueRow | undefined
      return row && (appId === undefined || row.app_id === appId) ? toIssue(row) : undefined
    },
    async setIssueStatus(id, status, at) {
      if (!ISSUE_STATUS_SET.has(status)) throw new RangeError(`Unknown issue status: ${String(status)}`)
      return sql.setIssueStatus.run({ id, status, at }).changes > 0
    },
    async readIssueEvents({ appId, issueId, limit }) {
      const rows = sql.readIssueEvents.all(appId, issueId, Math.max(0, Math.floor(limit))) as string[]
      return rows.map((data) => JSON.parse(data) as StoredEvent)
    },
    async issueReleases(issueId) {
      return (sql.issueReleases.all({ id: issueId }) as IssueReleaseRow[]).map(toIssueRelease)
    },
    async issueEnvironments(issueId) {
      return (sql.issueEnvironments.all({ id: issueId }) as IssueEnvironmentRow[]).map(toIssueEnvironment)
    },
    async issueBreakdown(issueId, { since, tagValues }) {
      const tags = groupIssueTags(sql.issueTags.all({ id: issueId }) as Array<{ tag: string; value: string; count: number }>, tagValues)
      return { days: sql.issueDays.all({ id: issueId, since }) as Array<{ day: number; count: number }>, tags }
    },
    async listReleases(appId) {
      return (sql.listReleases.all({ appId }) as ReleaseSummaryRow[]).map(toReleaseSummary)
    },
    async crashFreeSessions(query) {
      const { where, params } = sessionFilter(query)
      const rows = db
        .prepare(`SELECT release, count(*) AS sessions, sum(has_error) AS crashed FROM sessions WHERE ${where} GROUP BY release ORDER BY sessions DESC, release`)
        .all(...params) as ReleaseHealthRow[]
      return rows.map(toReleaseHealth)
    },
    async trimIssueEvents({ appId, kind, keepNewest, limit }) {
      assertIssueKind(kind)
      const keep = Math.max(1, Math.floor(keepNewest))
      let deleted = 0
      for (const issueId of sql.issuesToTrim.all(appId, kind, keep + 1) as number[]) {
        if (deleted >= limit) break
        deleted += sql.trimIssue.run({ appId, issueId, offset: keep - 1, limit: limit - deleted }).changes
      }
      return deleted
    },
    async deleteExpiredIssues({ appId, kind, receivedBefore, limit }) {
      assertIssueKind(kind)
      return expireIssues.immediate(appId, kind, receivedBefore, limit)
    },
    async deleteReleasesBefore(appId, receivedBefore) {
      return sql.expireReleases.run(appId, receivedBefore).changes
    },

    async appendAudit(entry) {
      assertValidAuditEntry(entry)
      const row = sql.insertAudit.get(entry.appId, entry.at, entry.actor, entry.action, JSON.stringify(entry.detail)) as AuditRow
      return toAuditEntry(row)
    },
    async readAudit(query = {}) {
      const { where, params } = auditFilter(query)
      const limit = query.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(query.limit))}`
      const rows = db.prepare(`SELECT * FROM audit_log WHERE ${where} ORDER BY at DESC, id DESC${limit}`).all(...params) as AuditRow[]
      return rows.map(toAuditEntry)
    },
    async deleteAuditBefore(at) {
      return sql.deleteAuditBefore.run(at).changes
    },

    async compact() {
      checkpointTruncate()
    },
    async runExclusive(_job, work) {
      // One server per database file: nothing else runs its jobs.
      return work()
    },
    async isWritable() {
      try {
        db.exec('BEGIN IMMEDIATE')
        db.exec('ROLLBACK')
        return true
      } catch {
        return false
      }
    },
    async backup(destination, onProgress) {
      // A commit by another process (the server, while the CLI backs up) restarts an online backup at its next
      // step, so under steady ingest a stepwise copy never ends. After a restart, the rest is copied in one
      // step: one read snapshot, which in WAL mode does not block the writer.
      const STEP_PAGES = 256
      let copied = 0
      let requested = 0
      let restarted = false
      await db.backup(destination, {
        progress({ totalPages, remainingPages }) {
          const nowCopied = totalPages - remainingPages
          if (nowCopied < copied + requested) restarted = true
          copied = nowCopied
          requested = restarted ? totalPages : STEP_PAGES
          onProgress?.(totalPages === 0 ? 1 : copied / totalPages)
          return requested
        },
      })
      onProgress?.(1)
    },
    close() {
      // Idempotent: a second stop (SIGINT after SIGTERM) would otherwise wait forever for the checkpointer
      // worker's exit event, which has already fired.
      closing ??= (async () => {
        await checkpointer?.stop()
        db.close()
      })()
      return closing
    },
  }

  function checkpointTruncate(): void {
    // TRUNCATE also empties the WAL file, where copies of deleted rows would otherwise linger.
    db.pragma('wal_checkpoint(TRUNCATE)')
  }
}

function migrate(db: Database.Database, path: string): void {
  const latest = MIGRATIONS.at(-1)?.version ?? 0
  // Used by migration 16 to give existing sessions their entry and exit pages exactly as the writer would.
  db.function('tacit_page_path', { deterministic: true }, (url: unknown) => pagePath(typeof url === 'string' ? url : undefined))
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number
    if (current > latest) {
      throw new NewerSchemaError(
        `The database ${path} was written by a newer Tacit (schema ${current}, this one knows ${latest}): upgrade Tacit.`,
      )
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue
      db.exec(migration.sql)
      db.pragma(`user_version = ${migration.version}`)
    }
  }).immediate()
}

interface Filter {
  where: string
  params: unknown[]
}

/** Joins the conditions whose value is given (an array value binds one `?` per item); none gives `1 = 1`. */
function whereAll(conditions: Array<[sql: string, value: unknown]>): Filter {
  const given = conditions.filter(([, value]) => value !== undefined)
  return {
    where: given.length > 0 ? given.map(([sql]) => sql).join(' AND ') : '1 = 1',
    params: given.flatMap(([, value]) => (Array.isArray(value) ? value : [value])),
  }
}

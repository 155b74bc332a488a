import type { StoredEvent } from '../../pipeline/storedEvent.js'
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
import type { Store } from '../Store.js'
import { assertIssueKind, ISSUE_STATUS_SET, toIssue, type IssueRow } from '../storeRows.js'
import type { PgDatabase } from './openPostgresPool.js'

/** The issue and release methods of the Store. */
export type IssueMethods = Pick<
  Store,
  | 'listIssues'
  | 'getIssue'
  | 'setIssueStatus'
  | 'readIssueEvents'
  | 'issueReleases'
  | 'issueBreakdown'
  | 'issueEnvironments'
  | 'listReleases'
  | 'crashFreeSessions'
  | 'trimIssueEvents'
  | 'deleteExpiredIssues'
  | 'deleteReleasesBefore'
>

/**
 * The issue methods on PostgreSQL, with the results and orders of SQLite's (sqlite/createSqliteStore.ts): text
 * sorts with COLLATE "C", byte-wise like SQLite's BINARY collation, and NULLs first as SQLite puts them.
 */
export function createPostgresIssueStore(db: PgDatabase): IssueMethods {
  return {
    async listIssues(query) {
      const values: unknown[] = []
      const { where, order, limit, offset } = issueQuery(query, {
        param: (value) => `$${values.push(value)}`,
        // strpos, not LIKE: the text is matched as it is. lower() under "C" folds ASCII letters only, as SQLite's.
        containsIgnoringCase: (haystack, needle) => `strpos(lower(${haystack} COLLATE "C"), lower(${needle}::text COLLATE "C")) > 0`,
      })
      // LIMIT NULL is no limit.
      const rows = await db.query<IssueRow>(`SELECT * FROM issues WHERE ${where} ORDER BY ${order} LIMIT $${values.push(limit ?? null)} OFFSET $${values.push(offset)}`, values)
      return rows.map(toIssue)
    },
    async getIssue(appId, id) {
      const [row] = await db.query<IssueRow>('SELECT * FROM issues WHERE id = $1', [id])
      return row && (appId === undefined || row.app_id === appId) ? toIssue(row) : undefined
    },
    async setIssueStatus(id, status, at) {
      if (!ISSUE_STATUS_SET.has(status)) throw new RangeError(`Unknown issue status: ${String(status)}`)
      const rows = await db.query(
        `UPDATE issues SET status = $2::text,
           resolved_at = CASE WHEN $2::text = 'resolved' THEN $3::bigint END,
           -- Kept as history when resolved or ignored; a reopening by hand is not a regression.
           regressed_at = CASE WHEN $2::text = 'open' THEN NULL ELSE regressed_at END
         WHERE id = $1 RETURNING id`,
        [id, status, at],
      )
      return rows.length > 0
    },
    async readIssueEvents({ appId, issueId, limit }) {
      // jsonb: pg hands the data back parsed.
      const rows = await db.query<{ data: StoredEvent }>('SELECT data FROM events WHERE app_id = $1 AND issue_id = $2 ORDER BY id DESC LIMIT $3', [
        appId,
        issueId,
        Math.max(0, Math.floor(limit)),
      ])
      return rows.map((row) => row.data)
    },
    // By app and issue, the primary key's order: the app id comes from the issue.
    async issueReleases(issueId) {
      const rows = await db.query<IssueReleaseRow>(
        `SELECT release, first_seen, last_seen, count FROM issue_releases
         WHERE app_id = (SELECT app_id FROM issues WHERE id = $1) AND issue_id = $1 ORDER BY first_seen, release COLLATE "C"`,
        [issueId],
      )
      return rows.map(toIssueRelease)
    },
    async issueEnvironments(issueId) {
      const rows = await db.query<IssueEnvironmentRow>(
        `SELECT environment, first_seen, last_seen, count FROM issue_environments
         WHERE app_id = (SELECT app_id FROM issues WHERE id = $1) AND issue_id = $1 ORDER BY count DESC, environment COLLATE "C"`,
        [issueId],
      )
      return rows.map(toIssueEnvironment)
    },
    async issueBreakdown(issueId, { since, tagValues }) {
      const top = Math.max(0, Math.floor(tagValues))
      const [days, tags] = await Promise.all([
        db.query<{ day: number; count: number }>(
          'SELECT day, count FROM issue_days WHERE app_id = (SELECT app_id FROM issues WHERE id = $1) AND issue_id = $1 AND day >= $2 ORDER BY day',
          [issueId, since],
        ),
        // Only the top values of each tag leave the server; groupIssueTags keeps the same ones.
        db.query<{ tag: string; value: string; count: number }>(
          `SELECT tag, value, count FROM (
             SELECT tag, value, count, row_number() OVER (PARTITION BY tag ORDER BY count DESC, value COLLATE "C") AS rank
             FROM issue_tags WHERE app_id = (SELECT app_id FROM issues WHERE id = $1) AND issue_id = $1
           ) ranked
           WHERE rank <= $2 ORDER BY tag COLLATE "C", count DESC, value COLLATE "C"`,
          [issueId, top],
        ),
      ])
      return { days, tags: groupIssueTags(tags, top) }
    },
    async listReleases(appId) {
      const rows = await db.query<ReleaseSummaryRow>(
        `SELECT r.release, r.first_seen, r.last_seen,
           coalesce(e.errors, 0) AS errors, coalesce(e.issues, 0) AS issues,
           (SELECT count(*) FROM issues WHERE app_id = $1 AND kind = 'error' AND first_release = r.release) AS new_issues
         FROM releases r
         LEFT JOIN (
           SELECT ir.release, sum(ir.count) AS errors, count(*) AS issues FROM issue_releases ir
           JOIN issues i ON i.id = ir.issue_id AND i.kind = 'error'
           WHERE ir.app_id = $1 GROUP BY ir.release
         ) e ON e.release = r.release
         WHERE r.app_id = $1 ORDER BY r.first_seen DESC, r.release COLLATE "C"`,
        [appId],
      )
      return rows.map(toReleaseSummary)
    },
    async crashFreeSessions({ appId, since, until }) {
      const values: unknown[] = [appId]
      const conditions = ['app_id = $1']
      if (since !== undefined) conditions.push(`start_ts >= $${values.push(since)}`)
      if (until !== undefined) conditions.push(`start_ts < $${values.push(until)}`)
      const rows = await db.query<ReleaseHealthRow>(
        `SELECT release, count(*) AS sessions, sum(has_error) AS crashed FROM sessions WHERE ${conditions.join(' AND ')}
         GROUP BY release ORDER BY sessions DESC, release COLLATE "C" NULLS FIRST`,
        values,
      )
      return rows.map(toReleaseHealth)
    },
    async trimIssueEvents({ appId, kind, keepNewest, limit }) {
      assertIssueKind(kind)
      const keep = Math.max(1, Math.floor(keepNewest))
      const max = Math.max(0, Math.floor(limit))
      if (max === 0) return 0
      // Keeps each issue's first stored event (lowest id) and its `keep` newest; deletes the rest, issue by
      // issue in id order and oldest first, up to the limit: the rows SQLite's per-issue loop deletes. The ids
      // go in as one array (an InitPlan), so every partition is probed by its primary key whatever the
      // planner's estimates; a join was planned as a hash join over a scan of all the app's events.
      const [row] = await db.query<{ deleted: number }>(
        `WITH ranked AS (
           SELECT e.issue_id, e.id,
             row_number() OVER (PARTITION BY e.issue_id ORDER BY e.id DESC) AS newer,
             min(e.id) OVER (PARTITION BY e.issue_id) AS first_id
           FROM issues i JOIN events e ON e.app_id = i.app_id AND e.issue_id = i.id
           WHERE i.app_id = $1 AND i.kind = $2 AND i.count > $3
         ), doomed AS (
           SELECT id FROM ranked WHERE newer > $4 AND id <> first_id ORDER BY issue_id, id LIMIT $5
         ), deleted AS (
           DELETE FROM events WHERE app_id = $1 AND id = ANY(ARRAY(SELECT id FROM doomed)) RETURNING 1
         )
         SELECT count(*) AS deleted FROM deleted`,
        [appId, kind, keep + 1, keep, max],
      )
      return row!.deleted
    },
    async deleteExpiredIssues({ appId, kind, receivedBefore, limit }) {
      assertIssueKind(kind)
      const max = Math.max(0, Math.floor(limit))
      if (max === 0) return 0
      // One statement, so one transaction: the issues and their per-release, per-environment, per-day, per-tag
      // and per-session rows go together. An issue whose row a writer holds is receiving an event, so it is not
      // expired: SKIP LOCKED passes it by instead of waiting (or deadlocking on another lock order); a writer
      // that comes later waits for this statement, then finds the issue gone and starts a new one. The issue's
      // events are normally gone already (same retention, counted the same way); any left stop pointing at it.
      // The ids go in as arrays, as in trimIssueEvents, so each table is probed by its (app_id, issue_id, …) index.
      const [row] = await db.query<{ deleted: number }>(
        `WITH doomed AS (
           SELECT id FROM issues WHERE app_id = $1 AND kind = $2 AND received_at < $3 LIMIT $4 FOR UPDATE SKIP LOCKED
         ),
         sessions AS (DELETE FROM issue_sessions WHERE app_id = $1 AND issue_id = ANY(ARRAY(SELECT id FROM doomed))),
         releases AS (DELETE FROM issue_releases WHERE app_id = $1 AND issue_id = ANY(ARRAY(SELECT id FROM doomed))),
         environments AS (DELETE FROM issue_environments WHERE app_id = $1 AND issue_id = ANY(ARRAY(SELECT id FROM doomed))),
         days AS (DELETE FROM issue_days WHERE app_id = $1 AND issue_id = ANY(ARRAY(SELECT id FROM doomed))),
         tags AS (DELETE FROM issue_tags WHERE app_id = $1 AND issue_id = ANY(ARRAY(SELECT id FROM doomed))),
         unlinked AS (UPDATE events SET issue_id = NULL WHERE app_id = $1 AND issue_id = ANY(ARRAY(SELECT id FROM doomed))),
         deleted AS (DELETE FROM issues WHERE id = ANY(ARRAY(SELECT id FROM doomed)) RETURNING 1)
         SELECT count(*) AS deleted FROM deleted`,
        [appId, kind, receivedBefore, max],
      )
      return row!.deleted
    },
    async deleteReleasesBefore(appId, receivedBefore) {
      const [row] = await db.query<{ deleted: number }>(
        'WITH deleted AS (DELETE FROM releases WHERE app_id = $1 AND last_seen < $2 RETURNING 1) SELECT count(*) AS deleted FROM deleted',
        [appId, receivedBefore],
      )
      return row!.deleted
    },
  }
}

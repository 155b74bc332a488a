import type Database from 'better-sqlite3'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import { pagePath } from '../../analytics/eventDimensions.js'
import { collectIssueDeltas, issueDeltaKey, type IssueDelta } from '../issues/collectIssueDeltas.js'
import { regressionAt } from '../issues/regressionAt.js'
import { collectDailyCounts } from '../collectDailyCounts.js'
import { addToSession, markEntryExit, sessionDeltaKey, viewMarkParams, type SessionDelta, type ViewMark } from '../sessionDeltas.js'
import { createRollupMarker, type RollupHours } from './createRollupMarker.js'
import type { IngestBatch } from '../Store.js'

/** How far a release's `last_seen` may lag behind (see upsertRelease): shared with the PostgreSQL writer. */
export const RELEASE_LAST_SEEN_STEP_MS = 3_600_000

interface IssueRow {
  id: number
  status: string
  resolved_at: number | null
  count: number
}

/**
 * Writes ingest batches on one connection: the same code runs in the server's writer thread and in-process
 * (CLI, tests). Returns one entry per batch: undefined when committed, the error otherwise.
 */
export function createEventWriter(db: Database.Database): (batches: readonly IngestBatch[]) => Array<Error | undefined> {
  // `session_id` copies `session.id` into the time index, for session timelines (migrations 12 and 14).
  const insertEvent = db.prepare<[number, string, number, number, string, number | null, string | null]>(
    'INSERT INTO events (app_id, type, ts, received_at, data, issue_id, session_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const upsertView = db.prepare<[number, number, number, string, number, string, string | null]>(
    `INSERT INTO events (app_id, type, ts, received_at, upsert_key, version, data, session_id) VALUES (?, 'view', ?, ?, ?, ?, ?, ?)
     ON CONFLICT (app_id, upsert_key) WHERE upsert_key IS NOT NULL DO UPDATE
     SET ts = excluded.ts, received_at = excluded.received_at, version = excluded.version, data = excluded.data, session_id = excluded.session_id
     WHERE excluded.version >= events.version`,
  )
  const bumpCount = db.prepare<[number, string, string, string, number]>(
    `INSERT INTO daily_counts (app_id, day, kind, key, count) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (app_id, day, kind, key) DO UPDATE SET count = count + excluded.count`,
  )

  const storedView = db.prepare<[number, string]>('SELECT id, ts FROM events WHERE app_id = ? AND upsert_key = ?')
  // Entry and exit views (migration 16): a group's first view replaces the stored entry only if it comes before
  // it by (ts, id), its last view the stored exit only if it comes after. In DO UPDATE every expression reads the
  // row as it was, so each CASE compares with the old entry or exit.
  const entryFirst = '(excluded.entry_ts IS NOT NULL AND (entry_ts IS NULL OR excluded.entry_ts < entry_ts OR (excluded.entry_ts = entry_ts AND excluded.entry_id < entry_id)))'
  const exitLast = '(excluded.exit_ts IS NOT NULL AND (exit_ts IS NULL OR excluded.exit_ts > exit_ts OR (excluded.exit_ts = exit_ts AND excluded.exit_id > exit_id)))'
  const upsertSession = db.prepare(
    `INSERT INTO sessions (app_id, session_id, start_ts, end_ts, views, actions, errors, has_error, country, browser, os, device_type, received_at, release,
       entry_ts, entry_id, entry_page, env, exit_ts, exit_id, exit_page)
     VALUES (@appId, @sessionId, @start, @end, @views, @actions, @errors, @hasError, @country, @browser, @os, @deviceType, @receivedAt, @release,
       @entryTs, @entryId, @entryPage, @env, @exitTs, @exitId, @exitPage)
     ON CONFLICT (app_id, session_id) DO UPDATE SET
       start_ts = min(start_ts, excluded.start_ts), end_ts = max(end_ts, excluded.end_ts),
       views = views + excluded.views, actions = actions + excluded.actions, errors = errors + excluded.errors,
       has_error = max(has_error, excluded.has_error),
       country = coalesce(excluded.country, country), browser = coalesce(excluded.browser, browser),
       os = coalesce(excluded.os, os), device_type = coalesce(excluded.device_type, device_type),
       received_at = max(received_at, excluded.received_at), release = coalesce(excluded.release, release),
       entry_ts = CASE WHEN ${entryFirst} THEN excluded.entry_ts ELSE entry_ts END,
       entry_id = CASE WHEN ${entryFirst} THEN excluded.entry_id ELSE entry_id END,
       entry_page = CASE WHEN ${entryFirst} THEN excluded.entry_page ELSE entry_page END,
       env = CASE WHEN ${entryFirst} THEN excluded.env ELSE env END,
       exit_ts = CASE WHEN ${exitLast} THEN excluded.exit_ts ELSE exit_ts END,
       exit_id = CASE WHEN ${exitLast} THEN excluded.exit_id ELSE exit_id END,
       exit_page = CASE WHEN ${exitLast} THEN excluded.exit_page ELSE exit_page END`,
  )
  // A view whose new version moved in time may have been the entry or exit, or become one: such a session's
  // entry and exit are read again from its views (rare: a view's ts is its start, which versions keep).
  const sessionSpan = db.prepare<[number, string]>('SELECT start_ts, end_ts FROM sessions WHERE app_id = ? AND session_id = ?')
  const viewAt = (order: 'ASC' | 'DESC') =>
    db.prepare<[number, number, number, string]>(
      `SELECT id, ts, data FROM events INDEXED BY events_by_app_ts_session
       WHERE app_id = ? AND ts >= ? AND ts <= ? AND session_id = ? AND type = 'view' ORDER BY ts ${order}, id ${order} LIMIT 1`,
    )
  const firstView = viewAt('ASC')
  const lastView = viewAt('DESC')
  const setEntryExit = db.prepare(
    `UPDATE sessions SET entry_ts = @entryTs, entry_id = @entryId, entry_page = @entryPage, env = @env, exit_ts = @exitTs, exit_id = @exitId, exit_page = @exitPage
     WHERE app_id = @appId AND session_id = @sessionId`,
  )

  // Issues (store/issues/). Named parameters: the upsert uses the group's last-release time, which has no column.
  // In DO UPDATE every expression reads the row as it was, so the CASEs compare with the old first/last seen.
  const upsertIssue = db.prepare(
    `INSERT INTO issues (app_id, fingerprint, kind, title, culprit, type, first_seen, last_seen, count, first_release, last_release, received_at)
     VALUES (@appId, @fingerprint, @kind, @title, @culprit, @type, @firstSeen, @lastSeen, @count, @firstRelease, @lastRelease, @receivedAt)
     ON CONFLICT (app_id, fingerprint) DO UPDATE SET
       count = count + excluded.count,
       first_release = CASE WHEN excluded.first_seen < first_seen THEN excluded.first_release ELSE first_release END,
       first_seen = min(first_seen, excluded.first_seen),
       last_seen = max(last_seen, excluded.last_seen),
       last_release = CASE WHEN excluded.last_release IS NOT NULL AND (last_release IS NULL OR @lastReleaseTs >= last_seen)
         THEN excluded.last_release ELSE last_release END,
       received_at = max(received_at, excluded.received_at)
     RETURNING id, status, resolved_at, count`,
  )
  const upsertIssueRelease = db.prepare<[number, number, string, number, number, number]>(
    `INSERT INTO issue_releases (app_id, issue_id, release, first_seen, last_seen, count) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (app_id, issue_id, release) DO UPDATE SET
       first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count`,
  )
  const upsertIssueEnvironment = db.prepare<[number, number, string, number, number, number]>(
    `INSERT INTO issue_environments (app_id, issue_id, environment, first_seen, last_seen, count) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (app_id, issue_id, environment) DO UPDATE SET
       first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count`,
  )
  const insertIssueSession = db.prepare<[number, number, string]>(
    'INSERT OR IGNORE INTO issue_sessions (app_id, issue_id, session_id) VALUES (?, ?, ?)',
  )
  const addIssueSessions = db.prepare<[number, number]>('UPDATE issues SET sessions = sessions + ? WHERE id = ?')
  const reopenIssue = db.prepare<[number, number]>(
    "UPDATE issues SET status = 'open', resolved_at = NULL, regressed_at = ? WHERE id = ? AND status = 'resolved'",
  )
  // `last_seen` only serves retention, counted in days: moving it at most once an hour spares most commits a
  // page write (every table a commit touches costs at least one page in the WAL).
  const upsertRelease = db.prepare<[number, string, number, number]>(
    `INSERT INTO releases (app_id, release, first_seen, last_seen) VALUES (?, ?, ?, ?)
     ON CONFLICT (app_id, release) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)
     WHERE excluded.first_seen < releases.first_seen OR excluded.last_seen >= releases.last_seen + ${RELEASE_LAST_SEEN_STEP_MS}`,
  )
  const releaseFirstSeen = db.prepare<[number, string]>('SELECT first_seen FROM releases WHERE app_id = ? AND release = ?').pluck()
  // The alert outbox (store/AlertStore.ts): one pending delivery per enabled rule of the kind, in the same
  // transaction as the issue it announces, so a crash cannot commit the issue and lose the alert. Issues are
  // created or re-opened rarely, so this indexed lookup runs off the common path; rules added by the CLI
  // meanwhile count at once, with no cache to refresh.
  const upsertIssueDay = db.prepare<[number, number, number, number]>(
    'INSERT INTO issue_days (app_id, issue_id, day, count) VALUES (?, ?, ?, ?) ON CONFLICT (app_id, issue_id, day) DO UPDATE SET count = count + excluded.count',
  )
  const upsertIssueTag = db.prepare<[number, number, string, string, number]>(
    'INSERT INTO issue_tags (app_id, issue_id, tag, value, count) VALUES (?, ?, ?, ?, ?) ON CONFLICT (app_id, issue_id, tag, value) DO UPDATE SET count = count + excluded.count',
  )
  const enqueueAlerts = db.prepare<{ event: string; issueId: number; at: number; appId: number; kind: string }>(
    `INSERT INTO alert_deliveries (app_id, rule_id, event, issue_id, next_attempt_at, created_at)
     SELECT app_id, id, @event, @issueId, @at, @at FROM alert_rules WHERE app_id = @appId AND kind = @kind AND enabled = 1`,
  )

  /**
   * Records the group's releases and applies its issue deltas; returns the issue id of each delta key, for
   * the events' `issue_id`. Releases go first: the regression rule asks when a release was first seen.
   */
  function writeIssues(batches: readonly IngestBatch[]): Map<string, number> {
    const { issues, releases } = collectIssueDeltas(batches)
    for (const r of releases.values()) upsertRelease.run(r.appId, r.release, r.firstReceived, r.lastReceived)
    const ids = new Map<string, number>()
    for (const [key, delta] of issues) ids.set(key, applyIssueDelta(delta))
    return ids
  }

  function applyIssueDelta(d: IssueDelta): number {
    const row = upsertIssue.get({
      appId: d.appId,
      fingerprint: d.fingerprint,
      kind: d.kind,
      title: d.title,
      culprit: d.culprit,
      type: d.type,
      firstSeen: d.firstSeen,
      lastSeen: d.lastSeen,
      count: d.count,
      firstRelease: d.firstRelease,
      lastRelease: d.lastRelease,
      lastReleaseTs: d.lastReleaseTs,
      receivedAt: d.receivedAt,
    }) as IssueRow
    for (const [release, r] of d.releases) upsertIssueRelease.run(d.appId, row.id, release, r.firstSeen, r.lastSeen, r.count)
    for (const [environment, e] of d.environments) upsertIssueEnvironment.run(d.appId, row.id, environment, e.firstSeen, e.lastSeen, e.count)
    for (const [day, count] of d.days) upsertIssueDay.run(d.appId, row.id, day, count)
    for (const [key, count] of d.tags) {
      const split = key.indexOf('\0')
      upsertIssueTag.run(d.appId, row.id, key.slice(0, split), key.slice(split + 1), count)
    }
    let newSessions = 0
    for (const sessionId of d.sessions) newSessions += insertIssueSession.run(d.appId, row.id, sessionId).changes
    if (newSessions > 0) addIssueSessions.run(newSessions, row.id)
    // An existing issue's count was at least 1 before this delta, so only a new one returns exactly its count.
    if (row.count === d.count) enqueueAlerts.run({ event: 'issue.new', issueId: row.id, at: d.receivedAt, appId: d.appId, kind: 'new-issue' })
    // Only a resolved issue can regress, so the common case asks nothing more of the database.
    if (row.status === 'resolved' && row.resolved_at !== null) {
      const at = regressionAt(d, row.resolved_at, (release) => releaseFirstSeen.get(d.appId, release) as number | undefined)
      if (at !== undefined && reopenIssue.run(at, row.id).changes > 0) {
        enqueueAlerts.run({ event: 'issue.regressed', issueId: row.id, at: d.receivedAt, appId: d.appId, kind: 'regression' })
      }
    }
    return row.id
  }

  function insertEvents(batch: IngestBatch, sessions: Map<string, SessionDelta>, issueIds: Map<string, number>, moved: Set<string>, hours: RollupHours): void {
    for (const event of batch.events) {
      const data = JSON.stringify(event)
      if (event.type === 'view') {
        // A view is sent again with each new version; the session counts it once, when it first arrives.
        const stored = storedView.get(batch.appId, event.view.id) as { id: number; ts: number } | undefined
        // The version it replaces counted in its own hour, which must be rebuilt too.
        if (stored) hours.add(batch.appId, stored.ts)
        const written = upsertView.run(batch.appId, event.ts, event.received_at, event.view.id, event.view.version ?? 0, data, event.session?.id ?? null)
        if (!event.session) continue
        const delta = addToSession(sessions, batch.appId, event.session.id, event, stored ? 0 : 1)
        // An older version than the stored one changes nothing.
        if (written.changes === 0) continue
        if (stored && stored.ts !== event.ts) moved.add(sessionDeltaKey(batch.appId, event.session.id))
        markEntryExit(delta, { ts: event.ts, id: stored?.id ?? Number(written.lastInsertRowid), page: pagePath(event.view.url), env: event.env ?? null })
      } else {
        const issueId = (event.type === 'error' || event.type === 'report') && event.issue ? issueIds.get(issueDeltaKey(batch.appId, event.issue.fingerprint)) : undefined
        insertEvent.run(batch.appId, event.type, event.ts, event.received_at, data, issueId ?? null, event.session?.id ?? null)
        if (event.session) addToSession(sessions, batch.appId, event.session.id, event, 0)
      }
    }
  }

  function upsertSessions(sessions: Map<string, SessionDelta>, moved: Set<string>): void {
    for (const d of sessions.values()) {
      upsertSession.run({
        appId: d.appId,
        sessionId: d.sessionId,
        start: d.start,
        end: d.end,
        views: d.views,
        actions: d.actions,
        errors: d.errors,
        hasError: d.errors > 0 ? 1 : 0,
        country: d.country,
        browser: d.browser,
        os: d.os,
        deviceType: d.deviceType,
        receivedAt: d.receivedAt,
        release: d.release,
        ...viewMarkParams(d.entry, d.exit),
      })
      if (moved.has(sessionDeltaKey(d.appId, d.sessionId))) rereadEntryExit(d.appId, d.sessionId)
    }
  }

  function rereadEntryExit(appId: number, sessionId: string): void {
    const span = sessionSpan.get(appId, sessionId) as { start_ts: number; end_ts: number }
    const mark = (row: { id: number; ts: number; data: string } | undefined): ViewMark | undefined => {
      if (!row) return undefined
      const event = JSON.parse(row.data) as StoredEvent
      return { ts: row.ts, id: row.id, page: event.type === 'view' ? pagePath(event.view.url) : '', env: event.env ?? null }
    }
    const entry = mark(firstView.get(appId, span.start_ts, span.end_ts, sessionId) as { id: number; ts: number; data: string } | undefined)
    const exit = mark(lastView.get(appId, span.start_ts, span.end_ts, sessionId) as { id: number; ts: number; data: string } | undefined)
    setEntryExit.run({ appId, sessionId, ...viewMarkParams(entry, exit) })
  }

  /** One upsert per app, day, kind and key for the whole group, not one per request. */
  function bumpCounts(batches: readonly IngestBatch[]): void {
    for (const { appId, day, kind, key, n } of collectDailyCounts(batches)) bumpCount.run(appId, day, kind, key, n)
  }

  // The whole group in one transaction, without a savepoint per request (SQLite journals savepoints, which
  // doubled the cost of an event). Should it fail, each request is retried in its own transaction, so one
  // bad request cannot take the others down and every request is still stored whole or not at all.
  // Session summaries, issues and releases are updated in the same transaction as their events.
  function writeAll(batches: readonly IngestBatch[]): void {
    // Analytics rollups (createRollupMarker.ts): the hours are collected first, while the sessions are as they
    // were, and marked last.
    const hours = rollupHours(batches)
    const issueIds = writeIssues(batches)
    const sessions = new Map<string, SessionDelta>()
    // Sessions with a view whose new version moved in time: their entry and exit are read again after the write.
    const moved = new Set<string>()
    for (const batch of batches) insertEvents(batch, sessions, issueIds, moved, hours)
    upsertSessions(sessions, moved)
    bumpCounts(batches)
    hours.mark()
  }
  const rollupHours = createRollupMarker(db)
  const writeGroup = db.transaction(writeAll)
  const writeOne = db.transaction((batch: IngestBatch) => writeAll([batch]))

  return (batches) => {
    try {
      // IMMEDIATE takes the write lock up front, waiting on busy_timeout. A deferred transaction that reads
      // first (session summaries do) and then writes gets SQLITE_BUSY at once, without waiting, when the
      // checkpointer holds the lock for a RESTART in between.
      writeGroup.immediate(batches)
      return batches.map(() => undefined)
    } catch {
      return batches.map((batch) => {
        try {
          writeOne.immediate(batch)
          return undefined
        } catch (error) {
          return error as Error
        }
      })
    }
  }
}

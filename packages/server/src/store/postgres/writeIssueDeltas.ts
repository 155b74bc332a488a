import { collectIssueDeltas, issueDeltaKey, type IssueDelta, type ReleaseDelta, type SeenIn } from '../issues/collectIssueDeltas.js'
import { regressionAt } from '../issues/regressionAt.js'
import { RELEASE_LAST_SEEN_STEP_MS } from '../sqlite/createEventWriter.js'
import type { IngestBatch } from '../Store.js'
import type { PgQueryable } from './openPostgresPool.js'
import { unnestRows } from './unnestRows.js'

interface UpsertedIssue {
  id: number
  app_id: number
  fingerprint: string
  status: string
  resolved_at: number | null
  count: number
}

interface AlertToQueue {
  appId: number
  kind: 'new-issue' | 'regression'
  event: 'issue.new' | 'issue.regressed'
  issueId: number
  at: number
}

/**
 * The issue half of a write (store/issues/), as SQLite's writer does it (sqlite/createEventWriter.ts) but one
 * statement per table for the whole group: records the group's releases, applies its issue deltas with their
 * per-release, per-environment, per-day, per-tag and per-session rows, re-opens regressed issues and queues
 * their alerts. Returns the issue id of each delta key, for the events' `issue_id`. Every statement takes its
 * row locks in key order, so two nodes writing the same issues wait for each other rather than deadlock.
 */
export async function writeIssueDeltas(tx: PgQueryable, batches: readonly IngestBatch[]): Promise<Map<string, number>> {
  const { issues, releases } = collectIssueDeltas(batches)
  // Releases go first: the regression rule asks when a release was first seen.
  const releaseFirstSeen = await writeReleases(tx, releases)
  const ids = new Map<string, number>()
  if (issues.size === 0) return ids
  const deltas = [...issues.values()]
  const rows = await upsertIssues(tx, deltas)
  for (const row of rows) ids.set(issueDeltaKey(row.app_id, row.fingerprint), row.id)
  const withIds = deltas.map((delta) => ({ delta, id: ids.get(issueDeltaKey(delta.appId, delta.fingerprint))! }))
  await upsertSeenIn(tx, 'issue_releases', 'release', withIds.flatMap(({ delta, id }) => seenRows(delta, id, delta.releases)))
  await upsertSeenIn(tx, 'issue_environments', 'environment', withIds.flatMap(({ delta, id }) => seenRows(delta, id, delta.environments)))
  await upsertCounts(tx, 'issue_days', ['day'], ['bigint'], withIds.flatMap(({ delta, id }) => [...delta.days].map(([day, n]) => [delta.appId, id, day, n])))
  await upsertCounts(
    tx,
    'issue_tags',
    ['tag', 'value'],
    ['text', 'text'],
    withIds.flatMap(({ delta, id }) =>
      [...delta.tags].map(([key, n]) => {
        const split = key.indexOf('\0')
        return [delta.appId, id, key.slice(0, split), key.slice(split + 1), n]
      }),
    ),
  )
  await addIssueSessions(tx, withIds.flatMap(({ delta, id }) => [...delta.sessions].map((sessionId) => [delta.appId, id, sessionId])))

  const byId = new Map(rows.map((row) => [row.id, row]))
  const alerts: AlertToQueue[] = []
  for (const { delta, id } of withIds) {
    const row = byId.get(id)!
    // An existing issue's count was at least 1 before this delta, so only a new one returns exactly its count.
    if (row.count === delta.count) alerts.push({ appId: delta.appId, kind: 'new-issue', event: 'issue.new', issueId: id, at: delta.receivedAt })
    // Only a resolved issue can regress, so the common case asks nothing more of the database.
    if (row.status === 'resolved' && row.resolved_at !== null) {
      const at = regressionAt(delta, row.resolved_at, (release) => releaseFirstSeen.get(`${delta.appId} ${release}`))
      if (at !== undefined && (await reopen(tx, id, at))) {
        alerts.push({ appId: delta.appId, kind: 'regression', event: 'issue.regressed', issueId: id, at: delta.receivedAt })
      }
    }
  }
  await queueAlerts(tx, alerts)
  return ids
}

/**
 * Records every release the group's events named; returns each one's first receive time by `app release`.
 * `last_seen` only serves retention, counted in days, so it moves at most once an hour: the release row is
 * shared by every node's writes of the app, and a group that need not change it reads it without locking it.
 */
async function writeReleases(tx: PgQueryable, releases: Map<string, ReleaseDelta>): Promise<Map<string, number>> {
  const firstSeen = new Map<string, number>()
  const wanted = [...releases.values()]
  const stored = await readReleases(tx, wanted)
  for (const [key, row] of stored) firstSeen.set(key, row.first_seen)
  const changed = wanted.filter((r) => {
    const row = stored.get(`${r.appId} ${r.release}`)
    return !row || r.firstReceived < row.first_seen || r.lastReceived >= row.last_seen + RELEASE_LAST_SEEN_STEP_MS
  })
  if (changed.length === 0) return firstSeen
  const { from, values } = unnestRows(['bigint', 'text', 'bigint', 'bigint'], changed.map((r) => [r.appId, r.release, r.firstReceived, r.lastReceived]))
  // The WHERE again: another node may have moved the row since it was read.
  const upserted = await tx.query<{ app_id: number; release: string; first_seen: number }>(
    `INSERT INTO releases AS r (app_id, release, first_seen, last_seen) SELECT * FROM ${from} ORDER BY 1, 2
     ON CONFLICT (app_id, release) DO UPDATE SET first_seen = LEAST(r.first_seen, excluded.first_seen), last_seen = GREATEST(r.last_seen, excluded.last_seen)
     WHERE excluded.first_seen < r.first_seen OR excluded.last_seen >= r.last_seen + ${RELEASE_LAST_SEEN_STEP_MS}
     RETURNING app_id, release, first_seen`,
    values,
  )
  for (const row of upserted) firstSeen.set(`${row.app_id} ${row.release}`, row.first_seen)
  // A release another node inserted after the read above, so that this group had nothing to change in it.
  const raced = changed.filter((r) => !firstSeen.has(`${r.appId} ${r.release}`))
  for (const [key, row] of await readReleases(tx, raced)) firstSeen.set(key, row.first_seen)
  return firstSeen
}

async function readReleases(tx: PgQueryable, releases: readonly ReleaseDelta[]): Promise<Map<string, { first_seen: number; last_seen: number }>> {
  if (releases.length === 0) return new Map()
  const { from, values } = unnestRows(['bigint', 'text'], releases.map((r) => [r.appId, r.release]))
  const rows = await tx.query<{ app_id: number; release: string; first_seen: number; last_seen: number }>(
    `SELECT r.app_id, r.release, r.first_seen, r.last_seen FROM releases r JOIN ${from} AS u (app_id, release) ON r.app_id = u.app_id AND r.release = u.release`,
    values,
  )
  return new Map(rows.map((row) => [`${row.app_id} ${row.release}`, row]))
}

/**
 * One upsert for every issue of the group. In DO UPDATE every expression reads the row as it was, so the
 * CASEs compare with the old first and last seen; `last_release_ts` has no column, so the update finds it in
 * the statement's input by the conflicting row's key.
 */
async function upsertIssues(tx: PgQueryable, deltas: readonly IssueDelta[]): Promise<UpsertedIssue[]> {
  const { from, values } = unnestRows(
    ['bigint', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'bigint', 'text', 'text', 'bigint', 'bigint'],
    deltas.map((d) => [d.appId, d.fingerprint, d.kind, d.title, d.culprit, d.type, d.firstSeen, d.lastSeen, d.count, d.firstRelease, d.lastRelease, d.receivedAt, d.lastReleaseTs]),
  )
  return tx.query<UpsertedIssue>(
    `WITH input (app_id, fingerprint, kind, title, culprit, type, first_seen, last_seen, count, first_release, last_release, received_at, last_release_ts) AS (
       SELECT * FROM ${from}
     )
     INSERT INTO issues AS i (app_id, fingerprint, kind, title, culprit, type, first_seen, last_seen, count, first_release, last_release, received_at)
     SELECT app_id, fingerprint, kind, title, culprit, type, first_seen, last_seen, count, first_release, last_release, received_at FROM input
     ORDER BY app_id, fingerprint
     ON CONFLICT (app_id, fingerprint) DO UPDATE SET
       count = i.count + excluded.count,
       first_release = CASE WHEN excluded.first_seen < i.first_seen THEN excluded.first_release ELSE i.first_release END,
       first_seen = LEAST(i.first_seen, excluded.first_seen),
       last_seen = GREATEST(i.last_seen, excluded.last_seen),
       last_release = CASE WHEN excluded.last_release IS NOT NULL AND (i.last_release IS NULL OR
           (SELECT last_release_ts FROM input WHERE input.app_id = excluded.app_id AND input.fingerprint = excluded.fingerprint) >= i.last_seen)
         THEN excluded.last_release ELSE i.last_release END,
       received_at = GREATEST(i.received_at, excluded.received_at)
     RETURNING id, app_id, fingerprint, status, resolved_at, count`,
    values,
  )
}

function seenRows(delta: IssueDelta, issueId: number, seen: Map<string, SeenIn>): unknown[][] {
  return [...seen].map(([name, s]) => [delta.appId, issueId, name, s.firstSeen, s.lastSeen, s.count])
}

/** Per-release or per-environment rows: when the issue was first and last seen there, and how often. */
async function upsertSeenIn(tx: PgQueryable, table: 'issue_releases' | 'issue_environments', column: 'release' | 'environment', rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return
  const { from, values } = unnestRows(['bigint', 'bigint', 'text', 'bigint', 'bigint', 'bigint'], rows)
  await tx.query(
    `INSERT INTO ${table} AS t (app_id, issue_id, ${column}, first_seen, last_seen, count) SELECT * FROM ${from} ORDER BY 1, 2, 3
     ON CONFLICT (app_id, issue_id, ${column}) DO UPDATE SET
       first_seen = LEAST(t.first_seen, excluded.first_seen), last_seen = GREATEST(t.last_seen, excluded.last_seen), count = t.count + excluded.count`,
    values,
  )
}

/** Per-day or per-tag counts: rows of (app_id, issue_id, …key, count). */
async function upsertCounts(tx: PgQueryable, table: 'issue_days' | 'issue_tags', key: readonly string[], keyTypes: readonly string[], rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return
  const { from, values } = unnestRows(['bigint', 'bigint', ...keyTypes, 'bigint'], rows)
  const keys = ['app_id', 'issue_id', ...key]
  await tx.query(
    `INSERT INTO ${table} AS t (${keys.join(', ')}, count) SELECT * FROM ${from} ORDER BY ${keys.map((_, i) => i + 1).join(', ')}
     ON CONFLICT (${keys.join(', ')}) DO UPDATE SET count = t.count + excluded.count`,
    values,
  )
}

/**
 * Links the issues to the group's sessions and counts each session once per issue: a session another write
 * (of this node or another) linked first conflicts and adds nothing. The issues are already locked by this
 * transaction's upsert.
 */
async function addIssueSessions(tx: PgQueryable, rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return
  const { from, values } = unnestRows(['bigint', 'bigint', 'text'], rows)
  await tx.query(
    `WITH added AS (
       INSERT INTO issue_sessions (app_id, issue_id, session_id) SELECT * FROM ${from} ORDER BY 1, 2, 3
       ON CONFLICT DO NOTHING RETURNING issue_id
     )
     UPDATE issues i SET sessions = i.sessions + a.n FROM (SELECT issue_id, count(*) AS n FROM added GROUP BY issue_id) a WHERE i.id = a.issue_id`,
    values,
  )
}

async function reopen(tx: PgQueryable, issueId: number, at: number): Promise<boolean> {
  const rows = await tx.query("UPDATE issues SET status = 'open', resolved_at = NULL, regressed_at = $1 WHERE id = $2 AND status = 'resolved' RETURNING id", [at, issueId])
  return rows.length > 0
}

/**
 * The alert outbox (store/AlertStore.ts): one pending delivery per enabled rule of the kind, in the same
 * transaction as the issue it announces, so a crash cannot commit the issue and lose the alert. In the order
 * the deltas were applied, as SQLite's writer queues them.
 */
async function queueAlerts(tx: PgQueryable, alerts: readonly AlertToQueue[]): Promise<void> {
  if (alerts.length === 0) return
  const { from, values } = unnestRows(['bigint', 'text', 'text', 'bigint', 'bigint'], alerts.map((a) => [a.appId, a.kind, a.event, a.issueId, a.at]))
  await tx.query(
    `INSERT INTO alert_deliveries (app_id, rule_id, event, issue_id, next_attempt_at, created_at)
     SELECT r.app_id, r.id, u.event, u.issue_id, u.at, u.at
     FROM ${from} WITH ORDINALITY AS u (app_id, kind, event, issue_id, at, n)
     JOIN alert_rules r ON r.app_id = u.app_id AND r.kind = u.kind AND r.enabled = 1
     ORDER BY u.n, r.id`,
    values,
  )
}

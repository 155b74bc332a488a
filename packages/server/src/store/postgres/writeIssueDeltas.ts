import { collectIssueDeltas, issueDeltaKey, type IssueDelta, type ReleaseDelta, type SeenIn } from '../issues/collectIssueDeltas.js'
import { regressionAt } from '../issues/regressionAt.js'
import { RELEASE_LAST_SEEN_STEP_MS } from '../sqlite/createEventWriter.js'
import type { IngestBatch } from '../Store.js'
import type { PgQueryable } from './openPostgresPool.js'
import { unnestRows } from './unnestRows.js'

/** An issue after its counts were added: what the regression rule reads. */
interface CountedIssue {
  id: number
  status: string
  resolved_at: number | null
}

interface AlertToQueue {
  appId: number
  kind: 'new-issue' | 'regression'
  event: 'issue.new' | 'issue.regressed'
  issueId: number
  at: number
}

/** A group's issues between the two halves of its write: their ids are known, nothing is counted yet. */
export interface PendingIssueDeltas {
  /** The issue id of each delta key (issueDeltaKey), for the events' `issue_id`. */
  ids: Map<string, number>
  /** The second half, in the same transaction, as late as the writer can: see writeIssueDeltas. */
  write(): Promise<void>
}

/**
 * The issue half of a write (store/issues/), as SQLite's writer does it (sqlite/createEventWriter.ts) but one
 * statement per table for the whole group, in two halves, so that the rows every group of an app shares are
 * locked only at the end of the writer's transaction (createPostgresEventWriter.ts, writeGroup):
 *
 * - now, before the events are inserted (they need the ids): reads the group's releases, and finds or creates
 *   each issue without locking the rows other writers count into. A new issue is inserted with nothing counted
 *   yet (count 0); its row is invisible to others until commit, and another writer creating the same
 *   fingerprint waits for this transaction at its own first statement (rare, and before it holds any lock
 *   this one could wait for). An existing issue is only held FOR KEY SHARE, which no writer's UPDATE waits
 *   for but retention's `FOR UPDATE SKIP LOCKED` passes by: an issue that receives an event is not expired
 *   under the writer (createPostgresIssueStore.ts, deleteExpiredIssues).
 * - in `write()`, late: records the releases, adds the deltas to the issues (locked in id order) with their
 *   per-release, per-environment, per-day, per-tag and per-session rows, re-opens regressed issues and queues
 *   their alerts. The rows of those tables belong to issues this transaction holds by then, so no other
 *   writer touches them meanwhile.
 *
 * The outcome is exactly that of one upsert per issue: a new issue's first values are its delta's, which the
 * counting UPDATE keeps.
 */
export async function writeIssueDeltas(tx: PgQueryable, batches: readonly IngestBatch[]): Promise<PendingIssueDeltas> {
  const { issues, releases } = collectIssueDeltas(batches)
  const wantedReleases = [...releases.values()]
  // Read now, without a lock; written (rarely: see writeReleases) in the second half.
  const storedReleases = await readReleases(tx, wantedReleases)
  const deltas = [...issues.values()]
  const { ids, created } = await claimIssues(tx, deltas)
  return {
    ids,
    async write() {
      // Releases go first: the regression rule asks when a release was first seen.
      const releaseFirstSeen = await writeReleases(tx, wantedReleases, storedReleases)
      if (deltas.length === 0) return
      const withIds = deltas.map((delta) => ({ delta, id: ids.get(issueDeltaKey(delta.appId, delta.fingerprint))! }))
      const rows = await countIssues(tx, withIds)

      const byId = new Map(rows.map((row) => [row.id, row]))
      const alerts: AlertToQueue[] = []
      for (const { delta, id } of withIds) {
        const row = byId.get(id)!
        if (created.has(issueDeltaKey(delta.appId, delta.fingerprint))) alerts.push({ appId: delta.appId, kind: 'new-issue', event: 'issue.new', issueId: id, at: delta.receivedAt })
        // Only a resolved issue can regress, so the common case asks nothing more of the database.
        if (row.status === 'resolved' && row.resolved_at !== null) {
          const at = regressionAt(delta, row.resolved_at, (release) => releaseFirstSeen.get(`${delta.appId} ${release}`))
          if (at !== undefined && (await reopen(tx, id, at))) {
            alerts.push({ appId: delta.appId, kind: 'regression', event: 'issue.regressed', issueId: id, at: delta.receivedAt })
          }
        }
      }
      await queueAlerts(tx, alerts)
    },
  }
}

/**
 * Records every release the group's events named, given the rows read at the start of the write; returns each
 * one's first receive time by `app release`. `last_seen` only serves retention, counted in days, so it moves at
 * most once an hour: the release row is shared by every node's writes of the app, and a group that need not
 * change it does not lock it.
 */
async function writeReleases(tx: PgQueryable, wanted: readonly ReleaseDelta[], stored: Map<string, StoredRelease>): Promise<Map<string, number>> {
  const firstSeen = new Map<string, number>()
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
  // A release another node inserted after the read, so that this group had nothing to change in it.
  const raced = changed.filter((r) => !firstSeen.has(`${r.appId} ${r.release}`))
  for (const [key, row] of await readReleases(tx, raced)) firstSeen.set(key, row.first_seen)
  return firstSeen
}

interface StoredRelease {
  first_seen: number
  last_seen: number
}

async function readReleases(tx: PgQueryable, releases: readonly ReleaseDelta[]): Promise<Map<string, StoredRelease>> {
  if (releases.length === 0) return new Map()
  const { from, values } = unnestRows(['bigint', 'text'], releases.map((r) => [r.appId, r.release]))
  const rows = await tx.query<{ app_id: number; release: string; first_seen: number; last_seen: number }>(
    `SELECT r.app_id, r.release, r.first_seen, r.last_seen FROM releases r JOIN ${from} AS u (app_id, release) ON r.app_id = u.app_id AND r.release = u.release`,
    values,
  )
  return new Map(rows.map((row) => [`${row.app_id} ${row.release}`, row]))
}

/**
 * The id of every issue of the group, in one statement, in (app_id, fingerprint) order as every writer takes
 * them. The existing issues are read first, held FOR KEY SHARE (see writeIssueDeltas), and only the others
 * go to the INSERT: an INSERT … ON CONFLICT whose row another transaction is updating waits for that one to
 * end (PostgreSQL's unique check waits for whoever is changing the conflicting row), which would queue every
 * group behind the counting of the issues again (measured: it did). The missing ones are inserted with their
 * delta's first values and nothing counted (`created`). An insert that met another transaction's new row
 * waits for it to commit, but the statement's snapshot, taken before, cannot see that row: such issues, and
 * any that retention deleted meanwhile, are asked for again by another statement.
 */
async function claimIssues(tx: PgQueryable, deltas: readonly IssueDelta[]): Promise<{ ids: Map<string, number>; created: Set<string> }> {
  const ids = new Map<string, number>()
  const created = new Set<string>()
  for (let pending = deltas; pending.length > 0; pending = pending.filter((d) => !ids.has(issueDeltaKey(d.appId, d.fingerprint)))) {
    const { from, values } = unnestRows(
      ['bigint', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'text', 'text', 'bigint'],
      pending.map((d) => [d.appId, d.fingerprint, d.kind, d.title, d.culprit, d.type, d.firstSeen, d.lastSeen, d.firstRelease, d.lastRelease, d.receivedAt]),
    )
    const rows = await tx.query<{ id: number; app_id: number; fingerprint: string; created: boolean }>(
      `WITH input (app_id, fingerprint, kind, title, culprit, type, first_seen, last_seen, first_release, last_release, received_at) AS (
         SELECT * FROM ${from}
       ),
       existing AS (
         SELECT i.id, i.app_id, i.fingerprint FROM issues i JOIN input u ON i.app_id = u.app_id AND i.fingerprint = u.fingerprint
         ORDER BY i.app_id, i.fingerprint FOR KEY SHARE OF i
       ),
       inserted AS (
         INSERT INTO issues (app_id, fingerprint, kind, title, culprit, type, first_seen, last_seen, count, first_release, last_release, received_at)
         SELECT app_id, fingerprint, kind, title, culprit, type, first_seen, last_seen, 0, first_release, last_release, received_at FROM input u
         WHERE NOT EXISTS (SELECT FROM existing e WHERE e.app_id = u.app_id AND e.fingerprint = u.fingerprint)
         ORDER BY app_id, fingerprint
         ON CONFLICT (app_id, fingerprint) DO NOTHING
         RETURNING id, app_id, fingerprint
       )
       SELECT id, app_id, fingerprint, false AS created FROM existing
       UNION ALL SELECT id, app_id, fingerprint, true FROM inserted`,
      values,
    )
    for (const row of rows) {
      const key = issueDeltaKey(row.app_id, row.fingerprint)
      ids.set(key, row.id)
      if (row.created) created.add(key)
    }
  }
  return { ids, created }
}

const SEEN_IN_TYPES = ['bigint', 'bigint', 'text', 'bigint', 'bigint', 'bigint']

/**
 * Adds the deltas to their issues and to their per-release, per-environment, per-day, per-tag and per-session
 * rows, in one statement: it runs while the group holds the shared rows, so each round trip saved there is
 * time other groups do not wait. The issues are locked first (`locked`), in id order, as every writer locks
 * them; the other tables' rows are written only for issues `locked` returned, so no other writer changes them
 * until this transaction ends, and the order they are written in does not matter.
 *
 * In the UPDATE every SET expression reads the row as it was, so the CASEs compare with the old first and last
 * seen: they are those of the single upsert this replaces, and a new issue's first values (claimIssues) are its
 * delta's, so it ends as if it had been inserted with its counts. A session another write (of this node or
 * another) linked to an issue first conflicts and adds nothing to its `sessions`.
 */
async function countIssues(tx: PgQueryable, withIds: ReadonlyArray<{ delta: IssueDelta; id: number }>): Promise<CountedIssue[]> {
  const params: unknown[][] = []
  const unnest = (types: readonly string[], rows: ReadonlyArray<readonly unknown[]>) => {
    const { from, values } = unnestRows(types, rows, params.length + 1)
    params.push(...values)
    return from
  }
  const input = unnest(
    ['bigint', 'bigint', 'bigint', 'bigint', 'text', 'text', 'bigint', 'bigint'],
    withIds.map(({ delta: d, id }) => [id, d.count, d.firstSeen, d.lastSeen, d.firstRelease, d.lastRelease, d.lastReleaseTs, d.receivedAt]),
  )
  const seenIn = (table: string, column: string, seen: (delta: IssueDelta) => Map<string, SeenIn>) =>
    `INSERT INTO ${table} AS t (app_id, issue_id, ${column}, first_seen, last_seen, count)
     SELECT u.* FROM ${unnest(SEEN_IN_TYPES, withIds.flatMap(({ delta, id }) => [...seen(delta)].map(([name, s]) => [delta.appId, id, name, s.firstSeen, s.lastSeen, s.count])))}
       AS u (app_id, issue_id, ${column}, first_seen, last_seen, count) JOIN locked l ON l.id = u.issue_id
     ON CONFLICT (app_id, issue_id, ${column}) DO UPDATE SET
       first_seen = LEAST(t.first_seen, excluded.first_seen), last_seen = GREATEST(t.last_seen, excluded.last_seen), count = t.count + excluded.count`
  const counts = (table: string, key: readonly string[], keyTypes: readonly string[], rows: unknown[][]) =>
    `INSERT INTO ${table} AS t (app_id, issue_id, ${key.join(', ')}, count)
     SELECT u.* FROM ${unnest(['bigint', 'bigint', ...keyTypes, 'bigint'], rows)} AS u (app_id, issue_id, ${key.join(', ')}, count) JOIN locked l ON l.id = u.issue_id
     ON CONFLICT (app_id, issue_id, ${key.join(', ')}) DO UPDATE SET count = t.count + excluded.count`
  const days = withIds.flatMap(({ delta, id }) => [...delta.days].map(([day, n]) => [delta.appId, id, day, n]))
  const tags = withIds.flatMap(({ delta, id }) =>
    [...delta.tags].map(([key, n]) => {
      const split = key.indexOf('\0')
      return [delta.appId, id, key.slice(0, split), key.slice(split + 1), n]
    }),
  )
  const sessions = withIds.flatMap(({ delta, id }) => [...delta.sessions].map((sessionId) => [delta.appId, id, sessionId]))
  const sql = `WITH input (id, count, first_seen, last_seen, first_release, last_release, last_release_ts, received_at) AS (
       SELECT * FROM ${input}
     ),
     locked AS MATERIALIZED (
       SELECT i.id FROM issues i JOIN input u ON i.id = u.id ORDER BY i.id FOR NO KEY UPDATE OF i
     ),
     by_release AS (${seenIn('issue_releases', 'release', (d) => d.releases)}),
     by_environment AS (${seenIn('issue_environments', 'environment', (d) => d.environments)}),
     by_day AS (${counts('issue_days', ['day'], ['bigint'], days)}),
     by_tag AS (${counts('issue_tags', ['tag', 'value'], ['text', 'text'], tags)}),
     linked AS (
       INSERT INTO issue_sessions (app_id, issue_id, session_id)
       SELECT u.* FROM ${unnest(['bigint', 'bigint', 'text'], sessions)} AS u (app_id, issue_id, session_id) JOIN locked l ON l.id = u.issue_id
       ON CONFLICT DO NOTHING RETURNING issue_id
     ),
     linked_counts AS (SELECT issue_id, count(*) AS n FROM linked GROUP BY issue_id)
     UPDATE issues i SET
       count = i.count + u.count,
       sessions = i.sessions + coalesce(s.n, 0),
       first_release = CASE WHEN u.first_seen < i.first_seen THEN u.first_release ELSE i.first_release END,
       first_seen = LEAST(i.first_seen, u.first_seen),
       last_seen = GREATEST(i.last_seen, u.last_seen),
       last_release = CASE WHEN u.last_release IS NOT NULL AND (i.last_release IS NULL OR u.last_release_ts >= i.last_seen)
         THEN u.last_release ELSE i.last_release END,
       received_at = GREATEST(i.received_at, u.received_at)
     FROM input u JOIN locked l ON l.id = u.id LEFT JOIN linked_counts s ON s.issue_id = u.id
     WHERE i.id = u.id
     RETURNING i.id, i.status, i.resolved_at`
  return tx.query<CountedIssue>(sql, params)
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

import { pagePath } from '../../analytics/eventDimensions.js'
import { collectDailyCounts } from '../collectDailyCounts.js'
import { issueDeltaKey } from '../issues/collectIssueDeltas.js'
import { addToSession, markEntryExit, sessionDeltaKey, viewMarkParams, type SessionDelta, type ViewMark } from '../sessionDeltas.js'
import type { IngestBatch } from '../Store.js'
import { createPostgresRollupMarker, type PostgresRollupHours } from './createPostgresRollupMarker.js'
import type { EventPartitions } from './eventPartitions.js'
import type { PgDatabase, PgQueryable } from './openPostgresPool.js'
import { isTransient, retryTransient, sqlState } from './retryTransient.js'
import { unnestRows } from './unnestRows.js'
import { writeIssueDeltas } from './writeIssueDeltas.js'

/** A batch with each event's JSON, made before any transaction: an event that cannot be serialized fails its batch alone. */
interface PreparedBatch {
  batch: IngestBatch
  data: string[]
}

/** The stored version of a view, as this write sees it: read from the database, then replaced by the group's versions. */
interface StoredView {
  id: number
  ts: number
  version: number
  receivedAt: number
}

/** A row of `events` (the columns of EVENT_COLUMNS, in order). */
type EventRow = [id: number, appId: number, type: string, ts: number, receivedAt: number, upsertKey: string | null, version: number, issueId: number | null, sessionId: string | null, data: string]
const EVENT_COLUMNS = 'id, app_id, type, ts, received_at, upsert_key, version, issue_id, session_id, data'
const EVENT_TYPES = ['bigint', 'bigint', 'text', 'bigint', 'bigint', 'text', 'bigint', 'bigint', 'text', 'text']

/** What a group writes to `events` and `event_keys`, and how it changes sessions, worked out in memory. */
interface EventPlan {
  rows: EventRow[]
  /** Stored views the group replaced: (app_id, id, received_at) of the rows to delete. */
  replaced: Array<[number, number, number]>
  /** The views' new stored versions: (app_id, upsert_key, event_id, received_at, version). */
  keys: Array<[number, string, number, number, number]>
  sessions: Map<string, SessionDelta>
  /** Sessions with a view whose new version moved in time: their entry and exit are read again after the write. */
  moved: Set<string>
}

/**
 * Errors a batch's own data can cause (SQLSTATE classes 22 data exception, e.g. U+0000 in jsonb; 23 integrity
 * constraint; 54 program limit, e.g. a value too large): another batch of the group may well succeed alone.
 */
const isBatchFault = (error: unknown) => ['22', '23', '54'].includes(sqlState(error)?.slice(0, 2) ?? '')

/** PostgreSQL's "no partition of relation … found for row": another node dropped a partition this node thought it had. */
const CHECK_VIOLATION = '23514'
const isMissingPartition = (error: unknown) => sqlState(error) === CHECK_VIOLATION && error instanceof Error && error.message.includes('no partition')

/**
 * Writes ingest batches to PostgreSQL with the semantics of SQLite's writer (sqlite/createEventWriter.ts), for
 * several nodes writing one database at once. A group of batches is one transaction of a dozen statements,
 * each writing all of the group's rows of one table (`unnest` of one array per column): events, views'
 * stored versions, session summaries, issues, daily counts and rollup marks. Should the group fail, each
 * batch is written again under its own savepoint in one transaction, so a bad batch fails alone and every
 * batch is stored whole or not at all.
 *
 * Concurrency: several groups are written at once (by this node's writers and other nodes'). The rows many
 * groups share (sessions, issues, daily counts, rollup marks) are locked only after the events are inserted,
 * so the groups wait for each other only for the short end of their transactions (writeGroup). Every statement
 * takes its row locks in key order and the statements run in the same order in every transaction, so writers
 * wait for each other instead of deadlocking; a view's stored version is decided under the lock of its
 * `event_keys` row, so of two nodes writing versions of one view the higher version wins. A deadlock or
 * serialization failure PostgreSQL reports all the same reruns the whole transaction.
 */
export function createPostgresEventWriter(db: PgDatabase, partitions: EventPartitions): (batches: readonly IngestBatch[]) => Promise<Array<Error | undefined>> {
  /** Runs one transaction, again after a transient failure, and once more after finding a partition missing. */
  async function run<T>(receivedAts: readonly number[], work: (tx: PgQueryable) => Promise<T>): Promise<T> {
    await partitions.ensure(receivedAts)
    try {
      return await retryTransient(() => db.transaction(work))
    } catch (error) {
      if (!isMissingPartition(error)) throw error
      partitions.forget()
      await partitions.ensure(receivedAts)
      return retryTransient(() => db.transaction(work))
    }
  }

  /** Each batch under its own savepoint: one that fails is rolled back alone; results by batch. */
  function writeEach(group: readonly PreparedBatch[]) {
    return async (tx: PgQueryable): Promise<Array<Error | undefined>> => {
      const results: Array<Error | undefined> = []
      for (const prepared of group) {
        await tx.query('SAVEPOINT batch')
        try {
          await writeGroup(tx, [prepared])
          await tx.query('RELEASE SAVEPOINT batch')
          results.push(undefined)
        } catch (error) {
          // The whole transaction is run again for these: they are nobody's fault.
          if (isTransient(error) || isMissingPartition(error)) throw error
          await tx.query('ROLLBACK TO SAVEPOINT batch')
          results.push(asError(error))
        }
      }
      return results
    }
  }

  return async (batches) => {
    const results: Array<Error | undefined> = batches.map(() => undefined)
    const group: Array<PreparedBatch & { index: number }> = []
    batches.forEach((batch, index) => {
      try {
        group.push({ batch, data: batch.events.map((event) => JSON.stringify(event)), index })
      } catch (error) {
        results[index] = asError(error)
      }
    })
    if (group.length === 0) return results
    const receivedAts = group.flatMap(({ batch }) => batch.events.map((event) => event.received_at))
    try {
      await run(receivedAts, (tx) => writeGroup(tx, group))
    } catch (groupError) {
      try {
        // A lost connection or a full disk fails every batch: trying each again would only double the wait.
        const each = group.length === 1 || !isBatchFault(groupError) ? group.map(() => asError(groupError)) : await run(receivedAts, writeEach(group))
        group.forEach(({ index }, i) => (results[index] = each[i]))
      } catch (error) {
        for (const { index } of group) results[index] = asError(error)
      }
    }
    return results
  }
}

/**
 * One group in the current transaction, in two parts, in the same order in every writer.
 *
 * First what groups hardly share, including the bulk of the work, the events' insert: the issues' ids (an
 * existing issue is only held FOR KEY SHARE, which no other writer waits for; a new one is inserted, and a
 * writer creating the same issue meanwhile waits for this transaction at that first statement, before it holds
 * anything this one could want), then the views' `event_keys` rows and the events.
 *
 * Then the rows many groups share. Each is held from its statement to COMMIT, so they are taken as late as can
 * be, least shared first: the sessions (one per visitor), the releases (rarely written) and issues with their
 * rows (writeIssueDeltas), the day's counts and the hours' rollup marks (every group of an app). Several groups
 * can thus insert their events at once and queue only for this short end. Every statement locks its rows in
 * key order, so writers wait for each other instead of deadlocking.
 */
async function writeGroup(tx: PgQueryable, group: readonly PreparedBatch[]): Promise<void> {
  const batches = group.map(({ batch }) => batch)
  // Rollup hours are collected first, while the sessions are as they were (read without a lock), and marked last.
  const hours = await createPostgresRollupMarker(tx, batches)
  const issues = await writeIssueDeltas(tx, batches)
  const stored = await lockViews(tx, batches)
  const ids = await allocateEventIds(tx, countNewRows(batches, stored))
  const plan = planEvents(group, stored, ids, issues.ids, hours)
  await writeEvents(tx, plan)
  // The shared rows, from here to COMMIT.
  // A session's rollup lives in its start hour, and another node may have moved the start since the marker read
  // it: the start this commit leaves, read under the session row's lock, is marked too.
  for (const row of await upsertSessions(tx, plan.sessions, plan.moved)) hours.add(row.app_id, row.start_ts)
  await issues.write()
  await bumpCounts(tx, batches)
  await hours.mark()
}

const viewKey = (appId: number, viewId: string) => `${appId} ${viewId}`

/**
 * Locks the `event_keys` row of every view in the group, in key order, creating the missing ones (with a
 * placeholder event id, -1, replaced before commit), and returns the stored version of each view that has one.
 * A node writing a version of the same view meanwhile waits for this transaction to end, then sees its result.
 */
async function lockViews(tx: PgQueryable, batches: readonly IngestBatch[]): Promise<Map<string, StoredView>> {
  const views = new Map<string, [number, string]>()
  for (const { appId, events } of batches) for (const event of events) if (event.type === 'view') views.set(viewKey(appId, event.view.id), [appId, event.view.id])
  if (views.size === 0) return new Map()
  const keys = unnestRows(['bigint', 'text'], [...views.values()])
  const locked = await tx.query<{ app_id: number; upsert_key: string; event_id: number; received_at: number }>(
    `INSERT INTO event_keys AS k (app_id, upsert_key, event_id, received_at, version)
     SELECT app_id, upsert_key, -1, 0, 0 FROM ${keys.from} AS u (app_id, upsert_key) ORDER BY 1, 2
     ON CONFLICT (app_id, upsert_key) DO UPDATE SET event_id = k.event_id
     RETURNING app_id, upsert_key, event_id, received_at`,
    keys.values,
  )
  const existing = locked.filter((row) => row.event_id !== -1)
  if (existing.length === 0) return new Map()
  // A statement of its own: it must see the rows of a transaction the lock above waited for. A key whose event
  // is gone (retention deleted it, or dropped its partition) stands for no stored view, as in SQLite.
  const events = unnestRows(['bigint', 'bigint', 'bigint'], existing.map((row) => [row.app_id, row.event_id, row.received_at]))
  const rows = await tx.query<{ app_id: number; upsert_key: string; id: number; ts: number; version: number; received_at: number }>(
    `SELECT e.app_id, e.upsert_key, e.id, e.ts, e.version, e.received_at FROM events e
     JOIN ${events.from} AS u (app_id, id, received_at) ON e.app_id = u.app_id AND e.id = u.id AND e.received_at = u.received_at`,
    events.values,
  )
  return new Map(rows.map((row) => [viewKey(row.app_id, row.upsert_key), { id: row.id, ts: row.ts, version: row.version, receivedAt: row.received_at }]))
}

/** Rows that need a new id: every event but a view's later versions, which keep their view's id. */
function countNewRows(batches: readonly IngestBatch[], stored: Map<string, StoredView>): number {
  let count = 0
  const views = new Set<string>()
  for (const { appId, events } of batches) {
    for (const event of events) {
      if (event.type !== 'view') count++
      else if (!stored.has(viewKey(appId, event.view.id))) views.add(viewKey(appId, event.view.id))
    }
  }
  return count + views.size
}

/** Ids from the events' sequence, ascending, so that (ts, id) order is arrival order as in SQLite. */
async function allocateEventIds(tx: PgQueryable, count: number): Promise<number[]> {
  if (count === 0) return []
  const rows = await tx.query<{ id: number }>("SELECT nextval('events_id_seq') AS id FROM generate_series(1, $1)", [count])
  return rows.map((row) => row.id).sort((a, b) => a - b)
}

/**
 * Replays the group's events in order against the views' stored versions, as SQLite's writer does one insert
 * at a time: a view's version at least as high as the stored one replaces it (keeping its id), the session
 * counts a view once, when it first arrives, and entry and exit views are marked by (ts, id).
 */
function planEvents(group: readonly PreparedBatch[], stored: Map<string, StoredView>, ids: readonly number[], issueIds: Map<string, number>, hours: PostgresRollupHours): EventPlan {
  let next = 0
  const current = new Map(stored)
  const written = new Map<string, EventRow>()
  const plan: EventPlan = { rows: [], replaced: [], keys: [], sessions: new Map(), moved: new Set() }
  for (const { batch, data } of group) {
    batch.events.forEach((event, i) => {
      const sessionId = event.session?.id ?? null
      if (event.type !== 'view') {
        const issueId = (event.type === 'error' || event.type === 'report') && event.issue ? issueIds.get(issueDeltaKey(batch.appId, event.issue.fingerprint)) : undefined
        plan.rows.push([ids[next++]!, batch.appId, event.type, event.ts, event.received_at, null, 0, issueId ?? null, sessionId, data[i]!])
        if (sessionId !== null) addToSession(plan.sessions, batch.appId, sessionId, event, 0)
        return
      }
      const key = viewKey(batch.appId, event.view.id)
      const before = current.get(key)
      // The version it replaces counted in its own hour, which must be rebuilt too.
      if (before) hours.add(batch.appId, before.ts)
      const version = event.view.version ?? 0
      // An older version than the stored one changes nothing.
      const replaces = !before || version >= before.version
      const id = before?.id ?? ids[next++]!
      if (replaces) {
        current.set(key, { id, ts: event.ts, version, receivedAt: event.received_at })
        written.set(key, [id, batch.appId, 'view', event.ts, event.received_at, event.view.id, version, null, sessionId, data[i]!])
      }
      if (sessionId === null) return
      const delta = addToSession(plan.sessions, batch.appId, sessionId, event, before ? 0 : 1)
      if (!replaces) return
      if (before && before.ts !== event.ts) plan.moved.add(sessionDeltaKey(batch.appId, sessionId))
      markEntryExit(delta, { ts: event.ts, id, page: pagePath(event.view.url), env: event.env ?? null })
    })
  }
  for (const [key, row] of written) {
    const [id, appId, , , receivedAt, viewId, version] = row
    const old = stored.get(key)
    if (old) plan.replaced.push([appId, old.id, old.receivedAt])
    plan.rows.push(row)
    plan.keys.push([appId, viewId!, id, receivedAt, version])
  }
  return plan
}

/**
 * Deletes the replaced versions of views, then inserts every row and points the views' keys at their new
 * versions. A replaced view keeps its id but may move to another week's partition, so it is deleted and
 * inserted rather than updated.
 */
async function writeEvents(tx: PgQueryable, plan: EventPlan): Promise<void> {
  if (plan.replaced.length > 0) {
    const { from, values } = unnestRows(['bigint', 'bigint', 'bigint'], plan.replaced)
    await tx.query(`DELETE FROM events e USING ${from} AS u (app_id, id, received_at) WHERE e.app_id = u.app_id AND e.id = u.id AND e.received_at = u.received_at`, values)
  }
  if (plan.rows.length === 0) return
  const events = unnestRows(EVENT_TYPES, plan.rows)
  const keys = unnestRows(['bigint', 'text', 'bigint', 'bigint', 'bigint'], plan.keys, EVENT_TYPES.length + 1)
  await tx.query(
    `WITH keys AS (
       UPDATE event_keys k SET event_id = u.event_id, received_at = u.received_at, version = u.version
       FROM ${keys.from} AS u (app_id, upsert_key, event_id, received_at, version)
       WHERE k.app_id = u.app_id AND k.upsert_key = u.upsert_key
     )
     INSERT INTO events (${EVENT_COLUMNS})
     SELECT id, app_id, type, ts, received_at, upsert_key, version, issue_id, session_id, data::jsonb FROM ${events.from} AS u (${EVENT_COLUMNS})`,
    [...events.values, ...keys.values],
  )
}

// Entry and exit views (SQLite migration 16): a group's first view replaces the stored entry only if it comes
// before it by (ts, id), its last view the stored exit only if it comes after. In DO UPDATE every expression
// reads the row as it was, so each CASE compares with the old entry or exit.
const ENTRY_FIRST = '(excluded.entry_ts IS NOT NULL AND (s.entry_ts IS NULL OR excluded.entry_ts < s.entry_ts OR (excluded.entry_ts = s.entry_ts AND excluded.entry_id < s.entry_id)))'
const EXIT_LAST = '(excluded.exit_ts IS NOT NULL AND (s.exit_ts IS NULL OR excluded.exit_ts > s.exit_ts OR (excluded.exit_ts = s.exit_ts AND excluded.exit_id > s.exit_id)))'
const SESSION_TYPES = ['bigint', 'text', 'bigint', 'bigint', 'bigint', 'bigint', 'bigint', 'integer', 'text', 'text', 'text', 'text', 'bigint', 'text', 'bigint', 'bigint', 'text', 'text', 'bigint', 'bigint', 'text']

/** Upserts the group's session summaries; returns each one's row as it now is. */
async function upsertSessions(tx: PgQueryable, sessions: Map<string, SessionDelta>, moved: Set<string>): Promise<Array<{ app_id: number; start_ts: number }>> {
  if (sessions.size === 0) return []
  const { from, values } = unnestRows(
    SESSION_TYPES,
    [...sessions.values()].map((d) => {
      const marks = viewMarkParams(d.entry, d.exit)
      return [d.appId, d.sessionId, d.start, d.end, d.views, d.actions, d.errors, d.errors > 0 ? 1 : 0, d.country, d.browser, d.os, d.deviceType, d.receivedAt, d.release,
        marks.entryTs, marks.entryId, marks.entryPage, marks.env, marks.exitTs, marks.exitId, marks.exitPage]
    }),
  )
  const rows = await tx.query<{ app_id: number; session_id: string; start_ts: number; end_ts: number }>(
    `INSERT INTO sessions AS s (app_id, session_id, start_ts, end_ts, views, actions, errors, has_error, country, browser, os, device_type, received_at, release,
       entry_ts, entry_id, entry_page, env, exit_ts, exit_id, exit_page)
     SELECT * FROM ${from} ORDER BY 1, 2
     ON CONFLICT (app_id, session_id) DO UPDATE SET
       start_ts = LEAST(s.start_ts, excluded.start_ts), end_ts = GREATEST(s.end_ts, excluded.end_ts),
       views = s.views + excluded.views, actions = s.actions + excluded.actions, errors = s.errors + excluded.errors,
       has_error = GREATEST(s.has_error, excluded.has_error),
       country = coalesce(excluded.country, s.country), browser = coalesce(excluded.browser, s.browser),
       os = coalesce(excluded.os, s.os), device_type = coalesce(excluded.device_type, s.device_type),
       received_at = GREATEST(s.received_at, excluded.received_at), release = coalesce(excluded.release, s.release),
       entry_ts = CASE WHEN ${ENTRY_FIRST} THEN excluded.entry_ts ELSE s.entry_ts END,
       entry_id = CASE WHEN ${ENTRY_FIRST} THEN excluded.entry_id ELSE s.entry_id END,
       entry_page = CASE WHEN ${ENTRY_FIRST} THEN excluded.entry_page ELSE s.entry_page END,
       env = CASE WHEN ${ENTRY_FIRST} THEN excluded.env ELSE s.env END,
       exit_ts = CASE WHEN ${EXIT_LAST} THEN excluded.exit_ts ELSE s.exit_ts END,
       exit_id = CASE WHEN ${EXIT_LAST} THEN excluded.exit_id ELSE s.exit_id END,
       exit_page = CASE WHEN ${EXIT_LAST} THEN excluded.exit_page ELSE s.exit_page END
     RETURNING app_id, session_id, start_ts, end_ts`,
    values,
  )
  const spans = rows.filter((row) => moved.has(sessionDeltaKey(row.app_id, row.session_id)))
  if (spans.length > 0) await rereadEntryExit(tx, spans)
  return rows
}

/**
 * A view whose new version moved in time may have been the entry or exit, or become one: such sessions' entry
 * and exit are read again from their views (rare: a view's ts is its start, which versions keep).
 */
async function rereadEntryExit(tx: PgQueryable, spans: ReadonlyArray<{ app_id: number; session_id: string; start_ts: number; end_ts: number }>): Promise<void> {
  const { from, values } = unnestRows(['bigint', 'text', 'bigint', 'bigint'], spans.map((s) => [s.app_id, s.session_id, s.start_ts, s.end_ts]))
  const view = (order: 'ASC' | 'DESC') =>
    `SELECT id, ts, data->'view'->>'url' AS url, data->>'env' AS env FROM events e
     WHERE e.app_id = u.app_id AND e.ts >= u.start_ts AND e.ts <= u.end_ts AND e.session_id = u.session_id AND e.type = 'view'
     ORDER BY ts ${order}, id ${order} LIMIT 1`
  type Found = { id: number | null; ts: number | null; url: string | null; env: string | null }
  const rows = await tx.query<{ app_id: number; session_id: string; first: Found | null; last: Found | null }>(
    `SELECT u.app_id, u.session_id, to_jsonb(f) AS first, to_jsonb(l) AS last
     FROM ${from} AS u (app_id, session_id, start_ts, end_ts)
     LEFT JOIN LATERAL (${view('ASC')}) f ON true
     LEFT JOIN LATERAL (${view('DESC')}) l ON true`,
    values,
  )
  const mark = (found: Found | null): ViewMark | undefined =>
    found?.id == null ? undefined : { ts: Number(found.ts), id: Number(found.id), page: pagePath(found.url ?? undefined), env: found.env }
  const marks = rows.map((row) => {
    const m = viewMarkParams(mark(row.first), mark(row.last))
    return [row.app_id, row.session_id, m.entryTs, m.entryId, m.entryPage, m.env, m.exitTs, m.exitId, m.exitPage]
  })
  const update = unnestRows(['bigint', 'text', 'bigint', 'bigint', 'text', 'text', 'bigint', 'bigint', 'text'], marks)
  await tx.query(
    `UPDATE sessions s SET entry_ts = u.entry_ts, entry_id = u.entry_id, entry_page = u.entry_page, env = u.env, exit_ts = u.exit_ts, exit_id = u.exit_id, exit_page = u.exit_page
     FROM ${update.from} AS u (app_id, session_id, entry_ts, entry_id, entry_page, env, exit_ts, exit_id, exit_page)
     WHERE s.app_id = u.app_id AND s.session_id = u.session_id`,
    update.values,
  )
}

async function bumpCounts(tx: PgQueryable, batches: readonly IngestBatch[]): Promise<void> {
  const counts = collectDailyCounts(batches)
  if (counts.length === 0) return
  const { from, values } = unnestRows(['bigint', 'text', 'text', 'text', 'bigint'], counts.map((c) => [c.appId, c.day, c.kind, c.key, c.n]))
  await tx.query(
    `INSERT INTO daily_counts AS c (app_id, day, kind, key, count) SELECT * FROM ${from} ORDER BY 1, 2, 3, 4
     ON CONFLICT (app_id, day, kind, key) DO UPDATE SET count = c.count + excluded.count`,
    values,
  )
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

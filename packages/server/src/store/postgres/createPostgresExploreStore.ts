import type { StoredEvent } from '../../pipeline/storedEvent.js'
import { LIMITS } from '../../protocol/limits.js'
import { checkAttributePath, compareGroupKeys, GROUP_KEY_CHARS, matchCandidates, SESSION_FILTER_COLUMNS } from '../explore/attributeMatch.js'
import { EXPLORE_SCAN_CAP, type AttributePath, type ExploreQuery, type ExploreResult, type ExploreStore } from '../ExploreStore.js'
import { toSession, type SessionRow } from '../sessionRow.js'
import type { PgDatabase } from './openPostgresPool.js'

/**
 * The explorer on PostgreSQL (store/ExploreStore.ts), answering as SQLite's does (createSqliteExploreStore.ts):
 * the same indexes walked the same way, and attributes compared and grouped as SQLite's json_extract gives them
 * — a JSON string is its text, a number a double, true and false are 1 and 0, an object or array its JSON text.
 */
export function createPostgresExploreStore(db: PgDatabase): ExploreStore {
  return {
    async listSessions(query) {
      const values: unknown[] = [query.appId, query.since, query.until]
      let where = 'app_id = $1 AND start_ts >= $2 AND start_ts < $3'
      for (const [key, column] of SESSION_FILTER_COLUMNS) {
        const value = query[key]
        if (value !== undefined) where += ` AND ${column} = $${values.push(value)}`
      }
      if (query.withErrors) where += ' AND has_error = 1'
      const limit = `$${values.push(Math.max(0, Math.floor(query.limit)))}`
      const offset = `$${values.push(Math.max(0, Math.floor(query.offset)))}`
      // Ties in start by id, bytewise as SQLite compares text.
      const rows = await db.query<SessionRow>(`SELECT * FROM sessions WHERE ${where} ORDER BY start_ts DESC, session_id COLLATE "C" DESC LIMIT ${limit} OFFSET ${offset}`, values)
      return rows.map(toSession)
    },

    async getSession(appId, sessionId) {
      const [row] = await db.query<SessionRow>('SELECT * FROM sessions WHERE app_id = $1 AND session_id = $2', [appId, sessionId])
      return row && toSession(row)
    },

    async sessionEvents({ appId, sessionId, types, limit }) {
      const [span] = await db.query<{ start_ts: number; end_ts: number }>('SELECT start_ts, end_ts FROM sessions WHERE app_id = $1 AND session_id = $2', [appId, sessionId])
      if (!span) return []
      const values: unknown[] = [appId, span.start_ts, span.end_ts, sessionId, Math.max(0, Math.floor(limit))]
      const typeFilter = types?.length ? ` AND type = ANY($${values.push([...types])}::text[])` : ''
      // A session's events lie within its summary's [start_ts, end_ts] (the writer widens both with every event):
      // each partition's (app_id, ts, id, session_id) index is walked over that span, the session id checked in
      // the index, and only the session's own rows are read.
      const rows = await db.query<{ data: StoredEvent }>(
        `SELECT data FROM events WHERE app_id = $1 AND ts >= $2 AND ts <= $3 AND session_id = $4${typeFilter} ORDER BY ts, id LIMIT $5`,
        values,
      )
      return rows.map((row) => row.data)
    },

    explore: (query) => explore(db, query),

    async purgeApp() {
      return 0
    },
  }
}

/**
 * One type is read through (app_id, type, received_at): an event's `ts` is clamped to [received_at − tsPastMs,
 * received_at + tsFutureMs] (protocol/limits.ts), so a `ts` range maps to a slightly wider `received_at` range,
 * which also prunes the weekly partitions; `ts` is checked on the rows read. Every type is read through
 * (app_id, ts, id, session_id). Either way the newest EXPLORE_SCAN_CAP index entries are the most that is read:
 * the entry just past the cap is found first (an index-only walk) and, if there is one, the range narrowed to
 * what lies after it.
 */
async function explore(db: PgDatabase, query: ExploreQuery): Promise<ExploreResult> {
  if (!(query.bucketMs >= 1) || !(query.until > query.since)) throw new RangeError('The explorer needs a time range and a bucket width.')
  // Checked before anything is read: a path that cannot be quoted is refused, as on SQLite.
  const filterPaths = query.filters.map((filter) => jsonPath(filter.path))
  const groupPath = query.groupBy && jsonPath(query.groupBy)
  const typed = query.type !== undefined
  const cap = Math.max(1, Math.min(EXPLORE_SCAN_CAP, Math.floor(query.scanCap ?? EXPLORE_SCAN_CAP)))
  const origin = Math.floor(query.since / query.bucketMs) * query.bucketMs

  const values: unknown[] = []
  const param = (value: unknown) => `$${values.push(value)}`
  const appId = param(query.appId)
  let range: string
  let coveredFrom: number | null = null
  if (typed) {
    const received = `app_id = ${appId} AND type = ${param(query.type)} AND received_at >= ${param(query.since - LIMITS.tsFutureMs)} AND received_at < ${param(query.until + LIMITS.tsPastMs)}`
    const [cutoff] = await db.query<{ at: number }>(`SELECT received_at AS at FROM events WHERE ${received} ORDER BY received_at DESC LIMIT 1 OFFSET ${param(cap)}`, values)
    values.pop()
    range = `${received} AND ts >= ${param(query.since)} AND ts < ${param(query.until)}`
    if (cutoff) {
      // Only entries received after the cutoff are read. Of those, keep the events whose `ts` is late enough
      // that every event of that time was received after the cutoff: the covered range is then exact in `ts`.
      coveredFrom = Math.max(query.since, cutoff.at + LIMITS.tsFutureMs)
      range += ` AND received_at > ${param(cutoff.at)} AND ts > ${param(coveredFrom)}`
    }
  } else {
    range = `app_id = ${appId} AND ts >= ${param(query.since)} AND ts < ${param(query.until)}`
    const [cutoff] = await db.query<{ at: number }>(`SELECT ts AS at FROM events WHERE ${range} ORDER BY ts DESC LIMIT 1 OFFSET ${param(cap)}`, values)
    values.pop()
    if (cutoff) {
      coveredFrom = Math.max(query.since, cutoff.at)
      range += ` AND ts > ${param(coveredFrom)}`
    }
  }

  // Each attribute is looked up once per row (the first CTE), then compared or grouped by its value as
  // json_extract gives it (sqliteValue). Strict jsonpath, so that a segment never indexes an array: json_extract's
  // `$."0"` does not either.
  const lookup = (path: string) => `jsonb_path_query_first(data, ${param(path)}::jsonpath, '{}'::jsonb, true)`
  const fields = filterPaths.map((path, i) => `${lookup(path)} AS f${i}`)
  if (groupPath) fields.push(`${lookup(groupPath)} AS g0`)
  const conditions = query.filters.map((filter, i) => {
    const candidates = filter.values.flatMap(matchCandidates)
    return `${param(JSON.stringify(candidates))}::jsonb @> jsonb_build_array(${sqliteValue(`f${i}`, null)})`
  })
  const group = groupPath ? sqliteValue('g0', GROUP_KEY_CHARS) : 'NULL::jsonb'
  const matched =
    fields.length === 0
      ? `matched AS MATERIALIZED (SELECT id, ts, received_at, NULL::jsonb AS g FROM events WHERE ${range})`
      : `scanned AS MATERIALIZED (SELECT id, ts, received_at, ${fields.join(', ')} FROM events WHERE ${range}),
         matched AS MATERIALIZED (SELECT id, ts, received_at, ${group} AS g FROM scanned${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''})`
  const newest = typed ? 'received_at DESC, id DESC' : 'ts DESC, id DESC'
  // One pass over the rows: the matching events' ids, times and group values are kept, and the series, the
  // groups and the latest events are all taken from them. Groups in SQLite's order: count, then NULL, numbers,
  // text (bytewise).
  const groups = groupPath
    ? `UNION ALL
       (SELECT 1, NULL, g, count(*), NULL FROM matched GROUP BY g
        ORDER BY count(*) DESC, g IS NOT NULL, jsonb_typeof(g) = 'string', CASE WHEN jsonb_typeof(g) = 'number' THEN (g #>> '{}')::float8 END, (g #>> '{}') COLLATE "C"
        LIMIT ${param(Math.max(0, Math.floor(query.groupLimit)))})`
    : ''
  const rows = await db.query<{ part: number; k: number | null; g: string | number | null; n: number | null; data: StoredEvent | null }>(
    `WITH ${matched}
     SELECT 0 AS part, floor((ts - ${param(origin)})::float8 / ${param(query.bucketMs)}::float8)::bigint AS k, NULL::jsonb AS g, count(*) AS n, NULL::jsonb AS data FROM matched GROUP BY 2
     ${groups}
     UNION ALL
     (SELECT 2, m.rank, NULL, NULL, e.data
      FROM (SELECT id, received_at, row_number() OVER (ORDER BY ${newest}) AS rank FROM matched ORDER BY ${newest} LIMIT ${param(Math.max(0, Math.floor(query.eventLimit)))}) m
      JOIN events e ON e.app_id = ${appId} AND e.id = m.id AND e.received_at = m.received_at)`,
    values,
  )

  const bucketCount = Math.ceil((query.until - origin) / query.bucketMs)
  const counts = new Map<number, number>()
  const grouped: ExploreResult['groups'] = []
  const latest: Array<{ rank: number; event: StoredEvent }> = []
  let total = 0
  for (const row of rows) {
    if (row.part === 0) {
      counts.set(row.k!, row.n!)
      total += row.n!
    } else if (row.part === 1) {
      grouped.push({ key: row.g, count: row.n! })
    } else {
      latest.push({ rank: row.k!, event: row.data! })
    }
  }
  // UNION ALL keeps each part's rows together but promises no order across the join: the rank restores it.
  latest.sort((a, b) => a.rank - b.rank)
  grouped.sort((a, b) => b.count - a.count || compareGroupKeys(a.key, b.key))
  const series = Array.from({ length: bucketCount }, (_, i) => ({ start: origin + i * query.bucketMs, count: counts.get(i) ?? 0 }))
  return { total, series, groups: grouped, events: latest.map((row) => row.event), coveredFrom }
}

/**
 * A jsonb value as SQLite's json_extract gives it, as jsonb: a string as itself, a number as a double, true and
 * false as 1 and 0, an object or array as its JSON text, JSON null as NULL. Text is cut to `cut` characters
 * when given (group keys). Objects' text is PostgreSQL's (keys sorted, spaces after `:` and `,`), not the text
 * sent: jsonb keeps no other.
 */
function sqliteValue(column: string, cut: number | null): string {
  const text = (expr: string) => (cut === null ? expr : `left(${expr}, ${cut})`)
  return `CASE jsonb_typeof(${column})
    WHEN 'string' THEN ${cut === null ? column : `to_jsonb(${text(`(${column} #>> '{}')`)})`}
    WHEN 'number' THEN to_jsonb((${column} #>> '{}')::float8)
    WHEN 'boolean' THEN to_jsonb(CASE WHEN ${column} = 'true'::jsonb THEN 1 ELSE 0 END)
    WHEN 'object' THEN to_jsonb(${text(`${column}::text`)})
    WHEN 'array' THEN to_jsonb(${text(`${column}::text`)})
  END`
}

/** `strict $."view"."url"`: every segment quoted, so a key with dots or spaces is one key. */
function jsonPath(path: AttributePath): string {
  return `strict $${checkAttributePath(path).map((segment) => `."${segment}"`).join('')}`
}

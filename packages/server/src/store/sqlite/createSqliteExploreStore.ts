import type Database from 'better-sqlite3'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import { LIMITS } from '../../protocol/limits.js'
import { EXPLORE_SCAN_CAP, type AttributePath, type ExploreQuery, type ExploreResult, type ExploreStore, type SessionListQuery } from '../ExploreStore.js'
import { toSession, type SessionRow } from '../sessionRow.js'
import { checkAttributePath, compareGroupKeys, GROUP_KEY_CHARS, matchCandidates, SESSION_FILTER_COLUMNS } from '../explore/attributeMatch.js'

/** SQL that names its shape in the text and takes every value as a parameter. */
interface Fragment {
  sql: string
  params: Record<string, unknown>
}

export function createSqliteExploreStore(db: Database.Database): ExploreStore {
  const getSession = db.prepare<[number, string]>('SELECT * FROM sessions WHERE app_id = ? AND session_id = ?')
  const sessionSpan = db.prepare<[number, string]>('SELECT start_ts, end_ts FROM sessions WHERE app_id = ? AND session_id = ?')

  return {
    async listSessions(query) {
      const { sql, params } = sessionFilter(query)
      const rows = db
        .prepare(`SELECT * FROM sessions WHERE ${sql} ORDER BY start_ts DESC, session_id DESC LIMIT @limit OFFSET @offset`)
        .all({ ...params, limit: Math.max(0, Math.floor(query.limit)), offset: Math.max(0, Math.floor(query.offset)) }) as SessionRow[]
      return rows.map(toSession)
    },

    async getSession(appId, sessionId) {
      const row = getSession.get(appId, sessionId) as SessionRow | undefined
      return row && toSession(row)
    },

    async sessionEvents({ appId, sessionId, types, limit }) {
      const span = sessionSpan.get(appId, sessionId) as { start_ts: number; end_ts: number } | undefined
      if (!span) return []
      const params: Record<string, unknown> = { appId, sessionId, from: span.start_ts, to: span.end_ts, limit: Math.max(0, Math.floor(limit)) }
      let typeFilter = ''
      if (types?.length) {
        typeFilter = ` AND type IN (${types.map((_, i) => `@type${i}`).join(', ')})`
        types.forEach((type, i) => (params[`type${i}`] = type))
      }
      // A session's events lie within its summary's [start_ts, end_ts] (the writer widens both with every event):
      // the time index, which carries the session id (migration 14), is walked over that span and only the
      // session's own rows are read.
      const rows = db
        .prepare(
          `SELECT data FROM events INDEXED BY events_by_app_ts_session
           WHERE app_id = @appId AND ts >= @from AND ts <= @to AND session_id = @sessionId${typeFilter} ORDER BY ts, id LIMIT @limit`,
        )
        .pluck()
        .all(params) as string[]
      return rows.map((data) => JSON.parse(data) as StoredEvent)
    },

    async explore(query) {
      return explore(db, query)
    },

    async purgeApp() {
      return 0
    },
  }
}

/**
 * One type is read through (app_id, type, received_at), an index the ingest keeps anyway: an event's `ts` is
 * clamped to [received_at − tsPastMs, received_at + tsFutureMs] (protocol/limits.ts), so a `ts` range maps to
 * a slightly wider `received_at` range, and `ts` is checked on the rows read. Every type is read through
 * (app_id, ts, session_id). Either way the newest EXPLORE_SCAN_CAP index entries are the most that is read: the query
 * first finds the entry just past the cap (an index-only walk) and, if there is one, narrows the range to
 * what lies after it.
 */
function explore(db: Database.Database, query: ExploreQuery): ExploreResult {
  if (!(query.bucketMs >= 1) || !(query.until > query.since)) throw new RangeError('The explorer needs a time range and a bucket width.')
  const typed = query.type !== undefined
  const index = typed ? 'events_by_app_type_received' : 'events_by_app_ts_session'
  const params: Record<string, unknown> = {
    appId: query.appId,
    since: query.since,
    until: query.until,
    bucket: query.bucketMs,
    origin: Math.floor(query.since / query.bucketMs) * query.bucketMs,
    groupLimit: Math.max(0, Math.floor(query.groupLimit)),
    eventLimit: Math.max(0, Math.floor(query.eventLimit)),
    cap: Math.max(1, Math.min(EXPLORE_SCAN_CAP, Math.floor(query.scanCap ?? EXPLORE_SCAN_CAP))),
  }
  let range: string
  let cutoffSql: string
  if (typed) {
    params.type = query.type
    params.receivedFrom = query.since - LIMITS.tsFutureMs
    params.receivedUntil = query.until + LIMITS.tsPastMs
    const received = 'app_id = @appId AND type = @type AND received_at >= @receivedFrom AND received_at < @receivedUntil'
    range = `${received} AND ts >= @since AND ts < @until`
    cutoffSql = `SELECT received_at FROM events INDEXED BY ${index} WHERE ${received} ORDER BY received_at DESC LIMIT 1 OFFSET @cap`
  } else {
    range = 'app_id = @appId AND ts >= @since AND ts < @until'
    cutoffSql = `SELECT ts FROM events INDEXED BY ${index} WHERE ${range} ORDER BY ts DESC LIMIT 1 OFFSET @cap`
  }

  let coveredFrom: number | null = null
  const cutoff = db.prepare(cutoffSql).pluck().get(params) as number | undefined
  if (cutoff !== undefined) {
    if (typed) {
      // Only entries received after the cutoff are read. Of those, keep the events whose `ts` is late enough
      // that every event of that time was received after the cutoff: the covered range is then exact in `ts`.
      params.cutoff = cutoff
      coveredFrom = Math.max(query.since, cutoff + LIMITS.tsFutureMs)
      params.coveredFrom = coveredFrom
      range += ' AND received_at > @cutoff AND ts > @coveredFrom'
    } else {
      coveredFrom = Math.max(query.since, cutoff)
      params.coveredFrom = coveredFrom
      range += ' AND ts > @coveredFrom'
    }
  }

  const filters = filterSql(query, params)
  const where = `${range}${filters}`
  let groupExpr = 'NULL'
  if (query.groupBy) {
    params.groupPath = jsonPath(query.groupBy)
    // Cut long text (a stack, a context object) so a group's key cannot hold a whole event in memory per row;
    // the second json_extract reuses the first one's parse (SQLite caches parsed JSON within a statement).
    groupExpr = `CASE WHEN typeof(json_extract(data, @groupPath)) = 'text' THEN substr(json_extract(data, @groupPath), 1, ${GROUP_KEY_CHARS}) ELSE json_extract(data, @groupPath) END`
  }
  // One pass over the rows, in one statement: the matching events' ids, times and group values are kept in a
  // temporary table that the series, the groups and the latest events are all taken from. Filters parse each
  // row's JSON, the costly part: a second statement would parse them all again.
  const newest = typed ? 'received_at DESC, id DESC' : 'ts DESC, id DESC'
  const rows = db
    .prepare(
      `WITH matched AS MATERIALIZED (SELECT id, ts, received_at, ${groupExpr} AS g FROM events INDEXED BY ${index} WHERE ${where})
       SELECT 0 AS part, CAST((ts - @origin) / @bucket AS INTEGER) AS k, count(*) AS n FROM matched GROUP BY k
       UNION ALL
       SELECT * FROM (SELECT 1, g, count(*) AS n FROM matched GROUP BY g ORDER BY n DESC, g LIMIT @groupLimit)
       UNION ALL
       SELECT 2, e.data, m.rank FROM (SELECT id, row_number() OVER (ORDER BY ${newest}) AS rank FROM matched ORDER BY ${newest} LIMIT @eventLimit) m
         JOIN events e ON e.id = m.id`,
    )
    .raw()
    .all(params) as Array<[number, string | number | null, number]>

  const origin = params.origin as number
  const bucketCount = Math.ceil((query.until - origin) / query.bucketMs)
  const counts = new Map<number, number>()
  const groups: ExploreResult['groups'] = []
  const latest: Array<{ rank: number; data: string }> = []
  let total = 0
  for (const [part, key, n] of rows) {
    if (part === 0) {
      counts.set(Number(key), n)
      total += n
    } else if (part === 1) {
      // Without a group the one NULL group holds every event: not a grouping anyone asked for.
      if (query.groupBy) groups.push({ key, count: n })
    } else {
      latest.push({ rank: n, data: key as string })
    }
  }
  // UNION ALL keeps each part's rows together but promises no order across the join: the rank restores it.
  latest.sort((a, b) => a.rank - b.rank)
  groups.sort((a, b) => b.count - a.count || compareGroupKeys(a.key, b.key))
  const events = latest.map((row) => JSON.parse(row.data) as StoredEvent)
  const series = Array.from({ length: bucketCount }, (_, i) => ({ start: origin + i * query.bucketMs, count: counts.get(i) ?? 0 }))

  return { total, series, groups, events, coveredFrom }
}

/** Each filter as `json_extract(data, path) IN (values)`: the path and the values are parameters. */
function filterSql(query: ExploreQuery, params: Record<string, unknown>): string {
  let sql = ''
  query.filters.forEach((filter, i) => {
    params[`path${i}`] = jsonPath(filter.path)
    const names: string[] = []
    let n = 0
    for (const value of filter.values) {
      for (const candidate of matchCandidates(value)) {
        const name = `v${i}_${n++}`
        params[name] = candidate
        names.push(`@${name}`)
      }
    }
    sql += ` AND json_extract(data, @path${i}) IN (${names.join(', ')})`
  })
  return sql
}

/** `$."view"."url"`: every segment quoted, so a key with dots or spaces is one key. */
function jsonPath(path: AttributePath): string {
  return `$${checkAttributePath(path).map((segment) => `."${segment}"`).join('')}`
}

function sessionFilter(query: SessionListQuery): Fragment {
  const params: Record<string, unknown> = { appId: query.appId, since: query.since, until: query.until }
  let sql = 'app_id = @appId AND start_ts >= @since AND start_ts < @until'
  for (const [key, column] of SESSION_FILTER_COLUMNS) {
    const value = query[key]
    if (value === undefined) continue
    params[column] = value
    sql += ` AND ${column} = @${column}`
  }
  if (query.withErrors) sql += ' AND has_error = 1'
  return { sql, params }
}


import { assertIssueKind, ISSUE_FILTER_SET, ISSUE_ORDER } from '../storeRows.js'
import { ISSUE_TAGS, type IssueBreakdown, type IssueEnvironment, type IssueQuery, type IssueRelease, type IssueTag, type ReleaseHealth, type ReleaseSummary } from './issue.js'

/** How one SQL dialect spells the parts of an issue query that differ between the adapters. */
export interface IssueQueryDialect {
  /** Adds one value to the statement's parameters and returns its placeholder (`?`, `$3`). */
  param(value: unknown): string
  /** A condition: the text `needle` occurs in `haystack`, both case-folded for ASCII letters only. */
  containsIgnoringCase(haystack: string, needle: string): string
}

export interface IssueListClauses {
  where: string
  order: string
  /** Undefined: no limit. */
  limit: number | undefined
  offset: number
}

/**
 * listIssues' WHERE, ORDER BY, LIMIT and OFFSET for both adapters, after checking the query's status, kind and
 * sort (a RangeError for an unknown one, before any SQL runs). Values go through `dialect.param`.
 */
export function issueQuery(query: IssueQuery, dialect: IssueQueryDialect): IssueListClauses {
  const { appId, status, kind, release, environment, search } = query
  if (status !== undefined && !ISSUE_FILTER_SET.has(status)) throw new RangeError(`Unknown issue status: ${String(status)}`)
  if (kind !== undefined) assertIssueKind(kind)
  const order = ISSUE_ORDER[query.sort ?? 'last_seen']
  if (!order) throw new RangeError(`Unknown issue sort: ${String(query.sort)}`)

  const { param } = dialect
  const conditions = [`app_id = ${param(appId)}`]
  if (kind !== undefined) conditions.push(`kind = ${param(kind)}`)
  if (status === 'regressed') conditions.push("status = 'open' AND regressed_at IS NOT NULL")
  else if (status !== undefined) conditions.push(`status = ${param(status)}`)
  if (release !== undefined) conditions.push(`id IN (SELECT issue_id FROM issue_releases WHERE app_id = ${param(appId)} AND release = ${param(release)})`)
  if (environment !== undefined) {
    conditions.push(`id IN (SELECT issue_id FROM issue_environments WHERE app_id = ${param(appId)} AND environment = ${param(environment)})`)
  }
  if (search) {
    conditions.push(`(${dialect.containsIgnoringCase('title', param(search))} OR ${dialect.containsIgnoringCase("coalesce(culprit, '')", param(search))})`)
  }
  return {
    where: conditions.join(' AND '),
    order,
    limit: query.limit === undefined ? undefined : Math.max(0, Math.floor(query.limit)),
    offset: query.offset === undefined ? 0 : Math.max(0, Math.floor(query.offset)),
  }
}

/**
 * issueBreakdown's tags from rows ordered by tag, then most events first: at most `tagValues` values per tag,
 * every tag present (empty when it has none).
 */
export function groupIssueTags(rows: ReadonlyArray<{ tag: string; value: string; count: number }>, tagValues: number): IssueBreakdown['tags'] {
  const tags = Object.fromEntries(ISSUE_TAGS.map((tag) => [tag, [] as Array<{ value: string; count: number }>])) as IssueBreakdown['tags']
  for (const row of rows) {
    const list = tags[row.tag as IssueTag] as IssueBreakdown['tags'][IssueTag] | undefined
    if (list && list.length < tagValues) list.push({ value: row.value, count: row.count })
  }
  return tags
}

export interface IssueReleaseRow {
  release: string
  first_seen: number
  last_seen: number
  count: number
}
export function toIssueRelease(r: IssueReleaseRow): IssueRelease {
  return { release: r.release, firstSeen: r.first_seen, lastSeen: r.last_seen, count: r.count }
}

export interface IssueEnvironmentRow {
  environment: string
  first_seen: number
  last_seen: number
  count: number
}
export function toIssueEnvironment(r: IssueEnvironmentRow): IssueEnvironment {
  return { environment: r.environment, firstSeen: r.first_seen, lastSeen: r.last_seen, count: r.count }
}

export interface ReleaseSummaryRow {
  release: string
  first_seen: number
  last_seen: number
  errors: number
  issues: number
  new_issues: number
}
export function toReleaseSummary(r: ReleaseSummaryRow): ReleaseSummary {
  return { release: r.release, firstSeen: r.first_seen, lastSeen: r.last_seen, errors: r.errors, issues: r.issues, newIssues: r.new_issues }
}

export interface ReleaseHealthRow {
  release: string | null
  sessions: number
  crashed: number
}
export function toReleaseHealth(r: ReleaseHealthRow): ReleaseHealth {
  return { release: r.release, sessions: r.sessions, crashed: r.crashed, crashFreeRate: (r.sessions - r.crashed) / r.sessions }
}

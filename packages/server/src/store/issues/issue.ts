/**
 * Issues (issue 5): error events, and browser reports, grouped by the fingerprint that fingerprintError gave
 * them, per app.
 * An issue holds only what is derived from already-scrubbed events — the fingerprint, a title and culprit from
 * the first event, counts, times and release names — never an IP address, User-Agent or visitor key.
 */

/** What an issue groups: `error` events, or browser `report` events (CSP violations, crashes, …). */
export const ISSUE_KINDS = ['error', 'report'] as const
export type IssueKind = (typeof ISSUE_KINDS)[number]

export const ISSUE_STATUSES = ['open', 'resolved', 'ignored'] as const
export type IssueStatus = (typeof ISSUE_STATUSES)[number]

/**
 * What `listIssues` filters on: a status, or `regressed` — open again after a regression (`regressedAt` set)
 * and not reopened by hand since.
 */
export const ISSUE_FILTERS = [...ISSUE_STATUSES, 'regressed'] as const
export type IssueFilter = (typeof ISSUE_FILTERS)[number]

/** Orders of `listIssues`, each newest or largest first. */
export const ISSUE_SORTS = ['last_seen', 'count', 'sessions', 'first_seen'] as const
export type IssueSort = (typeof ISSUE_SORTS)[number]

/**
 * The newest events kept per issue (errors or reports) beyond its first one; older ones are deleted by the
 * retention pass while the issue's counts stay exact (a bounded sample, as Sentry keeps).
 */
export const ISSUE_SAMPLE_NEWEST = 100

export interface Issue {
  id: number
  appId: number
  /** 32 hex characters (IssueKey.fingerprint): unique per app. */
  fingerprint: string
  /** Error events or browser reports; each kind expires with its own retention setting. */
  kind: IssueKind
  /** From the issue's first event: `Type: first line of the message`, or the report's (`Crash: oom`). */
  title: string
  /** The top in-app frame of the first event, `function (file)`, when it had one. */
  culprit: string | null
  /** `error.type` of the first event, e.g. TypeError; for a report issue the report type, e.g. csp-violation. */
  type: string | null
  status: IssueStatus
  /** When it was last resolved; null unless the status is `resolved`. */
  resolvedAt: number | null
  /** `ts` of the event that last re-opened it after a resolution; cleared when it is reopened by hand. */
  regressedAt: number | null
  /** Earliest and latest event time (`ts`). */
  firstSeen: number
  lastSeen: number
  /** Every event ever grouped into it, including those the retention pass deleted from the sample. */
  count: number
  /** Distinct sessions affected, exact. */
  sessions: number
  /** Release of its first event, and of its latest event that had one. */
  firstRelease: string | null
  lastRelease: string | null
  /** When its latest event was received: retention counts from here. */
  receivedAt: number
}

export interface IssueQuery {
  appId: number
  status?: IssueFilter
  /** Only issues of this kind; both when not given. */
  kind?: IssueKind
  /** Only issues seen in this release. */
  release?: string
  /** Only issues seen in this environment (the events' `env`). */
  environment?: string
  /** Only issues whose title or culprit contains this text (case-insensitive for ASCII letters). */
  search?: string
  /** `last_seen` when not given. */
  sort?: IssueSort
  limit?: number
  offset?: number
}

/** One release an issue was seen in, with its own counts. */
export interface IssueRelease {
  release: string
  /** Earliest and latest event time (`ts`) of the issue in this release. */
  firstSeen: number
  lastSeen: number
  count: number
}

/** One environment (`env`: production, staging, …) an issue was seen in, with its own counts. */
export interface IssueEnvironment {
  environment: string
  /** Earliest and latest event time (`ts`) of the issue in this environment. */
  firstSeen: number
  lastSeen: number
  count: number
}

/** Tags an issue's events are counted by (IssueBreakdown.tags). */
export const ISSUE_TAGS = ['browser', 'os', 'device', 'country'] as const
export type IssueTag = (typeof ISSUE_TAGS)[number]

/** Exact counts of an issue's events per UTC day (event time) and per value of each tag, most events first. */
export interface IssueBreakdown {
  days: Array<{ day: number; count: number }>
  tags: Record<IssueTag, Array<{ value: string; count: number }>>
}

/**
 * Session health of one release: sessions whose latest release was this one (null: sessions whose events
 * named no release), how many of them had an error, and the share that had none.
 */
export interface ReleaseHealth {
  release: string | null
  sessions: number
  /** Sessions with at least one error event (handled or not): `has_error`. */
  crashed: number
  /** (sessions − crashed) / sessions, from 0 to 1. */
  crashFreeRate: number
}

/**
 * A release of an app with its error counts (issue 5: "releases are first-class fields with per-release
 * counts"): when it was first and last received, error events and error issues seen in it, and issues it
 * introduced. Session health comes from crashFreeSessions.
 */
export interface ReleaseSummary {
  release: string
  /** Receive times of its first and latest event. */
  firstSeen: number
  lastSeen: number
  /** Error events of the app's error issues in this release (exact, like issue counts). */
  errors: number
  /** Error issues seen in it. */
  issues: number
  /** Error issues whose first event came from it. */
  newIssues: number
}

export interface ReleaseHealthQuery {
  appId: number
  /** Inclusive lower bound on the session's start. */
  since?: number
  /** Exclusive upper bound on the session's start. */
  until?: number
}

export function isIssueKind(value: string): value is IssueKind {
  return (ISSUE_KINDS as readonly string[]).includes(value)
}

export function isIssueStatus(value: string): value is IssueStatus {
  return (ISSUE_STATUSES as readonly string[]).includes(value)
}

import type { StackFrame } from '../errors/parseStack.js'
import type { StoredEvent } from '../pipeline/storedEvent.js'
import type { ResolvedFrame } from '../sourcemaps/createStackResolver.js'
import type { Issue, IssueBreakdown, IssueEnvironment, IssueRelease, ReleaseHealth, ReleaseSummary } from '../store/issues/issue.js'
import type { Store } from '../store/Store.js'

/**
 * The JSON shapes of issues and releases, shared by `tacit issues --json` / `tacit issue --json` and the
 * `/api/v1` routes (docs/API.md), so a script can move from one to the other. Times are ISO 8601 strings.
 */

export type ErrorEvent = Extract<StoredEvent, { type: 'error' }>
export type ReportEvent = Extract<StoredEvent, { type: 'report' }>

export function isoTime(ms: number): string {
  return new Date(ms).toISOString()
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : isoTime(ms)
}

/** `regressed` is open again after a regression and not reopened by hand since. */
export function isRegressed(issue: Issue): boolean {
  return issue.status === 'open' && issue.regressedAt !== null
}

/** An issue with the releases and environments it was seen in, read from the store. */
export async function readIssueJson(store: Pick<Store, 'issueReleases' | 'issueEnvironments'>, issue: Issue) {
  const [releases, environments] = await Promise.all([store.issueReleases(issue.id), store.issueEnvironments(issue.id)])
  return issueJson(issue, releases, environments)
}

export function issueJson(issue: Issue, releases: readonly IssueRelease[], environments: readonly IssueEnvironment[]) {
  return {
    id: issue.id,
    app_id: issue.appId,
    fingerprint: issue.fingerprint,
    kind: issue.kind,
    title: issue.title,
    culprit: issue.culprit,
    type: issue.type,
    status: issue.status,
    regressed: isRegressed(issue),
    count: issue.count,
    sessions: issue.sessions,
    first_seen: isoTime(issue.firstSeen),
    last_seen: isoTime(issue.lastSeen),
    resolved_at: isoOrNull(issue.resolvedAt),
    regressed_at: isoOrNull(issue.regressedAt),
    first_release: issue.firstRelease,
    last_release: issue.lastRelease,
    releases: releases.map((r) => ({ release: r.release, count: r.count, first_seen: isoTime(r.firstSeen), last_seen: isoTime(r.lastSeen) })),
    environments: environments.map((e) => ({ environment: e.environment, count: e.count, first_seen: isoTime(e.firstSeen), last_seen: isoTime(e.lastSeen) })),
  }
}

function positionJson(frame: StackFrame) {
  return { function: frame.function ?? null, file: frame.file ?? null, line: frame.line ?? null, column: frame.column ?? null }
}

/**
 * A frame as the stack had it, or as the uploaded source maps resolve it (sourcemaps/createStackResolver.ts):
 * then `function`, `file`, `line` and `column` are the original source's, `context` the lines around it and
 * `minified` the frame as received; an unresolved frame says why in `reason`.
 */
export function frameJson(frame: StackFrame | ResolvedFrame) {
  const base = { ...positionJson(frame), in_app: frame.inApp }
  if (!('resolved' in frame)) return base
  return {
    ...base,
    resolved: frame.resolved,
    ...(frame.reason && { reason: frame.reason }),
    ...(frame.map && { map: frame.map }),
    ...(frame.context && { context: frame.context }),
    minified: positionJson(frame.minified),
  }
}

/** An error event as an issue shows it: the stored event's fields that matter for debugging, and its frames. */
export function errorEventJson(event: ErrorEvent, frames: readonly (StackFrame | ResolvedFrame)[]) {
  return {
    ts: isoTime(event.ts),
    release: event.release ?? null,
    env: event.env ?? null,
    message: event.error.message,
    type: event.error.type ?? null,
    stack: event.error.stack ?? null,
    frames: frames.map(frameJson),
  }
}

export function reportEventJson(event: ReportEvent) {
  return { ts: isoTime(event.ts), release: event.release ?? null, env: event.env ?? null, report: event.report }
}

export function releaseJson(summary: ReleaseSummary, health: ReleaseHealth | undefined) {
  return {
    release: summary.release,
    first_seen: isoTime(summary.firstSeen),
    last_seen: isoTime(summary.lastSeen),
    errors: summary.errors,
    issues: summary.issues,
    new_issues: summary.newIssues,
    sessions: health?.sessions ?? 0,
    crashed_sessions: health?.crashed ?? 0,
    // No session named this release (events without sessions, e.g. from @tacit/node): no rate, rather than 100 %.
    crash_free_rate: health ? health.crashFreeRate : null,
  }
}

/** Counts per UTC day (`2026-11-22`, days without events left out) and per browser, OS, device and country. */
export function breakdownJson(breakdown: IssueBreakdown) {
  return { days: breakdown.days.map((d) => ({ day: isoTime(d.day).slice(0, 10), count: d.count })), ...breakdown.tags }
}

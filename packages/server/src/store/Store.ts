import type { AppSettingsOverrides, RetentionKind } from '../apps/appSettings.js'
import type { AuditEntry, AuditQuery, NewAuditEntry } from '../audit/auditEntry.js'
import type { DropCounts, StripCounts } from '../pipeline/dropReasons.js'
import type { StoredEvent } from '../pipeline/storedEvent.js'
import type { WireType } from '../protocol/wireSchema.js'
import type { AlertStore } from './AlertStore.js'
import type { AnalyticsStore } from './AnalyticsStore.js'
import type { ExploreStore } from './ExploreStore.js'
import type { UserStore } from './UserStore.js'
import type { SecretKeyStore } from './SecretKeyStore.js'
import type { SourceMapStore } from './SourceMapStore.js'
import type { Issue, IssueBreakdown, IssueEnvironment, IssueKind, IssueQuery, IssueRelease, IssueStatus, ReleaseHealth, ReleaseHealthQuery, ReleaseSummary } from './issues/issue.js'

/**
 * Storage behind one interface (DESIGN.md §3.6). Every adapter passes test/store/storeContract.ts.
 * Everything is async so a networked database fits the same shape as the embedded one.
 */
export interface Store {
  /** Upload, API and relay keys, stored hashed (SecretKeyStore.ts). */
  readonly secretKeys: SecretKeyStore
  /** Uploaded source maps (SourceMapStore.ts). */
  readonly sourceMaps: SourceMapStore
  /** Alert rules and their delivery log (AlertStore.ts). */
  readonly alerts: AlertStore
  /** Dashboard users, roles and sessions (UserStore.ts). */
  readonly users: UserStore
  /** Rollups for the dashboard's overview and performance views (AnalyticsStore.ts). */
  readonly analytics: AnalyticsStore
  /** Session timelines and the explorer (ExploreStore.ts). */
  readonly explorer: ExploreStore

  createApp(input: { name: string; createdAt: number; settings: AppSettingsOverrides }): Promise<App>
  listApps(): Promise<App[]>
  getApp(id: number): Promise<App | undefined>
  findAppByName(name: string): Promise<App | undefined>
  updateAppSettings(appId: number, settings: AppSettingsOverrides): Promise<void>

  createToken(token: ClientToken): Promise<void>
  listTokens(appId: number): Promise<ClientToken[]>
  findToken(token: string): Promise<ClientToken | undefined>
  /** Returns false when the token does not exist or was already revoked. */
  revokeToken(token: string, at: number): Promise<boolean>
  touchToken(token: string, at: number): Promise<void>

  /**
   * Writes several requests' batches at once (group commit). Each batch is stored whole or not at all;
   * the result has one entry per batch: undefined when committed, the error otherwise. A view event
   * replaces the stored view with the same id when its version is at least as high. Events that carry a
   * `session` update that session's summary in the same transaction (see SessionSummary).
   */
  writeBatches(batches: readonly IngestBatch[]): Promise<Array<Error | undefined>>
  /** Events in `ts` order, then arrival order. */
  readEvents(query: EventQuery): AsyncIterable<StoredEvent>
  countEvents(query: EventQuery): Promise<number>
  /** Session summaries of an app, by start time then session id. */
  readSessions(query: SessionQuery): AsyncIterable<SessionSummary>

  /**
   * Deletes every event, session summary, count, issue (with its release, environment, day, tag and session rows), release, source
   * map and alert delivery of an app, in short transactions; returns the number of events. Keys, tokens, alert
   * rules and settings stay: they are configuration, not collected data.
   */
  purgeApp(appId: number): Promise<number>
  /**
   * Deletes up to `limit` events of one type (or session summaries, for `session`) received before a time;
   * returns how many it deleted. A session counts as received when its last event was.
   */
  deleteExpired(input: { appId: number; type: RetentionKind; receivedBefore: number; limit: number }): Promise<number>
  /**
   * Deletes every app's events received before a time in whole storage units, for an adapter that keeps events
   * in such units (PostgreSQL's weekly partitions: dropping one costs nothing next to deleting its rows); returns
   * the counts it deleted by app and type. The caller passes a time before which no app keeps any event type.
   * An adapter without such units (SQLite) deletes nothing here and returns none: deleteExpired does the work.
   */
  dropEventsBefore(receivedBefore: number): Promise<Array<{ appId: number; type: string; count: number }>>
  deleteDailyCountsBefore(appId: number, day: string): Promise<number>
  readDailyCounts(appId: number, sinceDay: string): Promise<DailyCount[]>

  /**
   * Issues (store/issues/issue.ts). writeBatches groups every `error` and `report` event that carries `issue`
   * into its app's issue by fingerprint (kind `error` or `report`), counts it exactly (events, distinct sessions, per release) and applies
   * the regression rule (store/issues/regressionAt.ts); every event's `release` is recorded with the time it
   * was first received.
   */
  listIssues(query: IssueQuery): Promise<Issue[]>
  /** One issue by id; with an app id, only when it belongs to that app. */
  getIssue(appId: number | undefined, id: number): Promise<Issue | undefined>
  /**
   * Resolving sets `resolvedAt`; reopening (`open`) clears it and `regressedAt`; ignoring clears `resolvedAt`.
   * Returns false for an unknown id.
   */
  setIssueStatus(id: number, status: IssueStatus, at: number): Promise<boolean>
  /** The stored events of an issue, newest (last stored) first. */
  readIssueEvents(query: { appId: number; issueId: number; limit: number }): Promise<StoredEvent[]>
  /** The releases an issue was seen in, earliest first. */
  issueReleases(issueId: number): Promise<IssueRelease[]>
  /**
   * Exact counts of an issue's events per UTC day since a time, and per browser, OS, device type and country
   * (at most `tagValues` values per tag, most events first).
   */
  issueBreakdown(issueId: number, options: { since: number; tagValues: number }): Promise<IssueBreakdown>
  /** The environments an issue was seen in, most events first. */
  issueEnvironments(issueId: number): Promise<IssueEnvironment[]>
  /** The app's releases with their error counts, most recently first received first. */
  listReleases(appId: number): Promise<ReleaseSummary[]>
  /** Crash-free session rate per release (a session's release is the latest its events named). */
  crashFreeSessions(query: ReleaseHealthQuery): Promise<ReleaseHealth[]>
  /**
   * The bounded sample: deletes up to `limit` stored events of the app's issues of one kind that are neither
   * an issue's first stored event nor among its `keepNewest` newest; issue counts are untouched. Returns how many.
   */
  trimIssueEvents(input: { appId: number; kind: IssueKind; keepNewest: number; limit: number }): Promise<number>
  /**
   * Deletes up to `limit` issues of one kind whose latest event was received before a time, with their
   * per-release, per-environment and per-session rows; returns how many issues. Each kind has its own retention setting.
   */
  deleteExpiredIssues(input: { appId: number; kind: IssueKind; receivedBefore: number; limit: number }): Promise<number>
  /** Deletes the app's releases last received before a time; returns how many. */
  deleteReleasesBefore(appId: number, receivedBefore: number): Promise<number>

  /** Records a privacy-relevant change; refuses an action or actor outside the closed sets in auditEntry.ts. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>
  /** Audit entries, newest first (by `at`, then by insertion). */
  readAudit(query?: AuditQuery): Promise<AuditEntry[]>
  /** Deletes audit entries recorded before a time, of every app and the global ones; returns how many. */
  deleteAuditBefore(at: number): Promise<number>

  /** Makes deleted bytes unrecoverable from side files (WAL) after a purge or retention pass. */
  compact(): Promise<void>
  /** A cheap write-and-rollback probe for readiness checks. */
  isWritable(): Promise<boolean>
  /**
   * Runs a periodic job (retention, alert evaluation) unless another process sharing this database is running
   * the same one right now, so several nodes never do it twice at once; resolves to undefined when it skipped.
   * With one process per database (SQLite) it always runs.
   */
  runExclusive<T>(job: string, work: () => Promise<T>): Promise<T | undefined>
  /** A consistent copy of the whole database while it is in use. */
  backup(destination: string, onProgress?: (fraction: number) => void): Promise<void>
  close(): Promise<void>
}

/**
 * The database cannot be reached right now (refused, lost or shutting-down connections): nothing of the
 * operation was written, and the same operation may well succeed shortly. Ingest holds its writes for a while
 * (createBatchWriter.ts), then answers 503 with Retry-After; so does every other route.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

export interface App {
  id: number
  name: string
  createdAt: number
  settings: AppSettingsOverrides
}

export interface ClientToken {
  token: string
  appId: number
  createdAt: number
  revokedAt: number | null
  /** Coarse: updated at most once an hour, rounded down to the hour. */
  lastUsedAt: number | null
}

export interface IngestBatch {
  appId: number
  /** UTC day the batch was received, for the daily counts. */
  day: string
  events: StoredEvent[]
  dropped: DropCounts
  /** Events stored with data removed, by reason. */
  stripped?: StripCounts
}

export interface EventQuery {
  appId: number
  types?: readonly WireType[]
  /** Inclusive lower bound on `ts`. */
  since?: number
  /** Exclusive upper bound on `ts`. */
  until?: number
}

export interface DailyCount {
  day: string
  /** `stripped`: events stored with data removed, e.g. `usr` without the app's consent. */
  kind: 'accepted' | 'dropped' | 'stripped'
  /** Event type for accepted counts, drop reason for dropped ones. */
  key: string
  count: number
}

/**
 * What is stored about a session (DESIGN.md P3): its random id and aggregates of its events, nothing that
 * could join it back to a visitor — no key, salt, IP or User-Agent. Device fields and the country are
 * those of its latest event that had them.
 */
export interface SessionSummary {
  appId: number
  sessionId: string
  /** `ts` of its first and last event. */
  start: number
  end: number
  /** Distinct views (a view's later versions do not count again), actions and errors. */
  views: number
  actions: number
  errors: number
  hasError: boolean
  country: string | null
  browser: string | null
  os: string | null
  deviceType: string | null
  /** When its latest event was received: retention counts from here. */
  receivedAt: number
  /** The release its latest event that named one named; absent when none did. */
  release?: string
  /** The page path of its first and last view by (ts, id), and the first view's env; absent without views. */
  entryPage?: string
  exitPage?: string
  env?: string
}

export interface SessionQuery {
  appId: number
  /** Inclusive lower bound on `start`. */
  since?: number
  /** Exclusive upper bound on `start`. */
  until?: number
}

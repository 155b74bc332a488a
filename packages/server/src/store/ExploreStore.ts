import type { StoredEvent } from '../pipeline/storedEvent.js'
import type { WireType } from '../protocol/wireSchema.js'
import type { SessionSummary } from './Store.js'

/**
 * Raw-event queries of the dashboard (issue 6): the sessions list, a session's timeline and the explorer.
 * Every adapter passes test/store/exploreStoreContract.ts. Callers validate attribute paths and values first
 * (http/exploreAttributes.ts); the store still refuses a path segment it could not quote.
 */
export interface ExploreStore {
  /** Session summaries that started in a time range, newest start first (then by id, descending). */
  listSessions(query: SessionListQuery): Promise<SessionSummary[]>
  getSession(appId: number, sessionId: string): Promise<SessionSummary | undefined>
  /**
   * A session's stored events in `ts` order, then arrival order, at most `limit`. Events keep the session
   * they were stored with; expired ones (retention) are gone, so a timeline may be shorter than its summary.
   */
  sessionEvents(query: { appId: number; sessionId: string; types?: readonly WireType[]; limit: number }): Promise<StoredEvent[]>
  /**
   * Counts of matching events over time, the most frequent values of one attribute, and the latest matching
   * events. A query reads at most EXPLORE_SCAN_CAP stored events, the newest: when the range holds more,
   * the answer covers only events after `coveredFrom`, and says so.
   */
  explore(query: ExploreQuery): Promise<ExploreResult>
  /** Nothing of its own to purge: what it reads lives in `events` and `sessions`. */
  purgeApp(appId: number): Promise<number>
}

/**
 * The most stored events one explorer query reads. Filters and grouping parse each event's JSON, so the cost
 * grows with the events in the range, whatever matches; this bounds it. Measured on the reference machine
 * (2 cores, SQLite, 450-byte events): 50,000 events read take 100–140 ms with a context filter and a group,
 * 100,000 took 250–320 ms, over the dashboard's 250 ms budget. A type or a narrower range reads fewer.
 */
export const EXPLORE_SCAN_CAP = 50_000

export interface SessionListQuery {
  appId: number
  /** Inclusive lower bound on the session's start (`ts` of its first event). */
  since: number
  /** Exclusive upper bound on its start. */
  until: number
  country?: string
  browser?: string
  os?: string
  deviceType?: string
  release?: string
  /** The page path of its first view (SessionSummary.entryPage). */
  entryPage?: string
  /** The env of its first view. */
  env?: string
  /** Only sessions with at least one error. */
  withErrors?: boolean
  limit: number
  offset: number
}

/**
 * An attribute of a stored event as its key path, e.g. `['view', 'url']` or `['context', 'plan']`. A
 * segment is 1 to 128 characters without `"` or `\`.
 */
export type AttributePath = readonly string[]

export interface ExploreFilter {
  path: AttributePath
  /**
   * The event matches when the attribute equals one of these: a JSON string equal to the text, a number when
   * the text reads as one (`200`, `-1.5`), a boolean for `true` / `false`.
   */
  values: readonly string[]
}

export interface ExploreQuery {
  appId: number
  /** One event type, or every type. */
  type?: WireType
  /** Inclusive lower bound on `ts`. */
  since: number
  /** Exclusive upper bound on `ts`. */
  until: number
  /** All must match (each filter is one attribute: any of its values). */
  filters: readonly ExploreFilter[]
  groupBy?: AttributePath
  /**
   * Width of a series bucket in ms. Buckets are aligned to multiples of it since the epoch (whole UTC minutes,
   * hours, days), so the first and the last may reach outside the range; they count only events inside it.
   */
  bucketMs: number
  /** The most frequent values of `groupBy` to return. */
  groupLimit: number
  /** The latest matching events to return. */
  eventLimit: number
  /** Read at most this many stored events; EXPLORE_SCAN_CAP when absent, and never more. */
  scanCap?: number
}

export interface ExploreResult {
  /** Matching events in the covered range. */
  total: number
  /** One entry per bucket from the one holding `since` to the one holding the last ms before `until`, zeros included. */
  series: Array<{ start: number; count: number }>
  /**
   * Most frequent values of `groupBy` first (ties by value), empty without it. `key` is the attribute's
   * value: a string, a number, true/false (as 1/0 when the adapter cannot tell), null when absent. Text is cut
   * to its first 512 characters, so values that long which begin alike count as one group.
   */
  groups: Array<{ key: string | number | boolean | null; count: number }>
  /** Newest first: by receive time for one type, by event time for every type. */
  events: StoredEvent[]
  /** Null when every event in the range was read; otherwise only events with `ts` after this were. */
  coveredFrom: number | null
}

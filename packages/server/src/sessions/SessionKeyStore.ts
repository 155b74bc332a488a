/**
 * The visitor → session link (DESIGN.md P3, issue 3 "Sessions without cookies"). One interface with one
 * contract suite (test/sessions/sessionKeyStoreContract.ts): the in-process store now
 * (createMemorySessionKeyStore), Redis with TTLs when several nodes run. Everything is async-shaped so a
 * networked store fits; the in-process store also answers synchronously (SyncSessionKeyStore) because the
 * pipeline's stages are synchronous today.
 *
 * What it holds, and for how long:
 * - one salt per UTC day: 32 bytes from the RandomSource, never derived from a date or a configured secret,
 *   created on the day's first event. Day D's salt serves day D, and day D+1 only to find sessions that were
 *   live at midnight; it is destroyed at the end of day D+1, so no salt lives longer than 48 h;
 * - entries keyed by HMAC-SHA256(salt, app ‖ ip ‖ user agent) (visitorKey.ts) → { session id, start, last
 *   seen }. An entry ends after the app's idle timeout and at the latest at the end of the UTC day after
 *   its session started, so no entry lives longer than 48 h either.
 * Nothing of this is ever written to the events database: summaries are stored by session id only.
 */
export interface SessionKeyStore {
  /**
   * The live session of this visitor at `visit.at`, extended to `visit.at`; or a new one with the id
   * `createId()` returns, when the visitor has none (first visit, idle timeout, hard end).
   */
  touch(visit: Visit, createId: () => string): Promise<string>
  /** Destroys every salt and entry whose time is over, as of the store's clock. Safe to call often. */
  sweep(): Promise<void>
  /** How much the store holds right now: for metrics and for the tests that prove the 48 h limit. */
  stats(): Promise<SessionKeyStats>
  /** Releases the store's resources; the in-process store forgets everything. */
  close(): Promise<void>
}

/** A store that answers in the same turn of the event loop, as the synchronous pipeline stage needs. */
export interface SyncSessionKeyStore extends SessionKeyStore {
  touchNow(visit: Visit, createId: () => string): string
}

export interface Visit {
  appId: number
  ip: string
  /** Missing User-Agents count as the empty string. */
  userAgent: string
  /** When the server received the event (never the client's clock), ms since the epoch. */
  at: number
  /** The app's `privacy.sessionTimeoutMinutes`, in ms. */
  idleTimeoutMs: number
  /**
   * A visit through an authenticated `tacit relay` (issue 8): `ip` and `userAgent` are empty, and the relay's
   * own visitor keys stand in for them, under this store's salts as usual (visitorKey.ts, `visitKey`).
   * `previous` is the relay's key under its salt of the day before, which finds sessions live at midnight.
   */
  relayed?: { visitor: string; previous?: string }
}

export interface SessionKeyStats {
  /** Salts held: at most two (today's and yesterday's). */
  salts: number
  /** Visitor entries held, over all salts. */
  entries: number
  /** Start of the UTC day of the oldest salt held, ms since the epoch; undefined when none is held. */
  oldestSaltDay?: number
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000

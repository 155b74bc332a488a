/**
 * Why an event was not stored: a closed set, so drops can be counted per app and per day and shown as-is
 * (DESIGN.md §3.3). Later stages add their reasons here, and nowhere else.
 */
export const DROP_REASONS = [
  /** Failed validation at the edge (malformed JSON, wrong types, unknown type, too deep…). */
  'invalid',
  /** A single event over the 64 KiB limit. */
  'too_large',
  /** The app's ingest rate limit was exceeded; the whole request was answered 429. */
  'rate_limited',
  /** A known crawler or a headless/automated browser (the app did not opt into keeping bots). */
  'bot',
  /** The request carried `Sec-GPC: 1` or `DNT: 1` and the app honours it. */
  'opt_out',
  /** Inbound filter: the country derived from the IP is blocked by the app. */
  'country_blocked',
  /** Inbound filter: the view's URL path matches one of the app's blocked path globs. */
  'path_blocked',
  /** Inbound filter: the client's network is denied, or not in the app's allow-list. */
  'ip_blocked',
  /**
   * Sent by another vendor's SDK (issue 9) but of a kind Tacit does not store: Datadog telemetry, replay and
   * logs; Sentry sessions, client reports, transactions, attachments… Accepted (the SDK must not retry) and counted.
   */
  'unsupported',
] as const
export type DropReason = (typeof DROP_REASONS)[number]

export type DropCounts = Partial<Record<DropReason, number>>

export function addDrop(counts: DropCounts, reason: DropReason, n = 1): void {
  counts[reason] = (counts[reason] ?? 0) + n
}

/**
 * What a stage removed from an event that was still stored: counted like drops, so an operator can see
 * that data was sent that the app does not accept (e.g. `setUser` without `allow_user_identity`).
 */
export const STRIP_REASONS = [
  /** `usr` fields were removed because the app does not allow user identity (DESIGN.md P6). */
  'user_identity',
] as const
export type StripReason = (typeof STRIP_REASONS)[number]
export type StripCounts = Partial<Record<StripReason, number>>

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
] as const
export type DropReason = (typeof DROP_REASONS)[number]

export type DropCounts = Partial<Record<DropReason, number>>

export function addDrop(counts: DropCounts, reason: DropReason, n = 1): void {
  counts[reason] = (counts[reason] ?? 0) + n
}

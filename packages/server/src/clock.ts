/** Time is an input (DESIGN.md §3.5): retention, caches and expiry read it from here, tests pass a fake. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export const DAY_MS = 86_400_000

let lastDay = { start: 0, end: 0, name: '' }

/** The UTC calendar day of a timestamp, as `YYYY-MM-DD` (memoized: ingest asks for it on every request). */
export function utcDay(ms: number): string {
  if (ms >= lastDay.start && ms < lastDay.end) return lastDay.name
  const start = Math.floor(ms / DAY_MS) * DAY_MS
  lastDay = { start, end: start + DAY_MS, name: new Date(start).toISOString().slice(0, 10) }
  return lastDay.name
}

/**
 * Limits of the ingest wire format (docs/PROTOCOL.md). Strings longer than their cap are truncated, not
 * rejected: a long stack trace is still worth keeping. Structural limits (size, depth, count) reject.
 */
export const LIMITS = {
  /** Request body, before and after decompression. */
  bodyBytes: 1024 * 1024,
  eventsPerRequest: 500,
  /** One event, measured as its serialized JSON in UTF-8. */
  eventBytes: 64 * 1024,
  /** Nesting depth of free-form objects (`context`, `report.body`), counted from that object. */
  freeFormDepth: 8,
  /** Accepted `ts` window around the receive time; outside it, `ts` is clamped to the nearest edge. */
  tsPastMs: 24 * 60 * 60 * 1000,
  tsFutureMs: 5 * 60 * 1000,
} as const

/** String caps in UTF-16 code units; a truncated string ends with "…". */
export const CAPS = {
  id: 128,
  short: 32,
  name: 256,
  url: 4096,
  message: 8192,
  stack: 32768,
  freeFormKey: 128,
  freeFormString: 4096,
} as const

export function truncate(value: string, cap: number): string {
  if (value.length <= cap) return value
  let end = cap - 1
  // Never split a surrogate pair: a lone high surrogate is invalid UTF-16 and breaks JSON consumers.
  const last = value.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end -= 1
  return value.slice(0, end) + '…'
}

import type { WireEvent } from '../protocol/wireSchema.js'

/** Device details reduced from the User-Agent: names and major versions only, never the UA string. */
export interface DeviceInfo {
  type: 'desktop' | 'mobile' | 'tablet' | 'tv' | 'unknown'
  browser?: string
  browser_version?: string
  os?: string
  os_version?: string
}

/**
 * What is persisted for one event: the normalized wire event plus the fields the server owns. There is no
 * field for the IP address or the User-Agent, so storing either is a compile error (DESIGN.md §3.1).
 */
export type StoredEvent = WireEvent & {
  /** Event time, clamped to the window around `received_at`. */
  ts: number
  /** When the server received it, ms since epoch. Retention counts from here. */
  received_at: number
  device?: DeviceInfo
  /** The server-assigned session: a random UUID that encodes nothing (sessions/). */
  session?: { id: string }
  /** From the IP address, as far as the app's `geo` setting allows; the address itself is never kept. */
  geo?: { country?: string; city?: string }
  /** Only when the app opts into IP storage: the network, truncated to /24 (IPv4) or /48 (IPv6). */
  network?: { ip_prefix: string }
  /** Set when the app keeps bot traffic (marked) instead of dropping it. */
  bot?: true
  /**
   * Errors and reports: the issue the event belongs to, worked out by fingerprintError from the scrubbed
   * event (errors/groupError.ts, errors/groupReport.ts), so personal data can never split or name an issue.
   */
  issue?: IssueKey
}

export interface IssueKey {
  /** 32 hex characters: the SHA-256 of what groups the event (an error's frames or message; a report's type and key fields). */
  fingerprint: string
  /** One line, at most 200 characters: `Type: first line of the message`, or e.g. `CSP img-src blocked https://cdn.example`. */
  title: string
  /** The top in-app frame, `function (file)`, when the stack has one; a report's source file. */
  culprit?: string
}

import type { AppSettingsOverrides } from '../apps/appSettings.js'
import type { AuditEntry } from '../audit/auditEntry.js'
import type { Issue, IssueFilter, IssueKind, IssueSort, IssueStatus } from './issues/issue.js'
import type { App, ClientToken } from './Store.js'

/** Rows as both adapters store them (same column names and value types), and how they become the Store's objects. */

export interface AppRow {
  id: number
  name: string
  created_at: number
  settings: string
}
export function toApp(row: AppRow): App {
  return { id: row.id, name: row.name, createdAt: row.created_at, settings: JSON.parse(row.settings) as AppSettingsOverrides }
}

export interface TokenRow {
  token: string
  app_id: number
  created_at: number
  revoked_at: number | null
  last_used_at: number | null
}
export function toToken(row: TokenRow): ClientToken {
  return { token: row.token, appId: row.app_id, createdAt: row.created_at, revokedAt: row.revoked_at, lastUsedAt: row.last_used_at }
}

export interface AuditRow {
  id: number
  app_id: number | null
  at: number
  actor: string
  action: string
  detail: string
}
export function toAuditEntry(row: AuditRow): AuditEntry {
  // Written only through appendAudit, which checked the action, actor and detail.
  return { id: row.id, appId: row.app_id, at: row.at, actor: row.actor, action: row.action, detail: JSON.parse(row.detail) } as AuditEntry
}


export const ISSUE_STATUS_SET: ReadonlySet<string> = new Set<IssueStatus>(['open', 'resolved', 'ignored'])
export const ISSUE_FILTER_SET: ReadonlySet<string> = new Set<IssueFilter>(['open', 'resolved', 'ignored', 'regressed'])
export const ISSUE_KIND_SET: ReadonlySet<string> = new Set<IssueKind>(['error', 'report'])

export function assertIssueKind(kind: IssueKind): void {
  if (!ISSUE_KIND_SET.has(kind)) throw new RangeError(`Unknown issue kind: ${String(kind)}`)
}
/**
 * Newest or largest first. Ties go to the issue first seen last — the data decides, not the id, which each
 * database numbers its own way (PostgreSQL's writer creates a group's new issues in fingerprint order) — and
 * then the id, so pages do not overlap.
 */
export const ISSUE_ORDER: Record<IssueSort, string> = {
  last_seen: 'last_seen DESC, first_seen DESC, id DESC',
  count: 'count DESC, first_seen DESC, id DESC',
  sessions: 'sessions DESC, first_seen DESC, id DESC',
  first_seen: 'first_seen DESC, id DESC',
}

export interface IssueRow {
  id: number
  app_id: number
  fingerprint: string
  kind: IssueKind
  title: string
  culprit: string | null
  type: string | null
  status: IssueStatus
  resolved_at: number | null
  regressed_at: number | null
  first_seen: number
  last_seen: number
  count: number
  sessions: number
  first_release: string | null
  last_release: string | null
  received_at: number
}
export function toIssue(row: IssueRow): Issue {
  return {
    id: row.id,
    appId: row.app_id,
    fingerprint: row.fingerprint,
    kind: row.kind,
    title: row.title,
    culprit: row.culprit,
    type: row.type,
    status: row.status,
    resolvedAt: row.resolved_at,
    regressedAt: row.regressed_at,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    count: row.count,
    sessions: row.sessions,
    firstRelease: row.first_release,
    lastRelease: row.last_release,
    receivedAt: row.received_at,
  }
}

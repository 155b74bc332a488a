import type { RetentionKind, SettingLine } from '../apps/appSettings.js'
import { CLIENT_TOKEN_PATTERN, CLIENT_TOKEN_PREFIX } from '../apps/clientTokens.js'
import { SECRET_KEY_PATTERN } from '../keys/secretKey.js'

/**
 * The audit log of privacy-relevant changes (DESIGN.md P7, issue 3): who changed which setting, created or
 * revoked which token, purged or expired how much. It never holds an IP, a whole token or any event data.
 */

/** The audit log is kept this long, whatever an app's settings say (DESIGN.md P7). */
export const AUDIT_RETENTION_DAYS = 14

export const AUDIT_ACTIONS = ['app.create', 'app.settings', 'app.purge', 'token.create', 'token.revoke', 'key.create', 'key.revoke', 'alert.create', 'alert.remove', 'retention.run', 'user.create', 'user.remove', 'user.password', 'member.add', 'member.role', 'member.remove'] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

/**
 * Who made a change: a CLI command, the server itself (its first start, its hourly retention), later a
 * dashboard user by id. Never an address: the shape leaves no room for one.
 */
export type AuditActor = 'cli' | 'server' | `user:${number}`
const AUDIT_ACTOR = /^(cli|server|user:\d+)$/

export function isAuditActor(value: string): value is AuditActor {
  return AUDIT_ACTOR.test(value)
}

export function isAuditAction(value: string): value is AuditAction {
  return (AUDIT_ACTIONS as readonly string[]).includes(value)
}

/** A token shortened so a person can tell tokens apart (`tc_AbCd…`); only `tokenHint` makes one. */
export type TokenHint = string & { readonly __tokenHint: unique symbol }

/** 4 of the token's 32 random characters: enough to find it in `tacit token list`, far too few to use it. */
const HINT_CHARS = 4

export function tokenHint(token: string): TokenHint {
  const body = token.startsWith(CLIENT_TOKEN_PREFIX) ? token.slice(CLIENT_TOKEN_PREFIX.length) : token
  return `${CLIENT_TOKEN_PREFIX}${body.slice(0, HINT_CHARS)}…` as TokenHint
}

export type SettingValue = SettingLine['value']

/** What each action records. Settings are not personal data, so their old and new values are kept. */
export interface AuditDetails {
  'app.create': { name: string; token: TokenHint; origins: string[] }
  /** Only the keys that changed, named as `tacit app set` takes them. */
  'app.settings': { changes: Record<string, { from: SettingValue; to: SettingValue }> }
  /** Events deleted. */
  'app.purge': { deleted: number }
  'token.create': { token: TokenHint }
  'token.revoke': { token: TokenHint }
  /** A secret key's id, kind and hint (keys/secretKey.ts: 4 of its 43 random characters); never the key or its hash. */
  'key.create': { id: number; kind: string; hint: string; label: string | null }
  'key.revoke': { id: number; kind: string; hint: string }
  /**
   * An alert rule's id, trigger, format and the origin of its webhook URL: never the whole URL (a Slack
   * webhook's path is its secret) nor the signing secret.
   */
  'alert.create': { id: number; on: string; format: string; origin: string }
  'alert.remove': { id: number; on: string; origin: string }
  /** Rows deleted by kind (event types, `session`), and their sum. */
  'retention.run': { deleted: Partial<Record<RetentionKind, number>>; total: number }
  /**
   * Dashboard accounts (issue 6): the user's id and email (an operator's colleague, not a visitor), never a
   * password, hash, session or setup token. `via` says how the account came to be.
   */
  'user.create': { user: number; email: string; via: 'setup' | 'cli' }
  'user.remove': { user: number; email: string }
  /** `reset`: an operator's `tacit user reset-password`; otherwise the user changed it. */
  'user.password': { user: number; email: string; reset: boolean }
  'member.add': { user: number; email: string; role: string }
  'member.role': { user: number; email: string; from: string; to: string }
  'member.remove': { user: number; email: string; role: string }
}

export type NewAuditEntry = {
  [A in AuditAction]: {
    /** Null for entries about no single app. */
    appId: number | null
    /** Milliseconds since the epoch. */
    at: number
    actor: AuditActor
    action: A
    detail: AuditDetails[A]
  }
}[AuditAction]

export type AuditEntry = NewAuditEntry & { id: number }

export interface AuditQuery {
  /** Only this app's entries. */
  appId?: number
  /** Inclusive lower bound on `at`. */
  since?: number
  /** At most this many, the newest. */
  limit?: number
}

/**
 * Checks an entry before any adapter stores it: a closed action set, an actor that cannot be an address, and
 * no whole client token anywhere in the detail (the types already demand a hint; this holds at run time too).
 */
export function assertValidAuditEntry(entry: NewAuditEntry): void {
  if (!isAuditAction(entry.action)) throw new TypeError(`Unknown audit action "${String(entry.action)}".`)
  if (!isAuditActor(entry.actor)) throw new TypeError('An audit actor is "cli", "server" or "user:<id>".')
  const detail = JSON.stringify(entry.detail)
  if (WHOLE_TOKEN.test(detail)) throw new TypeError('An audit entry must not hold a whole client token.')
  if (WHOLE_SECRET_KEY.test(detail)) throw new TypeError('An audit entry must not hold a whole secret key.')
}

const WHOLE_TOKEN = new RegExp(CLIENT_TOKEN_PATTERN.source.replace(/^\^|\$$/g, ''))
const WHOLE_SECRET_KEY = new RegExp(SECRET_KEY_PATTERN.source.replace(/^\^|\$$/g, ''))

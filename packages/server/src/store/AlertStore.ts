import type { AlertEventType, AlertFormat, AlertRuleKind, DeliveryStatus } from '../alerts/alertRule.js'

/**
 * Alert rules and the webhook delivery log per app (issue 5, docs/ALERTS.md). The event writer adds pending
 * `issue.new` / `issue.regressed` deliveries in the transaction that creates or re-opens an issue (a
 * transactional outbox: no alert is lost to a crash between the commit and the send); the dispatcher
 * (alerts/startAlertDispatcher.ts) claims and sends them. A delivery holds ids and counts only, never an
 * issue's title or any event data: the payload is built from the issue when it is sent.
 */
export interface AlertRule {
  id: number
  appId: number
  kind: AlertRuleKind
  url: string
  format: AlertFormat
  /** error-rate rules only: fire at this many error events within `windowMinutes`. */
  threshold: number | null
  windowMinutes: number | null
  /** HMAC key shared with the receiver (alerts/alertRule.ts); never shown after creation. */
  secret: string
  enabled: boolean
  createdAt: number
  /** error-rate rules: true from the evaluation that fired until one finds the count below the threshold. */
  firing: boolean
}

/** A rule as created: enabled and not firing. */
export type NewAlertRule = Omit<AlertRule, 'id' | 'enabled' | 'firing'>

export interface AlertDelivery {
  id: number
  appId: number
  ruleId: number
  event: AlertEventType
  /** The issue announced (`issue.*`), else null. */
  issueId: number | null
  /** `error_rate.spike`: the error events counted in the window when it fired. */
  errorCount: number | null
  status: DeliveryStatus
  /** Attempts made so far (an attempt counts from the moment it is claimed). */
  attempts: number
  /** The receiver's last HTTP status, if it answered. */
  lastStatus: number | null
  /** Our own short words for the last failure or skip (`timeout`, `HTTP 500`, `issue ignored`); never the receiver's body. */
  lastError: string | null
  /** When a pending delivery is due (or, while an attempt runs, when its lease ends); null once settled. */
  nextAttemptAt: number | null
  createdAt: number
  deliveredAt: number | null
}

/** How an attempt ended, as the dispatcher records it. */
export type DeliveryOutcome =
  | { status: 'delivered'; at: number; lastStatus: number }
  | { status: 'pending'; nextAttemptAt: number; lastStatus: number | null; lastError: string; attempts?: number }
  | { status: 'failed' | 'skipped'; lastStatus: number | null; lastError: string }

export interface AlertStore {
  createRule(input: NewAlertRule): Promise<AlertRule>
  getRule(id: number): Promise<AlertRule | undefined>
  /** Oldest first; one app's, or every app's when `appId` is not given. */
  listRules(query?: { appId?: number; kind?: AlertRuleKind; enabledOnly?: boolean }): Promise<AlertRule[]>
  /** A disabled rule enqueues nothing and its pending deliveries are skipped; false when there is no such rule. */
  setRuleEnabled(id: number, enabled: boolean): Promise<boolean>
  /** Deletes the rule with its delivery log (pending deliveries are never sent); false when there is none. */
  removeRule(id: number): Promise<boolean>
  /**
   * An error-rate rule's state, compare-and-set: changes `firing` only if it still has the other value, and
   * when it turns true also adds a pending `error_rate.spike` delivery, in one transaction. Returns that
   * delivery, or undefined when nothing was enqueued (state unchanged, or turned false).
   */
  setRuleFiring(ruleId: number, firing: boolean, spike: { at: number; errorCount: number }): Promise<AlertDelivery | undefined>
  /**
   * Adds a delivery. `dueAt` null makes it invisible to claimDue: the caller sends it itself (`tacit alert
   * test`, which counts its one attempt up front with `attempts: 1`) and records the outcome.
   */
  addDelivery(input: {
    ruleId: number
    event: AlertEventType
    issueId: number | null
    errorCount: number | null
    createdAt: number
    dueAt: number | null
    attempts?: number
  }): Promise<AlertDelivery>
  /**
   * Claims up to `limit` pending deliveries due at `now`, earliest first: each gets one more attempt and a
   * lease (`nextAttemptAt = leaseUntil`) so a second dispatcher skips it, and a crash mid-send retries it
   * after the lease.
   */
  claimDue(input: { now: number; leaseUntil: number; limit: number }): Promise<AlertDelivery[]>
  finishDelivery(id: number, outcome: DeliveryOutcome): Promise<void>
  getDelivery(id: number): Promise<AlertDelivery | undefined>
  /** Newest first. */
  listDeliveries(query: { appId: number; ruleId?: number; limit: number }): Promise<AlertDelivery[]>
  /**
   * Error events of an app received in [since, until), not counting events of ignored issues, counted up to
   * `cap` (the evaluation only needs to know the threshold is reached).
   */
  countErrors(query: { appId: number; since: number; until: number; cap: number }): Promise<number>
  /** Retention: deletes deliveries created before a time, of every app; returns how many. */
  deleteDeliveriesBefore(at: number): Promise<number>
  /** Deletes an app's delivery log (it names the app's issues); rules stay. Returns how many rows. */
  purgeApp(appId: number): Promise<number>
}

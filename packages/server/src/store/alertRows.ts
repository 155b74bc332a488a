import type { AlertEventType, AlertFormat, AlertRuleKind, DeliveryStatus } from '../alerts/alertRule.js'
import type { AlertDelivery, AlertRule } from './AlertStore.js'

/** Rows of `alert_rules` and `alert_deliveries` as both adapters return them, and the AlertStore's objects they stand for. */

export interface RuleRow {
  id: number
  app_id: number
  kind: AlertRuleKind
  url: string
  format: AlertFormat
  threshold: number | null
  window_minutes: number | null
  secret: string
  enabled: number
  created_at: number
  firing: number
}
export function toRule(row: RuleRow): AlertRule {
  return {
    id: row.id,
    appId: row.app_id,
    kind: row.kind,
    url: row.url,
    format: row.format,
    threshold: row.threshold,
    windowMinutes: row.window_minutes,
    secret: row.secret,
    enabled: row.enabled === 1,
    createdAt: row.created_at,
    firing: row.firing === 1,
  }
}

export interface DeliveryRow {
  id: number
  app_id: number
  rule_id: number
  event: AlertEventType
  issue_id: number | null
  error_count: number | null
  status: DeliveryStatus
  attempts: number
  last_status: number | null
  last_error: string | null
  next_attempt_at: number | null
  created_at: number
  delivered_at: number | null
}
export function toDelivery(row: DeliveryRow): AlertDelivery {
  return {
    id: row.id,
    appId: row.app_id,
    ruleId: row.rule_id,
    event: row.event,
    issueId: row.issue_id,
    errorCount: row.error_count,
    status: row.status,
    attempts: row.attempts,
    lastStatus: row.last_status,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  }
}

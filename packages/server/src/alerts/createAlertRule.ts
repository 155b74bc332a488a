import type { AdminDeps } from '../apps/appAdmin.js'
import type { AlertRule } from '../store/AlertStore.js'
import {
  AlertRuleError,
  generateWebhookSecret,
  MAX_THRESHOLD,
  MAX_WINDOW_MINUTES,
  validateWebhookUrl,
  webhookOrigin,
  type AlertFormat,
  type AlertRuleKind,
} from './alertRule.js'

/**
 * Creates an alert rule and records it in the audit log. Returns the rule, whose `secret` the caller shows
 * once (`tacit alert add`); later listings never show it. Shared by the CLI and, later, the dashboard API.
 */
export async function createAlertRule(
  deps: AdminDeps,
  input: { appId: number; kind: AlertRuleKind; url: string; format: AlertFormat; threshold?: number; windowMinutes?: number },
): Promise<AlertRule> {
  const url = validateWebhookUrl(input.url)
  const rate = input.kind === 'error-rate'
  if (rate) {
    if (input.threshold === undefined || input.windowMinutes === undefined) {
      throw new AlertRuleError('An error-rate rule needs a threshold and a window in minutes, e.g. --threshold 50 --window 5.')
    }
    if (!Number.isInteger(input.threshold) || input.threshold < 1 || input.threshold > MAX_THRESHOLD) {
      throw new AlertRuleError(`The threshold must be a whole number of error events from 1 to ${MAX_THRESHOLD}.`)
    }
    if (!Number.isInteger(input.windowMinutes) || input.windowMinutes < 1 || input.windowMinutes > MAX_WINDOW_MINUTES) {
      throw new AlertRuleError(`The window must be a whole number of minutes from 1 to ${MAX_WINDOW_MINUTES}.`)
    }
  } else if (input.threshold !== undefined || input.windowMinutes !== undefined) {
    throw new AlertRuleError(`A threshold and a window belong to error-rate rules only, not to ${input.kind} rules.`)
  }
  const rule = await deps.store.alerts.createRule({
    appId: input.appId,
    kind: input.kind,
    url: url.href,
    format: input.format,
    threshold: rate ? input.threshold! : null,
    windowMinutes: rate ? input.windowMinutes! : null,
    secret: generateWebhookSecret(deps.random),
    createdAt: deps.clock.now(),
  })
  await deps.store.appendAudit({
    appId: rule.appId,
    at: rule.createdAt,
    actor: deps.actor ?? 'server',
    action: 'alert.create',
    detail: { id: rule.id, on: rule.kind, format: rule.format, origin: webhookOrigin(rule.url) },
  })
  return rule
}

/** Removes a rule with its delivery log, audited; false when there is no such rule. */
export async function removeAlertRule(deps: Omit<AdminDeps, 'random'>, rule: AlertRule): Promise<boolean> {
  if (!(await deps.store.alerts.removeRule(rule.id))) return false
  await deps.store.appendAudit({
    appId: rule.appId,
    at: deps.clock.now(),
    actor: deps.actor ?? 'server',
    action: 'alert.remove',
    detail: { id: rule.id, on: rule.kind, origin: webhookOrigin(rule.url) },
  })
  return true
}

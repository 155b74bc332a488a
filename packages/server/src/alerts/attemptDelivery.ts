import type { Clock } from '../clock.js'
import type { AlertDelivery } from '../store/AlertStore.js'
import type { Store } from '../store/Store.js'
import { buildJsonPayload, buildSlackPayload, type AlertContext } from './buildAlertPayload.js'
import { deliverWebhook, type FetchLike, type WebhookResult } from './deliverWebhook.js'

export type AttemptResult = WebhookResult | { ok: false; skipped: true; reason: string }

export interface AttemptDeps {
  store: Store
  clock: Clock
  fetch: FetchLike
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * Builds a delivery's payload from the rule, app and issue as they are now, and sends it once. Nothing is
 * sent — the delivery is skipped — when its rule was disabled, or its issue is ignored (ignored issues keep
 * counting but do not alert) or no longer stored (retention or a purge deleted it). The caller records the
 * outcome: the dispatcher retries, `tacit alert test` reports.
 */
export async function attemptDelivery(deps: AttemptDeps, delivery: AlertDelivery): Promise<AttemptResult> {
  const rule = await deps.store.alerts.getRule(delivery.ruleId)
  if (!rule) return skipped('rule removed')
  if (!rule.enabled && delivery.event !== 'alert.test') return skipped('rule disabled')
  const app = await deps.store.getApp(delivery.appId)
  if (!app) return skipped('app no longer exists')
  const context: AlertContext = { delivery, app: { id: app.id, name: app.name }, rule }
  if (delivery.issueId !== null) {
    const issue = await deps.store.getIssue(delivery.appId, delivery.issueId)
    if (!issue) return skipped('issue no longer stored')
    if (issue.status === 'ignored') return skipped('issue ignored')
    context.issue = issue
  }
  const body = JSON.stringify(rule.format === 'slack' ? buildSlackPayload(context) : buildJsonPayload(context))
  return deliverWebhook({
    fetch: deps.fetch,
    url: rule.url,
    secret: rule.secret,
    deliveryId: delivery.id,
    event: delivery.event,
    body,
    timestamp: Math.floor(deps.clock.now() / 1000),
    ...(deps.timeoutMs !== undefined && { timeoutMs: deps.timeoutMs }),
    ...(deps.signal && { signal: deps.signal }),
  })
}

function skipped(reason: string): AttemptResult {
  return { ok: false, skipped: true, reason }
}

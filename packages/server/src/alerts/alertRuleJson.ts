import type { AlertRule } from '../store/AlertStore.js'

/** A rule as `tacit alert list --json` and the settings API show it: never its signing secret. */
export function alertRuleJson(rule: AlertRule) {
  return {
    id: rule.id,
    app_id: rule.appId,
    on: rule.kind,
    url: rule.url,
    format: rule.format,
    threshold: rule.threshold,
    window_minutes: rule.windowMinutes,
    enabled: rule.enabled,
    firing: rule.firing,
    created_at: new Date(rule.createdAt).toISOString(),
  }
}

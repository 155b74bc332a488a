import { describeSettings, type AppSettingsOverrides } from '../apps/appSettings.js'
import type { AuditDetails } from './auditEntry.js'

/** The effective settings that differ between two sets of overrides, by `tacit app set` key. */
export function settingChanges(before: AppSettingsOverrides, after: AppSettingsOverrides): AuditDetails['app.settings']['changes'] {
  const old = new Map(describeSettings(before).map(({ key, value }) => [key, value]))
  const changes: AuditDetails['app.settings']['changes'] = {}
  for (const { key, value } of describeSettings(after)) {
    const from = old.get(key) ?? null
    // Setting a key to its default value changes nothing a visitor would notice: compare effective values.
    if (JSON.stringify(from) !== JSON.stringify(value)) changes[key] = { from, to: value }
  }
  return changes
}

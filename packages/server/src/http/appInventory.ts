import { resolveSettings, type AppSettingsOverrides, type RetentionKind } from '../apps/appSettings.js'

/**
 * What one app stores, worked out from its settings (DESIGN.md P10): the per-app view of docs/PRIVACY.md that
 * the dashboard's settings page shows. Each field says whether it is stored now and which setting decides it.
 */
export interface InventoryField {
  /** Stored event keys as docs/PRIVACY.md names them. */
  field: string
  stored: boolean
  detail: string
  /** The `tacit app set` key that turns it on or off, when there is one. */
  setting: string | null
}

export interface AppInventory {
  fields: InventoryField[]
  never_stored: string[]
  retention_days: Record<RetentionKind, number>
}

export function appInventory(overrides: AppSettingsOverrides): AppInventory {
  const { privacy, scrub, retention } = resolveSettings(overrides)
  const field = (name: string, stored: boolean, detail: string, setting: string | null = null): InventoryField => ({ field: name, stored, detail, setting })
  const queryRule = scrub.queryAllowList
    ? `query parameters other than ${scrub.queryAllowList.join(', ') || '(none)'} are replaced by [redacted]`
    : 'secrets in sensitive query parameters (token, password, …) are replaced'
  const customRules = scrub.patterns.length + scrub.sensitiveKeys.length + scrub.pathRules.length
  const scrubbed = `scrubbed of personal data (emails, phone numbers, card numbers, IP addresses, tokens…)${customRules > 0 ? `, plus this app's ${customRules} custom rule${customRules === 1 ? '' : 's'}` : ''}`
  return {
    fields: [
      field('session.id', true, `A random id (UUID) that encodes nothing; a session ends after ${privacy.sessionTimeoutMinutes} minutes without events.`, 'session_timeout'),
      field('device.type, device.browser, device.os, device.*_version', true, 'Device class, browser and OS names with major versions, derived from the User-Agent, which is then forgotten.'),
      field('geo.country', privacy.geo !== 'off', privacy.geo === 'off' ? 'Not stored: geo=off.' : 'The country, looked up offline from the IP address, which is then forgotten.', 'geo'),
      field('geo.city', privacy.geo === 'city', privacy.geo === 'city' ? 'The city, when the operator installed a city database (otherwise the country only).' : 'Not stored: only with geo=city.', 'geo'),
      field('network.ip_prefix', privacy.ip === 'truncated', privacy.ip === 'truncated' ? 'The network the visitor came from, truncated to /24 (IPv4) or /48 (IPv6); never the address.' : 'Not stored: ip=off.', 'ip'),
      field('usr.id', privacy.allowUserIdentity, privacy.allowUserIdentity ? "The site's own user id, as setUser sent it." : 'Dropped on arrival: allow_user_identity=false.', 'allow_user_identity'),
      field(
        'usr.name, usr.email',
        privacy.allowUserIdentity,
        !privacy.allowUserIdentity ? 'Dropped on arrival: allow_user_identity=false.' : privacy.allowUserDetails ? 'As setUser sent them.' : `Kept ${scrubbed}.`,
        'allow_user_details',
      ),
      field('bot', privacy.keepBots, privacy.keepBots ? 'Bot traffic is kept and marked.' : 'Bot traffic is dropped, not stored.', 'keep_bots'),
      field('view.url, view.referrer, resource.url', true, `Page and resource URLs; ${queryRule}${scrub.templateIds ? '; numeric and UUID path segments become :id' : ''}.`, 'scrub.query_allow'),
      field('error.message, error.stack, action.name, context, report.body', true, `What the page sent, ${scrubbed}.`, 'scrub.pattern.<name>'),
    ],
    never_stored: ['the IP address', 'the User-Agent string', 'cookies or anything from browser storage', 'the visitor key that links requests to a session, or its salt'],
    retention_days: retention,
  }
}

import { applySetting, resolveSettings, type AppSettingsOverrides } from '../../src/apps/appSettings.js'
import type { RequestContext } from '../../src/pipeline/runPipeline.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'

export const RECEIVED_AT = Date.UTC(2024, 4, 1, 12, 0, 0)
export const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

/** A request as the ingest route builds it, with settings written the way an operator types them. */
export function fakeRequest(options: { settings?: string[]; overrides?: Partial<RequestContext> } = {}): RequestContext {
  let overrides: AppSettingsOverrides = {}
  for (const assignment of options.settings ?? []) overrides = applySetting(overrides, assignment)
  return {
    appId: 1,
    settings: resolveSettings(overrides),
    receivedAt: RECEIVED_AT,
    ip: '203.0.113.9',
    userAgent: CHROME_UA,
    optOut: false,
    derived: {},
    ...options.overrides,
  }
}

export function fakeView(url = 'https://shop.example.com/cart'): StoredEvent {
  return { type: 'view', view: { id: 'v-1', url }, ts: RECEIVED_AT, received_at: RECEIVED_AT } as StoredEvent
}

import type { StoredEvent } from '../pipeline/storedEvent.js'
import { isoTime } from './queryParameters.js'

/**
 * A stored event as the dashboard's data routes return it: every stored field (docs/PRIVACY.md lists them),
 * with its times as ISO 8601 strings like the rest of the API. Visitor-sent strings stay JSON strings.
 */
export function storedEventJson(event: StoredEvent): Omit<StoredEvent, 'ts' | 'received_at'> & { ts: string; received_at: string } {
  return { ...event, ts: isoTime(event.ts), received_at: isoTime(event.received_at) }
}

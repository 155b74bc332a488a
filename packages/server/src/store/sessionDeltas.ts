import type { StoredEvent } from '../pipeline/storedEvent.js'
import type { SessionSummary } from './Store.js'

/**
 * How a group of batches changes session summaries, worked out before anything is written: shared by every
 * store adapter's writer, which applies each SessionDelta with one upsert (has_error follows from errors).
 */

/** A view as the session's entry or exit: compared by (ts, id), the order the rollups read views in. */
export interface ViewMark {
  ts: number
  id: number
  page: string
  env: string | null
}

/** One session's share of a group of batches. */
export type SessionDelta = Omit<SessionSummary, 'hasError' | 'release' | 'entryPage' | 'exitPage' | 'env'> & {
  release: string | null
  /** Its first and last view of the group, if it had any. */
  entry?: ViewMark
  exit?: ViewMark
}

export function sessionDeltaKey(appId: number, sessionId: string): string {
  return `${appId} ${sessionId}`
}

export const viewBefore = (a: ViewMark, b: ViewMark): boolean => a.ts < b.ts || (a.ts === b.ts && a.id < b.id)

/** Adds an event to its session's delta; `views` is 1 for a view's first arrival, else 0. */
export function addToSession(sessions: Map<string, SessionDelta>, appId: number, sessionId: string, event: StoredEvent, views: number): SessionDelta {
  const id = sessionDeltaKey(appId, sessionId)
  let delta = sessions.get(id)
  if (!delta) {
    delta = { appId, sessionId, start: event.ts, end: event.ts, views: 0, actions: 0, errors: 0, country: null, browser: null, os: null, deviceType: null, receivedAt: event.received_at, release: null }
    sessions.set(id, delta)
  }
  delta.start = Math.min(delta.start, event.ts)
  delta.end = Math.max(delta.end, event.ts)
  delta.receivedAt = Math.max(delta.receivedAt, event.received_at)
  delta.views += views
  if (event.type === 'action') delta.actions++
  if (event.type === 'error') delta.errors++
  delta.country = event.geo?.country ?? delta.country
  delta.browser = event.device?.browser ?? delta.browser
  delta.os = event.device?.os ?? delta.os
  delta.deviceType = event.device?.type ?? delta.deviceType
  delta.release = event.release ?? delta.release
  return delta
}

export function markEntryExit(delta: SessionDelta, view: ViewMark): void {
  if (!delta.entry || viewBefore(view, delta.entry)) delta.entry = view
  if (!delta.exit || viewBefore(delta.exit, view)) delta.exit = view
}

/** The entry and exit columns of `sessions`, NULL where there is no view. */
export function viewMarkParams(entry: ViewMark | undefined, exit: ViewMark | undefined) {
  return {
    entryTs: entry?.ts ?? null,
    entryId: entry?.id ?? null,
    entryPage: entry?.page ?? null,
    env: entry?.env ?? null,
    exitTs: exit?.ts ?? null,
    exitId: exit?.id ?? null,
    exitPage: exit?.page ?? null,
  }
}

import { DAY_MS } from '../../clock.js'
import type { IssueKind, IssueTag } from './issue.js'
import type { IngestBatch } from '../Store.js'

/**
 * One issue's share of a group of batches, applied with one upsert per issue (as session summaries are):
 * a burst of the same error costs one row write, not one per event.
 */
export interface IssueDelta {
  appId: number
  fingerprint: string
  /** `error` for error events, `report` for browser reports. */
  kind: IssueKind
  /** Title, culprit, type and release of the group's earliest event (by `ts`, then arrival). */
  title: string
  culprit: string | null
  type: string | null
  firstSeen: number
  firstRelease: string | null
  lastSeen: number
  /** The release of the newest event that had one, and that event's time. */
  lastRelease: string | null
  lastReleaseTs: number | null
  count: number
  receivedAt: number
  releases: Map<string, SeenIn>
  /** By the events' `env`. */
  environments: Map<string, SeenIn>
  /** Events per UTC day of `ts` (the day's start, ms). */
  days: Map<number, number>
  /** Events per tag and value, keyed `tag\0value` (issue.ts ISSUE_TAGS). */
  tags: Map<string, number>
  sessions: Set<string>
  /** `ts` of the earliest event that named no release: such an event re-opens a resolved issue. */
  firstWithoutRelease: number | null
}

/** When and how often an issue was seen in one release or environment within the group. */
export interface SeenIn {
  firstSeen: number
  lastSeen: number
  count: number
}

/** Where each release of an app was seen in the group, by receive time (see migration 4). */
export interface ReleaseDelta {
  appId: number
  release: string
  firstReceived: number
  lastReceived: number
}

export interface GroupDeltas {
  /** By issueDeltaKey. */
  issues: Map<string, IssueDelta>
  /** Every event's release, whatever its type. */
  releases: Map<string, ReleaseDelta>
}

export function issueDeltaKey(appId: number, fingerprint: string): string {
  return `${appId} ${fingerprint}`
}

export function collectIssueDeltas(batches: readonly IngestBatch[]): GroupDeltas {
  const issues = new Map<string, IssueDelta>()
  const releases = new Map<string, ReleaseDelta>()
  for (const { appId, events } of batches) {
    for (const event of events) {
      const release = event.release ?? null
      if (release !== null) {
        const key = `${appId} ${release}`
        const seen = releases.get(key)
        if (!seen) releases.set(key, { appId, release, firstReceived: event.received_at, lastReceived: event.received_at })
        else {
          seen.firstReceived = Math.min(seen.firstReceived, event.received_at)
          seen.lastReceived = Math.max(seen.lastReceived, event.received_at)
        }
      }
      if ((event.type !== 'error' && event.type !== 'report') || !event.issue) continue

      const { fingerprint, title, culprit } = event.issue
      // An error issue's type is the error's (TypeError), a report issue's the report type (csp-violation).
      const type = (event.type === 'error' ? event.error.type : event.report.type) ?? null
      const key = issueDeltaKey(appId, fingerprint)
      let delta = issues.get(key)
      if (!delta) {
        delta = {
          appId,
          fingerprint,
          kind: event.type,
          title,
          culprit: culprit ?? null,
          type,
          firstSeen: event.ts,
          firstRelease: release,
          lastSeen: event.ts,
          lastRelease: null,
          lastReleaseTs: null,
          count: 0,
          receivedAt: event.received_at,
          releases: new Map(),
          environments: new Map(),
          days: new Map(),
          tags: new Map(),
          sessions: new Set(),
          firstWithoutRelease: null,
        }
        issues.set(key, delta)
      } else if (event.ts < delta.firstSeen) {
        delta.title = title
        delta.culprit = culprit ?? null
        delta.type = type
        delta.firstSeen = event.ts
        delta.firstRelease = release
      }
      delta.count++
      delta.lastSeen = Math.max(delta.lastSeen, event.ts)
      delta.receivedAt = Math.max(delta.receivedAt, event.received_at)
      if (event.session) delta.sessions.add(event.session.id)
      if (event.env !== undefined) countIn(delta.environments, event.env, event.ts)
      const day = Math.floor(event.ts / DAY_MS) * DAY_MS
      delta.days.set(day, (delta.days.get(day) ?? 0) + 1)
      countTag(delta.tags, 'browser', event.device?.browser)
      countTag(delta.tags, 'os', event.device?.os)
      countTag(delta.tags, 'device', event.device?.type)
      countTag(delta.tags, 'country', event.geo?.country)
      if (release === null) {
        delta.firstWithoutRelease = Math.min(delta.firstWithoutRelease ?? event.ts, event.ts)
        continue
      }
      if (delta.lastReleaseTs === null || event.ts >= delta.lastReleaseTs) {
        delta.lastRelease = release
        delta.lastReleaseTs = event.ts
      }
      countIn(delta.releases, release, event.ts)
    }
  }
  return { issues, releases }
}

function countTag(tags: Map<string, number>, tag: IssueTag, value: string | undefined): void {
  if (value === undefined) return
  const key = `${tag}\0${value}`
  tags.set(key, (tags.get(key) ?? 0) + 1)
}

function countIn(seen: Map<string, SeenIn>, name: string, ts: number): void {
  const entry = seen.get(name)
  if (!entry) seen.set(name, { firstSeen: ts, lastSeen: ts, count: 1 })
  else {
    entry.firstSeen = Math.min(entry.firstSeen, ts)
    entry.lastSeen = Math.max(entry.lastSeen, ts)
    entry.count++
  }
}

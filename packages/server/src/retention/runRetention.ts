import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { RETENTION_KINDS, resolveSettings, type RetentionKind } from '../apps/appSettings.js'
import { ALERT_LOG_RETENTION_DAYS } from '../alerts/alertRule.js'
import { AUDIT_RETENTION_DAYS, type AuditActor } from '../audit/auditEntry.js'
import { DAY_MS, utcDay, type Clock } from '../clock.js'
import { WIRE_TYPES } from '../protocol/wireSchema.js'
import { ISSUE_SAMPLE_NEWEST, isIssueKind } from '../store/issues/issue.js'
import type { RollupFamily } from '../store/AnalyticsStore.js'
import type { App, Store } from '../store/Store.js'

export interface RetentionReport {
  /**
   * Events deleted, by app id and type; session summaries under the type `session`. Events deleted to keep
   * each issue's sample bounded count under their own type too (`error` or `report`).
   */
  deleted: Array<{ appId: number; type: string; count: number }>
  /** Rows deleted: events and session summaries. */
  total: number
  /** Audit entries older than AUDIT_RETENTION_DAYS deleted (not part of `total`). */
  auditDeleted: number
  /** Issues deleted with their per-release and per-session rows, and releases deleted (not part of `total`). */
  issuesDeleted: number
  releasesDeleted: number
  /** Uploaded source files of releases that are gone (not part of `total`). */
  sourceFilesDeleted: number
  /** Alert delivery log rows older than ALERT_LOG_RETENTION_DAYS deleted (not part of `total`). */
  alertDeliveriesDeleted: number
}

/** Small chunks, each its own transaction, with a pause between: ingest waits a few ms at most. */
const CHUNK = 2000

/**
 * Applies every app's retention now: an event is deleted once `received_at` is older than its type's
 * setting (the client's `ts` plays no part, so it cannot be used to escape), and a session summary once its
 * last event's `received_at` is older than `retention.session` (its issues' session rows go with it). Daily
 * counts and releases are kept as long as the longest setting of the app. Each app that lost data gets one
 * audit entry with its counts by kind; audit entries themselves are kept AUDIT_RETENTION_DAYS, whatever the
 * apps' settings.
 *
 * Issues (DESIGN.md P7: rollups follow the same rules): each keeps a bounded sample of its events — its first
 * stored event and its ISSUE_SAMPLE_NEWEST newest; older ones are deleted here while the issue's counts stay
 * exact — and an issue whose latest event was received longer ago than the retention of its kind
 * (`retention.error` for error issues, `retention.report` for browser report issues) is deleted with its
 * per-release and per-session rows (by then its events are gone too: same setting, same clock).
 */
export async function runRetention(deps: {
  store: Store
  clock: Clock
  /** Recorded in the audit log: the server's hourly job unless a command says otherwise. */
  actor?: AuditActor
}): Promise<RetentionReport> {
  const report: RetentionReport = { deleted: [], total: 0, auditDeleted: 0, issuesDeleted: 0, releasesDeleted: 0, sourceFilesDeleted: 0, alertDeliveriesDeleted: 0 }
  // Analytics rollup rows deleted: not reported (the report's shape is shared with the CLI), but they count for compaction.
  let rollupsDeleted = 0
  const now = deps.clock.now()
  const apps = await deps.store.listApps()
  const dropped = await dropExpiredUnits(deps.store, apps, now)
  for (const app of apps) {
    const { retention } = resolveSettings(app.settings)
    const byKind: Partial<Record<RetentionKind, number>> = {}
    let appTotal = 0
    // Every event type, then the session summaries (`retention.session`, counted from their last event).
    for (const type of RETENTION_KINDS) {
      const receivedBefore = now - retention[type] * DAY_MS
      let count = dropped.get(`${app.id} ${type}`) ?? 0
      count += await inChunks((limit) => deps.store.deleteExpired({ appId: app.id, type, receivedBefore, limit }))
      if (isIssueKind(type)) {
        const kind = type
        count += await inChunks((limit) => deps.store.trimIssueEvents({ appId: app.id, kind, keepNewest: ISSUE_SAMPLE_NEWEST, limit }))
        report.issuesDeleted += await inChunks((limit) => deps.store.deleteExpiredIssues({ appId: app.id, kind, receivedBefore, limit }))
      }
      if (count > 0) {
        report.deleted.push({ appId: app.id, type, count })
        byKind[type] = count
        appTotal += count
      }
    }
    report.total += appTotal
    if (appTotal > 0) {
      await deps.store.appendAudit({
        appId: app.id,
        at: now,
        actor: deps.actor ?? 'server',
        action: 'retention.run',
        detail: { deleted: byKind, total: appTotal },
      })
    }
    const longest = Math.max(...Object.values(retention))
    // Rollups follow the data they sum (DESIGN.md P7): a family goes with the longest retention of its types.
    for (const [family, days] of rollupRetentionDays(retention)) {
      rollupsDeleted += await deps.store.analytics.deleteRollupsBefore({ appId: app.id, family, before: now - days * DAY_MS })
    }
    await deps.store.deleteDailyCountsBefore(app.id, utcDay(now - longest * DAY_MS))
    report.releasesDeleted += await deps.store.deleteReleasesBefore(app.id, now - longest * DAY_MS)
    // Source maps serve the events of their release: once none is kept, neither are they (nor do they count
    // against the app's upload quota any more).
    report.sourceFilesDeleted += await deps.store.sourceMaps.deleteStaleReleases(app.id, now - longest * DAY_MS)
  }
  // Its own deletions are not audited: an entry per hour saying "old entries went" would only be noise.
  report.auditDeleted = await deps.store.deleteAuditBefore(now - AUDIT_RETENTION_DAYS * DAY_MS)
  // Like the audit log, the alert delivery log is operational history with a fixed lifetime.
  report.alertDeliveriesDeleted = await deps.store.alerts.deleteDeliveriesBefore(now - ALERT_LOG_RETENTION_DAYS * DAY_MS)
  const deletedAnything = report.total + report.auditDeleted + report.issuesDeleted + report.releasesDeleted + report.sourceFilesDeleted + report.alertDeliveriesDeleted + rollupsDeleted > 0
  if (deletedAnything) await deps.store.compact()
  return report
}

/**
 * Before any app's own pass: events received before every app's every event-type cutoff go in whole storage
 * units where the store has them (PostgreSQL's weekly partitions, Store.dropEventsBefore). Returns the counts
 * by `appId type`, reported as if deleteExpired had deleted them.
 */
async function dropExpiredUnits(store: Store, apps: readonly App[], now: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  if (apps.length === 0) return counts
  const longest = Math.max(
    ...apps.flatMap((app) => {
      const { retention } = resolveSettings(app.settings)
      return WIRE_TYPES.map((type) => retention[type])
    }),
  )
  for (const { appId, type, count } of await store.dropEventsBefore(now - longest * DAY_MS)) {
    counts.set(`${appId} ${type}`, (counts.get(`${appId} ${type}`) ?? 0) + count)
  }
  return counts
}

/** Which retention settings each rollup family follows: the longest of the event types it sums. */
function rollupRetentionDays(retention: Record<RetentionKind, number>): Array<[RollupFamily, number]> {
  return [
    ['views', Math.max(retention.view, retention.action, retention.error, retention.vital)],
    ['sessions', retention.session],
    ['resources', retention.resource],
    ['long_tasks', retention.long_task],
  ]
}

/** Repeats a chunked delete until a chunk comes back short, pausing between chunks; returns the sum. */
async function inChunks(deleteChunk: (limit: number) => Promise<number>): Promise<number> {
  let total = 0
  for (;;) {
    const deleted = await deleteChunk(CHUNK)
    total += deleted
    if (deleted < CHUNK) return total
    await yieldToEventLoop()
  }
}

/** Runs retention every hour inside the server, and once shortly after start. */
export function startRetentionJob(deps: {
  store: Store
  clock: Clock
  intervalMs?: number
  onRun?: (report: RetentionReport) => void
  onError?: (error: unknown) => void
}): { stop(): Promise<void> } {
  let current: Promise<void> | undefined
  const run = () => {
    if (current) return
    // Once for a cluster: a node whose peer is applying retention right now skips this hour's turn.
    current = deps.store
      .runExclusive('retention', () => runRetention(deps))
      .then((report) => report && deps.onRun?.(report), deps.onError)
      .finally(() => (current = undefined))
  }
  const first = setTimeout(run, 10_000)
  const timer = setInterval(run, deps.intervalMs ?? 3_600_000)
  first.unref()
  timer.unref()
  return {
    async stop() {
      clearTimeout(first)
      clearInterval(timer)
      await current
    },
  }
}

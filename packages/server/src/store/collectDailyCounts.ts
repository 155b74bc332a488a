import type { DailyCount, IngestBatch } from './Store.js'

/** One daily count's share of a group of batches. */
export interface DailyCountDelta {
  appId: number
  day: string
  kind: DailyCount['kind']
  key: string
  n: number
}

/**
 * The daily counts a group of batches adds to, summed over the group: a writer applies one upsert per app,
 * day, kind and key for the whole group, not one per request.
 */
export function collectDailyCounts(batches: readonly IngestBatch[]): DailyCountDelta[] {
  const counts = new Map<string, DailyCountDelta>()
  const add = (batch: IngestBatch, kind: DailyCount['kind'], key: string, n: number) => {
    const id = `${batch.appId} ${batch.day} ${kind} ${key}`
    const entry = counts.get(id)
    if (entry) entry.n += n
    else counts.set(id, { appId: batch.appId, day: batch.day, kind, key, n })
  }
  for (const batch of batches) {
    for (const event of batch.events) add(batch, 'accepted', event.type, 1)
    for (const [reason, n] of Object.entries(batch.dropped)) if (n) add(batch, 'dropped', reason, n)
    for (const [reason, n] of Object.entries(batch.stripped ?? {})) if (n) add(batch, 'stripped', reason, n)
  }
  return [...counts.values()]
}

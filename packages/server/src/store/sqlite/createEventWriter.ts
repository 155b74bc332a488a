import type Database from 'better-sqlite3'
import type { IngestBatch } from '../Store.js'

/**
 * Writes ingest batches on one connection: the same code runs in the server's writer thread and in-process
 * (CLI, tests). Returns one entry per batch: undefined when committed, the error otherwise.
 */
export function createEventWriter(db: Database.Database): (batches: readonly IngestBatch[]) => Array<Error | undefined> {
  const insertEvent = db.prepare<[number, string, number, number, string]>(
    'INSERT INTO events (app_id, type, ts, received_at, data) VALUES (?, ?, ?, ?, ?)',
  )
  const upsertView = db.prepare<[number, number, number, string, number, string]>(
    `INSERT INTO events (app_id, type, ts, received_at, upsert_key, version, data) VALUES (?, 'view', ?, ?, ?, ?, ?)
     ON CONFLICT (app_id, upsert_key) WHERE upsert_key IS NOT NULL DO UPDATE
     SET ts = excluded.ts, received_at = excluded.received_at, version = excluded.version, data = excluded.data
     WHERE excluded.version >= events.version`,
  )
  const bumpCount = db.prepare<[number, string, string, string, number]>(
    `INSERT INTO daily_counts (app_id, day, kind, key, count) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (app_id, day, kind, key) DO UPDATE SET count = count + excluded.count`,
  )

  function insertEvents(batch: IngestBatch): void {
    for (const event of batch.events) {
      const data = JSON.stringify(event)
      if (event.type === 'view') upsertView.run(batch.appId, event.ts, event.received_at, event.view.id, event.view.version ?? 0, data)
      else insertEvent.run(batch.appId, event.type, event.ts, event.received_at, data)
    }
  }

  /** One upsert per app, day, kind and key for the whole group, not one per request. */
  function bumpCounts(batches: readonly IngestBatch[]): void {
    const counts = new Map<string, { appId: number; day: string; kind: 'accepted' | 'dropped'; key: string; n: number }>()
    const add = (batch: IngestBatch, kind: 'accepted' | 'dropped', key: string, n: number) => {
      const id = `${batch.appId} ${batch.day} ${kind} ${key}`
      const entry = counts.get(id)
      if (entry) entry.n += n
      else counts.set(id, { appId: batch.appId, day: batch.day, kind, key, n })
    }
    for (const batch of batches) {
      for (const event of batch.events) add(batch, 'accepted', event.type, 1)
      for (const [reason, n] of Object.entries(batch.dropped)) if (n) add(batch, 'dropped', reason, n)
    }
    for (const { appId, day, kind, key, n } of counts.values()) bumpCount.run(appId, day, kind, key, n)
  }

  // The whole group in one transaction, without a savepoint per request (SQLite journals savepoints, which
  // doubled the cost of an event). Should it fail, each request is retried in its own transaction, so one
  // bad request cannot take the others down and every request is still stored whole or not at all.
  const writeGroup = db.transaction((batches: readonly IngestBatch[]) => {
    for (const batch of batches) insertEvents(batch)
    bumpCounts(batches)
  })
  const writeOne = db.transaction((batch: IngestBatch) => {
    insertEvents(batch)
    bumpCounts([batch])
  })

  return (batches) => {
    try {
      writeGroup(batches)
      return batches.map(() => undefined)
    } catch {
      return batches.map((batch) => {
        try {
          writeOne(batch)
          return undefined
        } catch (error) {
          return error as Error
        }
      })
    }
  }
}

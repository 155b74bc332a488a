import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import type { IngestBatch } from '../../src/store/Store.js'
import { createTempSqliteStore, type TempSqliteStore } from './tempSqliteStore.js'

/**
 * Another connection (the checkpointer's RESTART, a CLI command) may hold the write lock and commit while a
 * group is being written. A deferred transaction that reads first (session summaries look views up) then
 * fails at once with SQLITE_BUSY, stale snapshot, without waiting; the writer must take the lock up front.
 * Found by the ingest benchmark, where checkpoints made whole groups fail.
 */
describe('SQLite writes while another connection holds the write lock', () => {
  let temp: TempSqliteStore | undefined
  afterEach(async () => temp?.cleanup())

  it('waits for the lock and stores the group instead of failing', async () => {
    temp = await createTempSqliteStore()
    const holder = holdWriteLock(temp.path, 300)
    await holder.locked
    const now = Date.now()
    const batch: IngestBatch = {
      appId: 1,
      day: '2026-11-22',
      dropped: {},
      events: [
        { type: 'view', view: { id: 'v-lock', url: 'https://a.example/' }, ts: now, received_at: now, session: { id: 's-lock' } },
        { type: 'custom', custom: { name: 'after the view' }, ts: now, received_at: now, session: { id: 's-lock' } },
      ],
    }
    const results = await temp.store.writeBatches([batch])
    await holder.done
    expect(results).toEqual([undefined])
    expect(await temp.store.countEvents({ appId: 1 })).toBe(2)
  })
})

/** A worker thread with its own connection: takes the write lock, commits a change after `ms`. */
function holdWriteLock(path: string, ms: number): { locked: Promise<void>; done: Promise<void> } {
  const modulePath = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads')
     const Database = require(workerData.modulePath)
     const db = new Database(workerData.path)
     db.exec('BEGIN IMMEDIATE')
     db.prepare("INSERT INTO daily_counts (app_id, day, kind, key, count) VALUES (9, '2026-11-22', 'accepted', 'custom', 1)").run()
     parentPort.postMessage('locked')
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms)
     db.exec('COMMIT')
     db.close()`,
    { eval: true, workerData: { modulePath, path, ms } },
  )
  const locked = new Promise<void>((resolve) => worker.once('message', () => resolve()))
  const done = new Promise<void>((resolve, reject) => {
    worker.once('exit', () => resolve())
    worker.once('error', reject)
  })
  return { locked, done }
}

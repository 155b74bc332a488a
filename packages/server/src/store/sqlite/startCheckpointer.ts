import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/**
 * SQLite's automatic WAL checkpoint runs inside a commit and makes that request wait for the copy back
 * into the database file: it is the p99 tail of ingest. The writer connection turns it off, and this
 * worker thread, with its own connection, checkpoints passively (never blocking writers) on a timer.
 */
export function startCheckpointer(options: { path: string; intervalMs: number }): { stop(): Promise<void> } {
  const modulePath = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { modulePath, path: options.path, intervalMs: options.intervalMs },
  })
  worker.unref()
  return {
    async stop() {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
      // Unref'd so it never keeps the process alive on its own, but shutdown must wait for it to close.
      worker.ref()
      worker.postMessage('stop')
      await exited
    },
  }
}

// Plain CommonJS so it runs the same from the built server and from tests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.modulePath)
const db = new Database(workerData.path)
db.pragma('busy_timeout = 1000')
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)') } catch {}
}, workerData.intervalMs)
parentPort.on('message', (message) => {
  if (message !== 'stop') return
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/**
 * SQLite's automatic WAL checkpoint runs inside a commit and makes that request wait for the copy back
 * into the database file: it is the p99 tail of ingest. The writer connection turns it off, and this
 * worker thread, with its own connection, checkpoints passively (never blocking writers) on a timer.
 */
export function startCheckpointer(options: { path: string; intervalMs: number; restartFrames: number }): { stop(): Promise<void> } {
  const modulePath = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { modulePath, path: options.path, intervalMs: options.intervalMs, restartFrames: options.restartFrames },
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
db.pragma('journal_size_limit = 67108864')
const timer = setInterval(() => {
  try {
    const [passive] = db.pragma('wal_checkpoint(PASSIVE)')
    // Under steady commits a passive checkpoint never reaches the end of the WAL, so SQLite never starts it
    // over and the file grows without bound. Once it is large, RESTART: having just copied nearly everything,
    // it holds the write lock only for the last few frames, then the WAL is reused from its start.
    if (passive && passive.log >= workerData.restartFrames) db.pragma('wal_checkpoint(RESTART)')
  } catch {}
}, workerData.intervalMs)
parentPort.on('message', (message) => {
  if (message !== 'stop') return
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

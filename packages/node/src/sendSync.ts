import { Worker } from 'node:worker_threads'

/**
 * The worker's code, evaluated as a CommonJS script so it needs no file next to the bundle (the same text
 * works from dist/index.js and dist/index.cjs). It posts every body at once and raises the flag when all
 * are answered; the status codes are written after the flag's slot.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads')
const flag = new Int32Array(workerData.shared)
const post = (body) => fetch(workerData.url, { method: 'POST', body, headers: workerData.headers, signal: AbortSignal.timeout(workerData.timeoutMs) })
  .then((response) => response.status, () => 0)
Promise.all(workerData.bodies.map(post)).then((statuses) => {
  statuses.forEach((status, i) => Atomics.store(flag, i + 1, status))
  Atomics.store(flag, 0, 1)
  Atomics.notify(flag, 0)
})
`

export interface SyncRequest {
  url: string
  headers: Record<string, string>
  bodies: string[]
}

/**
 * Posts request bodies and blocks the calling thread until they are answered or `timeoutMs` passes; true
 * when every body got a 2xx. For the moments when the process is about to end and no further turn of the
 * event loop will come: an `uncaughtExceptionMonitor` listener (Node prints the error and exits right
 * after it returns) and the `exit` event. A worker thread has its own event loop, so its `fetch` runs while
 * this thread waits on `Atomics.wait`. Costs a worker start, ≈ 50 ms.
 */
export function sendSync(request: SyncRequest, timeoutMs: number): boolean {
  if (request.bodies.length === 0) return true
  if (timeoutMs <= 0) return false
  const shared = new SharedArrayBuffer(4 * (request.bodies.length + 1))
  const flag = new Int32Array(shared)
  let worker: Worker | undefined
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { shared, url: request.url, headers: request.headers, bodies: request.bodies, timeoutMs },
      // The worker inherits nothing it does not need: no env (the default shares process.env), no argv, no
      // CLI options (an APM agent preloaded with --require would start again in it), no stdin, and its
      // output is not mixed into the host's.
      env: {},
      argv: [],
      execArgv: [],
      stdin: false,
      stdout: true,
      stderr: true,
    })
    // A worker that fails would raise an 'error' event here, uncaught in the host; a worker that outlives
    // the wait (a slow server) must not hold the process open.
    worker.on('error', () => undefined)
    worker.unref()
    Atomics.wait(flag, 0, 0, timeoutMs)
    if (Atomics.load(flag, 0) !== 1) return false
    return request.bodies.every((_, i) => {
      const status = Atomics.load(flag, i + 1)
      return status >= 200 && status < 300
    })
  } catch {
    return false
  } finally {
    void worker?.terminate().catch(() => undefined)
  }
}

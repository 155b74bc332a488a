import type { IngestBatch, Store } from './Store.js'

export interface BatchWriter {
  /** Resolves once the batch is committed, rejects if it was not stored (nothing of it was). */
  write(batch: IngestBatch): Promise<void>
  /** Events waiting to be committed, for back-pressure and metrics. */
  queuedEvents(): number
  /** Resolves when everything submitted so far is committed. */
  flush(): Promise<void>
}

interface Pending {
  batch: IngestBatch
  resolve(): void
  reject(error: Error): void
}

/**
 * Group commit: the batches of every request that arrives within one event-loop turn go into one
 * transaction, and each request is answered only after its commit (DESIGN.md §5: no timer, which would
 * cap throughput; one commit per turn keeps latency at the cost of the work already queued).
 */
export function createBatchWriter(deps: { store: Store; onCommit?: (seconds: number, batches: readonly IngestBatch[]) => void }): BatchWriter {
  let queue: Pending[] = []
  let queued = 0
  let scheduled = false
  let running: Promise<void> | undefined

  function schedule(): void {
    if (scheduled || running) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      running = commitQueued().finally(() => {
        running = undefined
        if (queue.length > 0) schedule()
      })
    })
  }

  async function commitQueued(): Promise<void> {
    const group = queue
    queue = []
    queued = 0
    const started = process.hrtime.bigint()
    const batches = group.map((pending) => pending.batch)
    let results: Array<Error | undefined>
    try {
      results = await deps.store.writeBatches(batches)
    } catch (error) {
      results = group.map(() => error as Error)
    }
    deps.onCommit?.(Number(process.hrtime.bigint() - started) / 1e9, batches.filter((_, i) => results[i] === undefined))
    group.forEach((pending, i) => {
      const error = results[i]
      if (error) pending.reject(error)
      else pending.resolve()
    })
  }

  return {
    write(batch) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ batch, resolve, reject })
        queued += batch.events.length
        schedule()
      })
    },
    queuedEvents: () => queued,
    async flush() {
      while (running || queue.length > 0 || scheduled) {
        if (running) await running
        else await new Promise<void>((resolve) => setImmediate(resolve))
      }
    },
  }
}

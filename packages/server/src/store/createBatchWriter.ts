import { setTimeout as sleep } from 'node:timers/promises'
import { StoreUnavailableError, type IngestBatch, type Store } from './Store.js'

/**
 * How long a group is held, and retried, while the database cannot be reached: a failover or a restart of
 * PostgreSQL takes a few seconds, and riding it out spares every client a retry. Its requests stay
 * unanswered meanwhile (their events count against the backlog limit, so new ones get 503 beyond it), and get
 * the error if the database is still away after it.
 */
export const UNAVAILABLE_HOLD_MS = 5_000

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
 *
 * `concurrency` groups may be committing at once: 1 for SQLite, which has one writer and commits on this
 * thread; more for PostgreSQL, where a commit mostly waits on the network and the disk, and another
 * connection can write meanwhile (store/openStore.ts says how many).
 */
export function createBatchWriter(deps: {
  store: Store
  onCommit?: (seconds: number, batches: readonly IngestBatch[]) => void
  holdMs?: number
  concurrency?: number
}): BatchWriter {
  const holdMs = deps.holdMs ?? UNAVAILABLE_HOLD_MS
  const concurrency = Math.max(1, deps.concurrency ?? 1)
  let queue: Pending[] = []
  let queued = 0
  /** Events of groups held while the database is away. */
  let held = 0
  let scheduled = false
  const running = new Set<Promise<void>>()

  function schedule(): void {
    if (scheduled || running.size >= concurrency) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      if (queue.length === 0) return
      const commit: Promise<void> = commitQueued().finally(() => {
        running.delete(commit)
        if (queue.length > 0) schedule()
      })
      running.add(commit)
    })
  }

  async function commitQueued(): Promise<void> {
    const group = queue
    queue = []
    queued = 0
    const started = process.hrtime.bigint()
    const batches = group.map((pending) => pending.batch)
    const deadline = Date.now() + holdMs
    let results = await writeAll(batches)
    const events = batches.reduce((sum, batch) => sum + batch.events.length, 0)
    let holding = false
    for (let pause = 100; results.every((result) => result instanceof StoreUnavailableError) && Date.now() + pause <= deadline; pause = Math.min(pause * 2, 1000)) {
      if (!holding) held += events
      holding = true
      await sleep(pause)
      results = await writeAll(batches)
    }
    if (holding) held -= events
    deps.onCommit?.(Number(process.hrtime.bigint() - started) / 1e9, batches.filter((_, i) => results[i] === undefined))
    group.forEach((pending, i) => {
      const error = results[i]
      if (error) pending.reject(error)
      else pending.resolve()
    })
  }

  async function writeAll(batches: IngestBatch[]): Promise<Array<Error | undefined>> {
    try {
      return await deps.store.writeBatches(batches)
    } catch (error) {
      return batches.map(() => error as Error)
    }
  }

  return {
    write(batch) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ batch, resolve, reject })
        queued += batch.events.length
        schedule()
      })
    },
    queuedEvents: () => queued + held,
    async flush() {
      while (running.size > 0 || queue.length > 0 || scheduled) {
        if (running.size > 0) await Promise.all(running)
        else await new Promise<void>((resolve) => setImmediate(resolve))
      }
    },
  }
}

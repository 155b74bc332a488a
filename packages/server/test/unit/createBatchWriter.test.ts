import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { createBatchWriter } from '../../src/store/createBatchWriter.js'
import { StoreUnavailableError, type IngestBatch, type Store } from '../../src/store/Store.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'

const NOW = Date.UTC(2024, 4, 1, 12)

function custom(name: string): StoredEvent {
  return { type: 'custom', custom: { name }, ts: NOW, received_at: NOW }
}

/** An event the store cannot serialize: the one real way to make a single batch fail. */
function unserializable(): StoredEvent {
  const context: Record<string, unknown> = {}
  context.self = context
  return { ...custom('broken'), context } as unknown as StoredEvent
}

function batch(appId: number, ...events: StoredEvent[]): IngestBatch {
  return { appId, day: '2024-05-01', events, dropped: {} }
}

/** The real store, recording each writeBatches call's batch count. */
function recording(store: Store): { store: Store; groups: number[] } {
  const groups: number[] = []
  return {
    groups,
    store: new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'writeBatches') {
          return (batches: readonly IngestBatch[]) => {
            groups.push(batches.length)
            return target.writeBatches(batches)
          }
        }
        return Reflect.get(target, key, receiver) as unknown
      },
    }),
  }
}

async function names(store: Store, appId: number): Promise<string[]> {
  const out: string[] = []
  for await (const event of store.readEvents({ appId })) if (event.type === 'custom') out.push(event.custom.name)
  return out
}

describe('createBatchWriter', () => {
  let temp: TempSqliteStore
  let appId: number

  beforeEach(async () => {
    temp = await createTempSqliteStore()
    appId = (await temp.store.createApp({ name: 'shop', createdAt: NOW, settings: {} })).id
  })
  afterEach(async () => temp.cleanup())

  it('commits the writes of one event-loop turn in one writeBatches call', async () => {
    const { store, groups } = recording(temp.store)
    const writer = createBatchWriter({ store })
    await Promise.all([writer.write(batch(appId, custom('a'))), writer.write(batch(appId, custom('b'))), writer.write(batch(appId, custom('c'), custom('d')))])
    expect(groups).toEqual([3])
    expect(await names(temp.store, appId)).toEqual(['a', 'b', 'c', 'd'])
  })

  it('resolves a write only after its batch is stored', async () => {
    const writer = createBatchWriter({ store: temp.store })
    await writer.write(batch(appId, custom('a')))
    expect(await temp.store.countEvents({ appId })).toBe(1)
  })

  it('counts queued events until they are committed', async () => {
    const writer = createBatchWriter({ store: temp.store })
    const pending = [writer.write(batch(appId, custom('a'), custom('b'))), writer.write(batch(appId, custom('c')))]
    expect(writer.queuedEvents()).toBe(3)
    await Promise.all(pending)
    expect(writer.queuedEvents()).toBe(0)
  })

  it('groups writes that arrive during a commit into the next one', async () => {
    const { store, groups } = recording(temp.store)
    const writer = createBatchWriter({ store })
    const first = writer.write(batch(appId, custom('a')))
    await new Promise<void>((resolve) => setImmediate(resolve))
    const later = [writer.write(batch(appId, custom('b'))), writer.write(batch(appId, custom('c')))]
    await Promise.all([first, ...later])
    expect(groups).toEqual([1, 2])
    expect(await names(temp.store, appId)).toEqual(['a', 'b', 'c'])
  })

  it('rejects only the promise of a batch that failed; the others are stored', async () => {
    const writer = createBatchWriter({ store: temp.store })
    const results = await Promise.allSettled([
      writer.write(batch(appId, custom('a'))),
      writer.write(batch(appId, custom('b1'), unserializable(), custom('b3'))),
      writer.write(batch(appId, custom('c'))),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(Error)
    // Stored whole or not at all: nothing of the failed batch.
    expect(await names(temp.store, appId)).toEqual(['a', 'c'])
  })

  it('rejects every write of a group when the store itself fails', async () => {
    const writer = createBatchWriter({ store: temp.store })
    await temp.store.close()
    const results = await Promise.allSettled([writer.write(batch(appId, custom('a'))), writer.write(batch(appId, custom('b')))])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
  })

  /** The real store behind a switch: while `away`, writeBatches answers as a store whose database is unreachable. */
  function flaky(store: Store): { store: Store; setAway(away: boolean): void; calls(): number } {
    let away = false
    let calls = 0
    return {
      setAway: (value) => void (away = value),
      calls: () => calls,
      store: new Proxy(store, {
        get(target, key, receiver) {
          if (key !== 'writeBatches') return Reflect.get(target, key, receiver) as unknown
          return async (batches: readonly IngestBatch[]) => {
            calls++
            return away ? batches.map(() => new StoreUnavailableError('PostgreSQL is unavailable: connect ECONNREFUSED')) : target.writeBatches(batches)
          }
        },
      }),
    }
  }

  it('holds a group while the database is away, counting it as queued, and commits it when it is back', async () => {
    const subject = flaky(temp.store)
    subject.setAway(true)
    const writer = createBatchWriter({ store: subject.store, holdMs: 10_000 })
    const pending = writer.write(batch(appId, custom('a'), custom('b')))
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(subject.calls()).toBeGreaterThan(1)
    expect(writer.queuedEvents()).toBe(2)
    subject.setAway(false)
    await pending
    expect(writer.queuedEvents()).toBe(0)
    expect(await names(temp.store, appId)).toEqual(['a', 'b'])
  })

  it('gives up after the hold, rejecting with the unavailable error, and takes writes again later', async () => {
    const subject = flaky(temp.store)
    subject.setAway(true)
    const writer = createBatchWriter({ store: subject.store, holdMs: 300 })
    await expect(writer.write(batch(appId, custom('a')))).rejects.toBeInstanceOf(StoreUnavailableError)
    subject.setAway(false)
    await writer.write(batch(appId, custom('b')))
    expect(await names(temp.store, appId)).toEqual(['b'])
  })

  it('does not hold a group whose batches failed for their own reasons', async () => {
    const writer = createBatchWriter({ store: temp.store, holdMs: 60_000 })
    const started = Date.now()
    await expect(writer.write(batch(appId, unserializable()))).rejects.toBeInstanceOf(Error)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('commits up to `concurrency` groups at once, each group still whole', async () => {
    let inFlight = 0
    let most = 0
    const groups: number[] = []
    const store = new Proxy(temp.store, {
      get(target, key, receiver) {
        if (key !== 'writeBatches') return Reflect.get(target, key, receiver) as unknown
        return async (batches: readonly IngestBatch[]) => {
          inFlight++
          most = Math.max(most, inFlight)
          groups.push(batches.length)
          // A commit that waits on the database, as PostgreSQL's do.
          await new Promise((resolve) => setTimeout(resolve, 50))
          inFlight--
          return target.writeBatches(batches)
        }
      },
    })
    const writer = createBatchWriter({ store, concurrency: 2 })
    const writes: Array<Promise<void>> = []
    for (let turn = 0; turn < 4; turn++) {
      writes.push(writer.write(batch(appId, custom(`t${turn}a`))), writer.write(batch(appId, custom(`t${turn}b`))))
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    await Promise.all(writes)
    await writer.flush()
    expect(most).toBe(2)
    expect(groups.reduce((a, b) => a + b, 0)).toBe(8)
    expect((await names(temp.store, appId)).sort()).toEqual(['t0a', 't0b', 't1a', 't1b', 't2a', 't2b', 't3a', 't3b'])
  })

  it('reports each commit with only the committed batches', async () => {
    const committed: number[][] = []
    const writer = createBatchWriter({
      store: temp.store,
      onCommit: (seconds, batches) => {
        expect(seconds).toBeGreaterThanOrEqual(0)
        committed.push(batches.map((b) => b.events.length))
      },
    })
    await Promise.allSettled([writer.write(batch(appId, custom('a'))), writer.write(batch(appId, unserializable())), writer.write(batch(appId, custom('b'), custom('c')))])
    expect(committed).toEqual([[1, 2]])
  })

  it('flush waits for everything submitted so far, across several commits', async () => {
    const { store, groups } = recording(temp.store)
    const writer = createBatchWriter({ store })
    const settled: string[] = []
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) {
        const name = `${round}-${i}`
        void writer.write(batch(appId, custom(name))).then(() => settled.push(name))
      }
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    await writer.flush()
    expect(writer.queuedEvents()).toBe(0)
    expect(await temp.store.countEvents({ appId })).toBe(12)
    expect(groups.reduce((a, b) => a + b, 0)).toBe(12)
    expect(settled).toHaveLength(12)
  })

  it('flush resolves at once when nothing is pending', async () => {
    const writer = createBatchWriter({ store: temp.store })
    await writer.flush()
    expect(writer.queuedEvents()).toBe(0)
  })
})

import type { PgDatabase, PgQueryable } from './openPostgresPool.js'

/**
 * `events` is partitioned by `received_at` into weeks (migrations.ts). Weekly rather than daily: a query by
 * `ts` (timelines, rollups) visits every partition's index, and a year of retention is 53 partitions instead
 * of 366. Weeks start at multiples of 7 days since 1970-01-01 (a Thursday): any fixed grid works.
 */
export const PARTITION_SPAN_MS = 7 * 86_400_000

/** Serializes partition creation and dropping across nodes (an arbitrary, fixed advisory lock key). */
const PARTITION_LOCK = 0x7461_6369

export interface EventPartition {
  name: string
  /** Inclusive lower and exclusive upper bound on `received_at`. */
  from: number
  to: number
}

export function partitionOf(receivedAt: number): EventPartition {
  const from = Math.floor(receivedAt / PARTITION_SPAN_MS) * PARTITION_SPAN_MS
  const day = new Date(from).toISOString().slice(0, 10).replaceAll('-', '')
  // Before 1970 (never in practice, but a name must not contain '-'): a prefix keeps names distinct.
  return { name: `events_w${from < 0 ? 'm' : ''}${day}`, from, to: from + PARTITION_SPAN_MS }
}

export interface EventPartitions {
  /** Creates the partitions that rows received at these times need, if missing; cached per node. */
  ensure(receivedAts: Iterable<number>): Promise<void>
  /** Forgets what this node knows, after a write found a partition missing (another node dropped it). */
  forget(): void
  /**
   * Drops every partition whose rows were all received before `receivedBefore`; returns their names. Nothing
   * else is deleted, so callers pass a time before which no app keeps any event. `beforeDrop`, when there is
   * something to drop, runs first in the same transaction (to count the rows, or delete what points at them).
   */
  dropBefore(receivedBefore: number, beforeDrop?: (tx: PgQueryable, expired: EventPartition[]) => Promise<void>): Promise<string[]>
  list(): Promise<EventPartition[]>
}

export function createEventPartitions(db: PgDatabase): EventPartitions {
  const known = new Set<string>()

  async function create(tx: PgQueryable, partition: EventPartition): Promise<void> {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${partition.name} PARTITION OF events FOR VALUES FROM (${partition.from}) TO (${partition.to})`)
    await tx.query('INSERT INTO event_partitions (name, from_ms, to_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [
      partition.name,
      partition.from,
      partition.to,
    ])
  }

  return {
    async ensure(receivedAts) {
      const missing = new Map<string, EventPartition>()
      for (const at of receivedAts) {
        const partition = partitionOf(at)
        if (!known.has(partition.name)) missing.set(partition.name, partition)
      }
      if (missing.size === 0) return
      // Outside any ingest transaction: creating a partition locks the parent table, briefly, once a week.
      await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK])
        const existing = await tx.query<{ name: string }>('SELECT name FROM event_partitions WHERE name = ANY($1)', [[...missing.keys()]])
        const present = new Set(existing.map((row) => row.name))
        for (const partition of missing.values()) if (!present.has(partition.name)) await create(tx, partition)
      })
      for (const name of missing.keys()) known.add(name)
    },
    forget() {
      known.clear()
    },
    async dropBefore(receivedBefore, beforeDrop) {
      return db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK])
        const expired = await tx.query<{ name: string; from_ms: number; to_ms: number }>(
          'SELECT name, from_ms, to_ms FROM event_partitions WHERE to_ms <= $1 ORDER BY from_ms',
          [receivedBefore],
        )
        if (expired.length > 0) await beforeDrop?.(tx, expired.map((row) => ({ name: row.name, from: row.from_ms, to: row.to_ms })))
        for (const { name } of expired) {
          await tx.query(`DROP TABLE IF EXISTS ${name}`)
          await tx.query('DELETE FROM event_partitions WHERE name = $1', [name])
          known.delete(name)
        }
        return expired.map((row) => row.name)
      })
    },
    async list() {
      const rows = await db.query<{ name: string; from_ms: number; to_ms: number }>('SELECT name, from_ms, to_ms FROM event_partitions ORDER BY from_ms')
      return rows.map((row) => ({ name: row.name, from: row.from_ms, to: row.to_ms }))
    },
  }
}

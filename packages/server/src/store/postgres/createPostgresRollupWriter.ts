import { ROLLUP_COLUMNS, ROLLUP_TABLES, WRITE_STEP, writeDifference, type BucketWrite, type RollupOperation, type RollupTable, type SqlValue } from '../rollups/rollupDifference.js'
import type { PgQueryable } from './openPostgresPool.js'

/**
 * Writing a rollup bucket's rows on PostgreSQL as a difference (rollups/rollupDifference.ts), in transactions of
 * at most 1,000 rows on the rollup job's own connection, with the event loop served between them. The stored
 * rows are read through a cursor WITH HOLD (materialized by the server when declared, then fetched 1,000 at a
 * time outside any transaction): one scan of the bucket, no transaction held open while the difference is
 * computed, and only a page at a time in this process. Each chunk is one INSERT … ON CONFLICT and one DELETE per
 * table, fed arrays, instead of a statement per row.
 */

/** PostgreSQL cannot store NUL in text; a resource slice's key joins type and URL with one (rollupCells.ts sliceSteps). */
const NUL = '\u0000'
const STORED_SEP = '\u0001'

/**
 * A rollup row's key as stored: the resource slices' separator is U+0001 here. Resource types are a fixed list
 * (protocol/wireSchema.ts), so the first U+0001 is always the separator, whatever the URL holds.
 */
export function storedSliceKey(family: unknown, gkey: string): string {
  return family === 'resources' ? gkey.replace(NUL, STORED_SEP) : gkey
}
export function readSliceKey(family: unknown, gkey: string): string {
  return family === 'resources' ? gkey.replace(STORED_SEP, NUL) : gkey
}

const NUMBER_TYPES: Record<string, string> = {
  views: 'bigint',
  actions: 'bigint',
  errors: 'bigint',
  sessions: 'bigint',
  bounces: 'bigint',
  crashed: 'bigint',
  duration_ms: 'bigint',
  count: 'bigint',
  a: 'bigint',
  b: 'bigint',
  c: 'bigint',
  total_ms: 'double precision',
  d: 'double precision',
}
const typeOf = (column: string) => NUMBER_TYPES[column] ?? 'text'
const quote = (column: string) => `"${column}"`

const statements = Object.fromEntries(
  ROLLUP_TABLES.map((table) => {
    const { key, values } = ROLLUP_COLUMNS[table]
    const columns = [...key, ...values]
    const arrays = (names: readonly string[], from: number) => names.map((column, i) => `$${from + i}::${typeOf(column)}[]`).join(', ')
    return [
      table,
      {
        upsert:
          `INSERT INTO ${table} (app_id, span, t, ${columns.map(quote).join(', ')}) SELECT $1::bigint, $2::bigint, $3::bigint, u.* FROM unnest(${arrays(columns, 4)}) AS u ` +
          `ON CONFLICT (app_id, span, t, ${key.map(quote).join(', ')}) DO UPDATE SET ${values.map((c) => `${quote(c)} = EXCLUDED.${quote(c)}`).join(', ')}`,
        remove:
          `DELETE FROM ${table} AS r USING unnest(${arrays(key, 4)}) AS d(${key.map(quote).join(', ')}) ` +
          `WHERE r.app_id = $1 AND r.span = $2 AND r.t = $3 AND ${key.map((c) => `r.${quote(c)} = d.${quote(c)}`).join(' AND ')}`,
        read: (appId: number, span: number, t: number) =>
          `SELECT ${columns.map(quote).join(', ')} FROM ${table} WHERE app_id = ${appId} AND span = ${span} AND t = ${t}`,
      },
    ]
  }),
) as Record<RollupTable, { upsert: string; remove: string; read: (appId: number, span: number, t: number) => string }>

export interface PostgresRollupWriter {
  /**
   * Makes the bucket's stored rows equal `rows`. `guard` runs first in every write transaction and stops the
   * write when it resolves false; `first` and `last` run inside the first and last write transaction (marks).
   * Returns false when stopped.
   */
  write(
    input: BucketWrite & {
      guard: (tx: PgQueryable) => Promise<boolean>
      first?: (tx: PgQueryable) => Promise<unknown>
      last?: (tx: PgQueryable) => Promise<unknown>
    },
  ): Promise<boolean>
}

/** `conn` is one connection, used by nothing else meanwhile: transactions are its BEGIN and COMMIT. */
export function createPostgresRollupWriter(conn: PgQueryable): PostgresRollupWriter {
  async function* stored(appId: number, span: number, t: number, table: RollupTable): AsyncGenerator<SqlValue[][]> {
    for (const n of [appId, span, t]) if (!Number.isSafeInteger(n)) throw new RangeError(`Not a bucket: ${appId} ${span} ${t}`)
    const width = ROLLUP_COLUMNS[table].key.length
    await conn.query(`DECLARE tacit_rollup_rows NO SCROLL CURSOR WITH HOLD FOR ${statements[table].read(appId, span, t)}`)
    try {
      for (;;) {
        const page = await conn.query<Record<string, SqlValue>>(`FETCH ${WRITE_STEP} FROM tacit_rollup_rows`)
        const columns = [...ROLLUP_COLUMNS[table].key, ...ROLLUP_COLUMNS[table].values]
        yield page.map((row) => {
          const values = columns.map((column) => row[column] ?? null)
          if (table === 'rollup_slices') values[width - 1] = readSliceKey(values[0], values[width - 1] as string)
          return values
        })
        if (page.length < WRITE_STEP) return
      }
    } finally {
      // Failing only with the connection, which is then dropped (openRollupConnection) with its cursor.
      await conn.query('CLOSE tacit_rollup_rows').catch(() => {})
    }
  }

  async function apply(tx: PgQueryable, appId: number, span: number, t: number, operations: readonly RollupOperation[]): Promise<void> {
    const upserts = new Map<RollupTable, SqlValue[][]>()
    const deletes = new Map<RollupTable, SqlValue[][]>()
    for (const op of operations) {
      if (op.kind === 'upsert') {
        const key = op.row.table === 'rollup_slices' ? [...op.row.key.slice(0, -1), storedSliceKey(op.row.key[0], op.row.key.at(-1) as string)] : op.row.key
        getList(upserts, op.row.table).push([...key, ...op.row.values])
      } else {
        const key = op.table === 'rollup_slices' ? [...op.key.slice(0, -1), storedSliceKey(op.key[0], op.key.at(-1) as string)] : op.key
        getList(deletes, op.table).push(key)
      }
    }
    for (const [table, rows] of upserts) await tx.query(statements[table].upsert, [appId, span, t, ...columnsOf(rows, rows[0]!.length)])
    for (const [table, rows] of deletes) await tx.query(statements[table].remove, [appId, span, t, ...columnsOf(rows, rows[0]!.length)])
  }

  async function inTransaction<T>(work: () => Promise<T>): Promise<T> {
    await conn.query('BEGIN')
    try {
      const result = await work()
      await conn.query('COMMIT')
      return result
    } catch (error) {
      // A broken connection fails this too; the original error is what the caller needs.
      await conn.query('ROLLBACK').catch(() => {})
      throw error
    }
  }

  return {
    async write({ appId, span, t, rows, between, guard, first, last }) {
      return writeDifference(rows, (table) => stored(appId, span, t, table), between, (chunk, isFirst, isLast) =>
        inTransaction(async () => {
          if (!(await guard(conn))) return false
          if (isFirst) await first?.(conn)
          await apply(conn, appId, span, t, chunk)
          if (isLast) await last?.(conn)
          return true
        }),
      )
    },
  }
}

function getList<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key)
  if (!list) map.set(key, (list = []))
  return list
}

/** Rows as one array per column, for unnest(). */
function columnsOf(rows: readonly SqlValue[][], width: number): SqlValue[][] {
  return Array.from({ length: width }, (_, i) => rows.map((row) => row[i]!))
}

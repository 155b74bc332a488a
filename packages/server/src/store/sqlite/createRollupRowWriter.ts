import type Database from 'better-sqlite3'
import { ROLLUP_COLUMNS, ROLLUP_TABLES, WRITE_STEP, writeDifference, type BucketWrite, type RollupOperation, type RollupTable, type SqlValue } from '../rollups/rollupDifference.js'

/**
 * Writing a rollup bucket's rows (docs/ROLLUPS.md) as a difference, in short transactions. A rebuilt bucket
 * mostly repeats what is stored — the current hour gains a few hundred events between rebuilds, yet holds tens
 * of thousands of rows with its slices — so only rows that are new or changed are written and only rows that no
 * longer exist are deleted, 1,000 to a transaction, with the event loop served between. Replacing a busy hour
 * in one transaction held the write lock and the event loop for half a second at 10 M events a month.
 *
 * While a bucket is being written, a query may read it partly updated — some rows new, some old, new rows
 * before the rows they replace are deleted — for the moment the write takes: only the current hour's numbers,
 * which lag ingest anyway, can show it. Daily rows are written while their day is marked, when queries do not
 * read them at all.
 */

export { ROLLUP_COLUMNS, type RollupRow, type RollupTable } from '../rollups/rollupDifference.js'

export interface RollupRowWriter {
  /**
   * Makes the bucket's stored rows equal `rows`. `between` runs after each read and write step; `guard` runs
   * first in every write transaction and stops the write when it returns false (the bucket was purged meanwhile).
   * `first` and `last` run inside the first and last write transaction (marks). Returns false when stopped.
   */
  write(input: BucketWrite & { guard?: () => boolean; first?: () => void; last?: () => void }): Promise<boolean>
}

export function createRollupRowWriter(db: Database.Database): RollupRowWriter {
  const statements = Object.fromEntries(
    ROLLUP_TABLES.map((table) => {
      const { key, values } = ROLLUP_COLUMNS[table]
      const columns = ['app_id', 'span', 't', ...key, ...values]
      // Without statistics SQLite would walk rollup_slices by its primary key (app_id, then family): every slice
      // of the app. The bucket index reaches the bucket's rows, in key order.
      const index = table === 'rollup_slices' ? ' INDEXED BY rollup_slices_by_bucket' : ''
      return [
        table,
        {
          upsert: db.prepare(`INSERT OR REPLACE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`),
          remove: db.prepare(`DELETE FROM ${table} WHERE app_id = ? AND span = ? AND t = ? AND ${key.map((c) => `${c} = ?`).join(' AND ')}`),
          read: db
            .prepare(`SELECT ${[...key, ...values].join(', ')} FROM ${table}${index} WHERE app_id = ? AND span = ? AND t = ? ORDER BY ${key.join(', ')} LIMIT ? OFFSET ?`)
            .raw(),
        },
      ]
    }),
  ) as Record<RollupTable, { upsert: Database.Statement; remove: Database.Statement; read: Database.Statement }>

  const apply = db.transaction((appId: number, span: number, t: number, operations: readonly RollupOperation[], hooks: { guard?: () => boolean; first?: () => void; last?: () => void }) => {
    if (hooks.guard && !hooks.guard()) return false
    hooks.first?.()
    for (const op of operations) {
      if (op.kind === 'upsert') statements[op.row.table].upsert.run(appId, span, t, ...op.row.key, ...op.row.values)
      else statements[op.table].remove.run(appId, span, t, ...op.key)
    }
    hooks.last?.()
    return true
  })

  /** A table's stored rows of the bucket, page by page (the last page may be empty). */
  async function* stored(appId: number, span: number, t: number, table: RollupTable): AsyncGenerator<SqlValue[][]> {
    for (let offset = 0; ; offset += WRITE_STEP) {
      const page = statements[table].read.all(appId, span, t, WRITE_STEP, offset) as SqlValue[][]
      yield page
      if (page.length < WRITE_STEP) return
    }
  }

  return {
    async write({ appId, span, t, rows, between, guard, first, last }) {
      return writeDifference(rows, (table) => stored(appId, span, t, table), between, (chunk, isFirst, isLast) =>
        apply.immediate(appId, span, t, chunk, { guard, ...(isFirst && { first }), ...(isLast && { last }) }),
      )
    },
  }
}

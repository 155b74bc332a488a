import type Database from 'better-sqlite3'

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

type SqlValue = string | number | null

/** The columns of each rollup table after (app_id, span, t): its key's, then its values'. */
export const ROLLUP_COLUMNS = {
  rollup_views: { key: ['page', 'country', 'browser', 'os', 'device', 'release', 'env'], values: ['views', 'actions', 'errors', 'metrics'] },
  rollup_sessions: { key: ['entry_page', 'exit_page', 'country', 'browser', 'os', 'device', 'release', 'env'], values: ['sessions', 'bounces', 'crashed', 'duration_ms'] },
  rollup_sources: { key: ['page', 'country', 'browser', 'os', 'device', 'release', 'env', 'kind', 'key'], values: ['views'] },
  rollup_resources: { key: ['page', 'country', 'browser', 'os', 'device', 'release', 'env', 'type', 'url'], values: ['count', 'histogram'] },
  rollup_long_tasks: { key: ['page', 'country', 'browser', 'os', 'device', 'release', 'env'], values: ['count', 'total_ms', 'histogram'] },
  rollup_slices: { key: ['family', 'fdim', 'fkey', 'gdim', 'gkey'], values: ['a', 'b', 'c', 'd', 'metrics'] },
} as const

export type RollupTable = keyof typeof ROLLUP_COLUMNS
const TABLES = Object.keys(ROLLUP_COLUMNS) as RollupTable[]

/** One row of a bucket: its table, key and values in ROLLUP_COLUMNS order. */
export interface RollupRow {
  table: RollupTable
  key: SqlValue[]
  values: SqlValue[]
}

type Operation = { kind: 'upsert'; row: RollupRow } | { kind: 'delete'; table: RollupTable; key: SqlValue[] }

const WRITE_STEP = 1000
const SEP = '\u0000'
const text = (values: readonly SqlValue[]) => values.map((v) => (v === null ? '\u0001' : String(v))).join(SEP)

export interface RollupRowWriter {
  /**
   * Makes the bucket's stored rows equal `rows`. `between` runs after each read and write step; `guard` runs
   * first in every write transaction and stops the write when it returns false (the bucket was purged meanwhile).
   * `first` and `last` run inside the first and last write transaction (marks). Returns false when stopped.
   */
  write(input: {
    appId: number
    span: number
    t: number
    rows: readonly RollupRow[]
    between: () => Promise<unknown>
    guard?: () => boolean
    first?: () => void
    last?: () => void
  }): Promise<boolean>
}

export function createRollupRowWriter(db: Database.Database): RollupRowWriter {
  const statements = Object.fromEntries(
    TABLES.map((table) => {
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

  const apply = db.transaction((appId: number, span: number, t: number, operations: readonly Operation[], hooks: { guard?: () => boolean; first?: () => void; last?: () => void }) => {
    if (hooks.guard && !hooks.guard()) return false
    hooks.first?.()
    for (const op of operations) {
      if (op.kind === 'upsert') statements[op.row.table].upsert.run(appId, span, t, ...op.row.key, ...op.row.values)
      else statements[op.table].remove.run(appId, span, t, ...op.key)
    }
    hooks.last?.()
    return true
  })

  /** The operations that turn the stored rows into `rows`, reading the stored ones page by page. */
  async function difference(appId: number, span: number, t: number, rows: readonly RollupRow[], between: () => Promise<unknown>): Promise<Operation[]> {
    const wanted = new Map<string, { row: RollupRow; values: string }>()
    for (const row of rows) {
      if (wanted.set(`${row.table}${SEP}${text(row.key)}`, { row, values: text(row.values) }).size % WRITE_STEP === 0) await between()
    }
    const deletes: Operation[] = []
    for (const table of TABLES) {
      const width = ROLLUP_COLUMNS[table].key.length
      for (let offset = 0; ; offset += WRITE_STEP) {
        const page = statements[table].read.all(appId, span, t, WRITE_STEP, offset) as SqlValue[][]
        for (const stored of page) {
          const key = stored.slice(0, width)
          const id = `${table}${SEP}${text(key)}`
          const want = wanted.get(id)
          if (!want) deletes.push({ kind: 'delete', table, key })
          else if (want.values === text(stored.slice(width))) wanted.delete(id)
        }
        await between()
        if (page.length < WRITE_STEP) break
      }
    }
    // New and changed rows first, then the ones that are gone.
    return [...[...wanted.values()].map(({ row }): Operation => ({ kind: 'upsert', row })), ...deletes]
  }

  return {
    async write({ appId, span, t, rows, between, guard, first, last }) {
      const operations = await difference(appId, span, t, rows, between)
      // At least one transaction, so the marks are set and cleared even when nothing changed.
      const steps = Math.max(1, Math.ceil(operations.length / WRITE_STEP))
      for (let step = 0; step < steps; step++) {
        const chunk = operations.slice(step * WRITE_STEP, (step + 1) * WRITE_STEP)
        const hooks = { guard, ...(step === 0 && { first }), ...(step === steps - 1 && { last }) }
        if (!apply.immediate(appId, span, t, chunk, hooks)) return false
        if (step < steps - 1) await between()
      }
      return true
    },
  }
}

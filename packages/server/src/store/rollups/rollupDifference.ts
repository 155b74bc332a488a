/**
 * A rollup bucket is written as a difference (docs/ROLLUPS.md): a rebuilt bucket mostly repeats what is stored —
 * the current hour gains a few hundred events between rebuilds, yet holds tens of thousands of rows with its
 * slices — so only rows that are new or changed are written and only rows that no longer exist are deleted, in
 * short transactions. This is the adapter-independent part: the tables' columns and the operations that turn the
 * stored rows into the wanted ones. Each adapter reads the stored rows and applies the operations its own way
 * (sqlite/createRollupRowWriter.ts, postgres/createPostgresRollupWriter.ts).
 */

export type SqlValue = string | number | null

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
export const ROLLUP_TABLES = Object.keys(ROLLUP_COLUMNS) as RollupTable[]

/** One row of a bucket: its table, key and values in ROLLUP_COLUMNS order. */
export interface RollupRow {
  table: RollupTable
  key: SqlValue[]
  values: SqlValue[]
}

/** A bucket and the rows it should hold, as both adapters' writers take it; `between` runs after each read and write step. */
export interface BucketWrite {
  appId: number
  span: number
  t: number
  rows: readonly RollupRow[]
  between: () => Promise<unknown>
}

export type RollupOperation = { kind: 'upsert'; row: RollupRow } | { kind: 'delete'; table: RollupTable; key: SqlValue[] }

/** Rows compared, and operations applied, per step: a few milliseconds of work, then the event loop is served. */
export const WRITE_STEP = 1000
const SEP = '\u0000'
const text = (values: readonly SqlValue[]) => values.map((v) => (v === null ? '\u0001' : String(v))).join(SEP)

/**
 * The operations that turn a bucket's stored rows into `rows`: new and changed rows first (upserts), then the
 * ones that are gone (deletes). `stored` yields a table's stored rows of the bucket (key columns, then value
 * columns, in ROLLUP_COLUMNS order) page by page, in any order; `between` runs after every step.
 */
export async function rollupDifference(
  rows: readonly RollupRow[],
  stored: (table: RollupTable) => AsyncIterable<readonly SqlValue[][]>,
  between: () => Promise<unknown>,
): Promise<RollupOperation[]> {
  const wanted = new Map<string, { row: RollupRow; values: string }>()
  for (const row of rows) {
    if (wanted.set(`${row.table}${SEP}${text(row.key)}`, { row, values: text(row.values) }).size % WRITE_STEP === 0) await between()
  }
  const deletes: RollupOperation[] = []
  for (const table of ROLLUP_TABLES) {
    const width = ROLLUP_COLUMNS[table].key.length
    for await (const page of stored(table)) {
      for (const row of page) {
        const key = row.slice(0, width)
        const id = `${table}${SEP}${text(key)}`
        const want = wanted.get(id)
        if (!want) deletes.push({ kind: 'delete', table, key })
        else if (want.values === text(row.slice(width))) wanted.delete(id)
      }
      await between()
    }
  }
  return [...[...wanted.values()].map(({ row }): RollupOperation => ({ kind: 'upsert', row })), ...deletes]
}

/**
 * Makes a bucket's stored rows equal `rows`, as both adapters' writers do: the operations (rollupDifference) go
 * WRITE_STEP at a time to `writeStep`, which applies them in one transaction, with the marks set in the first and
 * cleared in the last, and resolves false to stop the write; `between` runs between steps. Returns false when stopped.
 */
export async function writeDifference(
  rows: readonly RollupRow[],
  stored: (table: RollupTable) => AsyncIterable<readonly SqlValue[][]>,
  between: () => Promise<unknown>,
  writeStep: (operations: readonly RollupOperation[], first: boolean, last: boolean) => boolean | Promise<boolean>,
): Promise<boolean> {
  const operations = await rollupDifference(rows, stored, between)
  // At least one transaction, so the marks are set and cleared even when nothing changed.
  const steps = Math.max(1, Math.ceil(operations.length / WRITE_STEP))
  for (let step = 0; step < steps; step++) {
    const chunk = operations.slice(step * WRITE_STEP, (step + 1) * WRITE_STEP)
    if (!(await writeStep(chunk, step === 0, step === steps - 1))) return false
    if (step < steps - 1) await between()
  }
  return true
}

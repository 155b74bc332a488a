/**
 * Rows passed to PostgreSQL as one array per column and turned back into rows by `unnest(…)`: a statement of
 * fixed text writes any number of rows in one round trip, without the 65,535-parameter limit of a multi-row
 * VALUES list. `types` are the columns' SQL types; the arrays become parameters `$first`, `$first + 1`, ….
 */
export function unnestRows(types: readonly string[], rows: ReadonlyArray<readonly unknown[]>, first = 1): { from: string; values: unknown[][] } {
  return {
    from: `unnest(${types.map((type, i) => `$${first + i}::${type}[]`).join(', ')})`,
    values: types.map((_, column) => rows.map((row) => row[column])),
  }
}

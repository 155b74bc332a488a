import type { AnalyticsStore } from '../AnalyticsStore.js'
import { createRollupAnswers, type RollupReader, type SliceRow } from '../rollups/createRollupAnswers.js'
import { readSliceKey } from './createPostgresRollupWriter.js'
import type { PgDatabase } from './openPostgresPool.js'

/**
 * Reading the PostgreSQL rollups (docs/ROLLUPS.md): the overview and performance views are answered by the
 * shared rollups/createRollupAnswers.ts from the rows read here, so they are SQLite's answers for the same rows.
 * Every statement leads with app_id and span or the slice's family, filter and grouping: the primary keys (and
 * the by-page indexes for page filters) reach exactly the rows of the range.
 */
export function createPostgresRollupQueries(db: PgDatabase): Pick<AnalyticsStore, 'overview' | 'performance'> {
  const reader: RollupReader = {
    async dirtyDays(appId, from, to) {
      const rows = await db.query<{ day: number }>('SELECT day FROM rollup_dirty_days WHERE app_id = $1 AND day >= $2 AND day < $3', [appId, from, to])
      return rows.map((row) => row.day)
    },
    async eachRow(table, appId, span, from, to, filters, each) {
      const values: unknown[] = [appId, span, from, to]
      // Column names come from the filter keys the shared answers checked (ANALYTICS_FILTERS).
      const where = filters.map(([column, value]) => ` AND "${column}" = $${values.push(value)}`).join('')
      for (const row of await db.query(`SELECT * FROM ${table} WHERE app_id = $1 AND span = $2 AND t >= $3 AND t < $4${where}`, values)) each(row)
    },
    async eachSlice({ appId, family, fdim, fkey, gdim }, span, from, to, each) {
      const rows = await db.query<SliceRow>(
        'SELECT t, gkey, a, b, c, d, metrics FROM rollup_slices WHERE app_id = $1 AND family = $2 AND fdim = $3 AND fkey = $4 AND gdim = $5 AND span = $6 AND t >= $7 AND t < $8 ORDER BY t',
        [appId, family, fdim, fkey, gdim, span, from, to],
      )
      for (const row of rows) {
        if (family === 'resources') row.gkey = readSliceKey(family, row.gkey)
        each(row)
      }
    },
  }
  return createRollupAnswers(reader)
}

import type Database from 'better-sqlite3'
import type { AnalyticsStore } from '../AnalyticsStore.js'
import { createRollupAnswers, type RollupReader } from '../rollups/createRollupAnswers.js'

/**
 * Reading the SQLite rollups (docs/ROLLUPS.md): the overview and performance views are answered by the shared
 * rollups/createRollupAnswers.ts from the rows read here.
 */
export function createRollupQueries(db: Database.Database): Pick<AnalyticsStore, 'overview' | 'performance'> {
  const sql = {
    dirtyDays: db.prepare<[number, number, number]>('SELECT day FROM rollup_dirty_days WHERE app_id = ? AND day >= ? AND day < ?').pluck(),
    slices: db.prepare<[number, string, string, string, string, number, number, number]>(
      'SELECT t, gkey, a, b, c, d, metrics FROM rollup_slices WHERE app_id = ? AND family = ? AND fdim = ? AND fkey = ? AND gdim = ? AND span = ? AND t >= ? AND t < ?',
    ),
  }
  const reader: RollupReader = {
    async dirtyDays(appId, from, to) {
      return sql.dirtyDays.all(appId, from, to) as number[]
    },
    async eachRow(table, appId, span, from, to, filters, each) {
      // Without statistics SQLite prefers the primary key (time first), which reads every page's rows of the range.
      const byPage = filters.some(([column]) => column === 'page' || column === 'entry_page')
      const index = byPage ? ` INDEXED BY ${table === 'rollup_sessions' ? 'rollup_sessions_by_entry' : `${table}_by_page`}` : ''
      const where = filters.map(([column]) => ` AND ${column} = ?`).join('')
      const rows = db.prepare(`SELECT * FROM ${table}${index} WHERE app_id = ? AND span = ${span} AND t >= ? AND t < ?${where}`).iterate(appId, from, to, ...filters.map(([, value]) => value))
      for (const row of rows) each(row)
    },
    async eachSlice({ appId, family, fdim, fkey, gdim }, span, from, to, each) {
      for (const row of sql.slices.iterate(appId, family, fdim, fkey, gdim, span, from, to)) each(row as Parameters<typeof each>[0])
    },
  }
  return createRollupAnswers(reader)
}

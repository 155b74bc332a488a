import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRollupRowWriter, type RollupRow } from '../../src/store/sqlite/createRollupRowWriter.js'
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js'

const HOUR = 3_600_000
const between = async () => {}

describe('createRollupRowWriter: a bucket written as a difference', () => {
  let db: Database.Database
  beforeEach(() => {
    db = new Database(':memory:')
    // The rollup tables as the migrations make them (migration 16's backfill needs a function it does not use here).
    db.function('tacit_page_path', (_url: unknown) => '')
    for (const migration of MIGRATIONS) db.exec(migration.sql)
  })
  afterEach(() => db.close())

  const view = (page: string, views: number): RollupRow => ({ table: 'rollup_views', key: [page, 'DE', 'Chrome', 'Linux', 'desktop', '', ''], values: [views, 0, 0, '{"h":{},"r":{}}'] })
  const slice = (gkey: string, a: number): RollupRow => ({ table: 'rollup_slices', key: ['views', '', '', 'page', gkey], values: [a, 0, 0, 0, null] })
  const stored = () => ({
    views: db.prepare('SELECT page, views FROM rollup_views WHERE app_id = 1 AND span = ? AND t = ? ORDER BY page').raw().all(HOUR, 0),
    slices: db.prepare('SELECT gkey, a FROM rollup_slices WHERE app_id = 1 ORDER BY gkey').raw().all(),
    other: db.prepare('SELECT count(*) FROM rollup_views WHERE app_id = 2 OR t <> 0').pluck().get(),
  })
  const changes = () => db.prepare('SELECT total_changes()').pluck().get() as number

  it('writes only new and changed rows, deletes the ones gone, and leaves other buckets and apps alone', async () => {
    const writer = createRollupRowWriter(db)
    await writer.write({ appId: 2, span: HOUR, t: 0, rows: [view('/', 9)], between })
    await writer.write({ appId: 1, span: HOUR, t: HOUR, rows: [view('/', 8)], between })
    await writer.write({ appId: 1, span: HOUR, t: 0, rows: [view('/', 1), view('/a', 2), view('/b', 3), slice('/', 1), slice('/a', 2)], between })
    expect(stored()).toEqual({ views: [['/', 1], ['/a', 2], ['/b', 3]], slices: [['/', 1], ['/a', 2]], other: 2 })

    const before = changes()
    // '/' unchanged, '/a' changed, '/b' gone, '/c' new; one slice changed, one gone, one new.
    await writer.write({ appId: 1, span: HOUR, t: 0, rows: [view('/', 1), view('/a', 5), view('/c', 7), slice('/', 4), slice('/c', 7)], between })
    expect(stored()).toEqual({ views: [['/', 1], ['/a', 5], ['/c', 7]], slices: [['/', 4], ['/c', 7]], other: 2 })
    // 6 rows touched (a REPLACE of an existing key counts as one change here): nothing written for '/'.
    expect(changes() - before).toBe(6)
    // The same rows again write nothing.
    const again = changes()
    await writer.write({ appId: 1, span: HOUR, t: 0, rows: [view('/', 1), view('/a', 5), view('/c', 7), slice('/', 4), slice('/c', 7)], between })
    expect(changes() - again).toBe(0)
  })

  it('runs the marks in the first and last transactions, in steps of 1,000 rows, and stops when the guard says so', async () => {
    const writer = createRollupRowWriter(db)
    const rows = Array.from({ length: 2500 }, (_, i) => view(`/p${i}`, i + 1))
    const events: string[] = []
    let steps = 0
    await writer.write({ appId: 1, span: HOUR, t: 0, rows, between: async () => void steps++, first: () => void events.push('first'), last: () => void events.push('last') })
    expect(events).toEqual(['first', 'last'])
    expect(db.prepare('SELECT count(*) FROM rollup_views').pluck().get()).toBe(2500)
    // Reading the stored rows (empty: one step per table) and three write steps (two pauses between them).
    expect(steps).toBeGreaterThanOrEqual(2)

    // A guard that fails after the first transaction (a purge meanwhile): the rest is not written, and `last` never runs.
    let allowed = 1
    const changed = rows.map((row) => ({ ...row, values: [99_999, 0, 0, '{"h":{},"r":{}}'] }))
    const done = await writer.write({ appId: 1, span: HOUR, t: 0, rows: changed, between, guard: () => allowed-- > 0, last: () => void events.push('last again') })
    expect(done).toBe(false)
    expect(events).toEqual(['first', 'last'])
    expect(db.prepare('SELECT count(*) FROM rollup_views WHERE views = 99999').pluck().get()).toBe(1000)
  })
})

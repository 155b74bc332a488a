import Database from 'better-sqlite3'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js'
import { makeTempDir } from '../support/tacitProcess.js'
import { describeExploreStoreContract } from './exploreStoreContract.js'
import { createTempSqliteStore } from './tempSqliteStore.js'

for (const [label, options] of [
  ['sqlite', {}],
  ['sqlite (server options)', { backgroundCheckpoints: true, synchronous: 'full' }],
] as const) {
  describeExploreStoreContract(label, async () => createTempSqliteStore(options))
}

describe('SQLite explorer: schema', () => {
  it('gives events stored before migration 12 their session id, so older sessions have timelines', async () => {
    const dir = makeTempDir('tacit-explore-migration-')
    try {
      const path = join(dir.path, 'tacit.db')
      const raw = new Database(path)
      for (const migration of MIGRATIONS.filter((m) => m.version < 12)) raw.exec(migration.sql)
      raw.pragma('user_version = 11')
      raw.prepare("INSERT INTO apps (id, name, created_at) VALUES (1, 'shop', 0)").run()
      const insert = raw.prepare("INSERT INTO events (app_id, type, ts, received_at, data) VALUES (1, ?, ?, ?, ?)")
      const session = '44444444-4444-4444-8444-444444444444'
      insert.run('view', 2, 2, JSON.stringify({ type: 'view', ts: 2, received_at: 2, session: { id: session }, view: { id: 'v', url: 'https://shop.example/' } }))
      insert.run('error', 1, 1, JSON.stringify({ type: 'error', ts: 1, received_at: 1, session: { id: session }, error: { message: 'early' } }))
      insert.run('error', 3, 3, JSON.stringify({ type: 'error', ts: 3, received_at: 3, error: { message: 'no session' } }))
      // A session id that is not a string is nothing a timeline can be looked up by.
      insert.run('custom', 4, 4, JSON.stringify({ type: 'custom', ts: 4, received_at: 4, session: { id: 7 }, custom: { name: 'odd' } }))
      // Its summary, as the event writer kept it: the timeline reads the events within its start and end.
      raw.prepare('INSERT INTO sessions (app_id, session_id, start_ts, end_ts, views, errors, has_error, received_at) VALUES (1, ?, 1, 2, 1, 1, 1, 2)').run(session)
      raw.close()

      const store = createSqliteStore({ path })
      try {
        const timeline = await store.explorer.sessionEvents({ appId: 1, sessionId: session, limit: 10 })
        expect(timeline.map((e) => e.type)).toEqual(['error', 'view'])
      } finally {
        await store.close()
      }
      const check = new Database(path, { readonly: true })
      expect(check.prepare('SELECT session_id FROM events ORDER BY ts').pluck().all()).toEqual([session, session, null, null])
      // The timeline is answered from the time index, which carries the session id.
      const plan = (sql: string, ...params: unknown[]) => (check.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join('; ')
      expect(plan('SELECT data FROM events WHERE app_id = ? AND ts >= ? AND ts <= ? AND session_id = ? ORDER BY ts, id', 1, 1, 2, session)).toMatch(/USING INDEX events_by_app_ts_session/)
      // Migration 14 replaced migration 12's (app_id, session_id) index: it cost ingest a random index insert per event.
      expect(check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name").pluck().all()).not.toContain('events_by_app_session')
      check.close()
    } finally {
      dir.remove()
    }
  })

  it('gives sessions stored before migration 16 their entry and exit pages and env from their views', async () => {
    const dir = makeTempDir('tacit-explore-migration16-')
    try {
      const path = join(dir.path, 'tacit.db')
      let store = createSqliteStore({ path })
      const app = await store.createApp({ name: 'shop', createdAt: 0, settings: {} })
      const session = { id: '55555555-5555-4555-8555-555555555555' }
      const view = (id: string, ts: number, url: string, env?: string) => ({ type: 'view', ts, received_at: 50, session, view: { id, url }, ...(env && { env }) }) as StoredEvent
      await store.writeBatches([{ appId: app.id, day: '1970-01-01', dropped: {}, events: [view('b', 20, 'https://shop.example/cart?x=1'), view('a', 10, 'https://shop.example/%7Euser/', 'production'), view('c', 30, 'https://shop.example/thanks#done')] }])
      await store.close()
      // As migration 15 left it: no entry or exit columns.
      const raw = new Database(path)
      for (const column of ['entry_ts', 'entry_id', 'entry_page', 'env', 'exit_ts', 'exit_id', 'exit_page']) raw.exec(`ALTER TABLE sessions DROP COLUMN ${column}`)
      raw.pragma('user_version = 15')
      raw.close()
      store = createSqliteStore({ path })
      try {
        // The same as the writer keeps (pagePath: no query or fragment, the URL's own encoding).
        expect(await store.explorer.getSession(app.id, session.id)).toMatchObject({ entryPage: '/%7Euser/', env: 'production', exitPage: '/thanks' })
      } finally {
        await store.close()
      }
    } finally {
      dir.remove()
    }
  })
})

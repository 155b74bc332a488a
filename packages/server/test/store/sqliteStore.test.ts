import Database from 'better-sqlite3'
import { createHash, randomUUID } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DAY_MS, utcDay } from '../../src/clock.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { runRetention } from '../../src/retention/runRetention.js'
import { createSqliteStore, NewerSchemaError, type SqliteStoreOptions } from '../../src/store/sqlite/createSqliteStore.js'
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js'
import type { IngestBatch, Store } from '../../src/store/Store.js'
import { describeStoreContract } from './storeContract.js'
import { createTempSqliteStore, type TempSqliteStore } from './tempSqliteStore.js'

const LATEST = MIGRATIONS.at(-1)?.version ?? 0
/** How `tacit serve` opens the database; the CLI uses the defaults. */
const SERVER_OPTIONS: Omit<SqliteStoreOptions, 'path'> = { backgroundCheckpoints: true, synchronous: 'full' }

for (const [label, options] of [
  ['sqlite', {}],
  ['sqlite (server options: background checkpoints, synchronous=full)', SERVER_OPTIONS],
] as const) {
  describeStoreContract(label, async () => {
    const temp = await createTempSqliteStore(options)
    return {
      store: temp.store,
      cleanup: temp.cleanup,
      openBackup: async (destination) => createSqliteStore({ path: destination }),
    }
  })
}

const NOW = Date.UTC(2024, 5, 15, 12)

/** Every file SQLite keeps next to the database: tacit.db, tacit.db-wal, tacit.db-shm (and a journal if any). */
async function filesContaining(dir: string, marker: string): Promise<string[]> {
  const needle = Buffer.from(marker, 'utf8')
  const found: string[] = []
  for (const name of await readdir(dir)) {
    if ((await readFile(join(dir, name))).indexOf(needle) !== -1) found.push(name)
  }
  return found
}

/** An error event grouped into an issue whose fingerprint and title derive from a message. */
function issueEvent(message: string, ts: number, receivedAt = ts): StoredEvent {
  const fingerprint = Buffer.from(message).toString('hex').padEnd(32, '0').slice(0, 32)
  return { type: 'error', error: { message }, ts, received_at: receivedAt, issue: { fingerprint, title: `Error: ${message}` } }
}

/** Events carrying a marker in every kind of place SQLite may keep it: row data, an index, overflow pages. */
function markedEvents(marker: string, receivedAt: number): StoredEvent[] {
  const base = { ts: receivedAt, received_at: receivedAt }
  return [
    { type: 'custom', custom: { name: marker }, context: { [marker]: marker }, ...base },
    { type: 'view', view: { id: `view-${marker}`, url: `https://example.com/${marker}`, version: 1 }, ...base },
    { type: 'error', error: { message: marker, stack: `${marker}\n`.repeat(2000) }, ...base },
    { type: 'report', report: { type: 'csp-violation', body: { blockedURL: marker } }, ...base },
    ...Array.from({ length: 300 }, (_, i): StoredEvent => ({ type: 'custom', custom: { name: `${marker}-${i}` }, ...base })),
  ]
}

/**
 * Errors whose marker also lands in the rows derived from events: an issue's title and culprit (issues), release
 * names (releases, issue_releases), a session's id and release (sessions, issue_sessions).
 */
function markedIssueEvents(marker: string, receivedAt: number): StoredEvent[] {
  return Array.from({ length: 3 }, (_, i): StoredEvent => ({
    type: 'error',
    error: { message: 'boom' },
    release: `release-${marker}-${i}`,
    session: { id: `session-${marker}-${i}` },
    issue: { fingerprint: createHash('sha256').update(`${marker}-${i}`).digest('hex').slice(0, 32), title: `Error: ${marker}`, culprit: `f (${marker}.js)` },
    ts: receivedAt,
    received_at: receivedAt,
  }))
}

function plainEvents(n: number, receivedAt: number): StoredEvent[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'custom', custom: { name: `plain-${i}` }, ts: receivedAt, received_at: receivedAt }))
}

async function write(store: Store, batches: IngestBatch[]): Promise<void> {
  expect(await store.writeBatches(batches)).toEqual(batches.map(() => undefined))
}

function openRaw(path: string): Database.Database {
  return new Database(path)
}

/** Open file descriptors of this process that point at a path: a leaked connection shows up here. */
function openDescriptors(path: string): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return n
}

describe('SQLite store', () => {
  let dir: string
  let path: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tacit-sqlite-'))
    path = join(dir, 'tacit.db')
  })
  afterEach(async () => rm(dir, { recursive: true, force: true }))

  describe('schema', () => {
    it('applies the migrations on first open and only once', async () => {
      const first = createSqliteStore({ path })
      const app = await first.createApp({ name: 'shop', createdAt: NOW, settings: {} })
      await first.close()

      const raw = openRaw(path)
      const schema = raw.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all()
      expect(raw.pragma('user_version', { simple: true })).toBe(LATEST)
      raw.close()
      expect(schema.map((row) => (row as { name: string }).name)).toEqual(expect.arrayContaining(['apps', 'client_tokens', 'events', 'daily_counts', 'sessions', 'audit_log', 'audit_log_by_app_at']))

      // Running a migration twice would fail (CREATE TABLE of an existing table) or lose data.
      const second = createSqliteStore({ path })
      expect(await second.listApps()).toEqual([app])
      await second.close()
      const again = openRaw(path)
      expect(again.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all()).toEqual(schema)
      expect(again.pragma('user_version', { simple: true })).toBe(LATEST)
      again.close()
    })

    it('upgrades a database of schema 1, keeping its data, and adds the session summaries', async () => {
      databaseAtSchema(path, 1)

      const store = createSqliteStore({ path })
      const shop = await store.findAppByName('shop')
      expect(shop).toBeDefined()
      const id = randomUUID()
      await write(store, [{ appId: shop!.id, day: utcDay(NOW), events: [{ ...plainEvents(1, NOW)[0]!, session: { id } }], dropped: {} }])
      const sessions = []
      for await (const session of store.readSessions({ appId: shop!.id })) sessions.push(session.sessionId)
      expect(sessions).toEqual([id])
      await store.close()

      const check = openRaw(path)
      expect(check.pragma('user_version', { simple: true })).toBe(LATEST)
      // Only the session id and aggregates: no column that could hold a visitor key, salt, IP or User-Agent.
      expect((check.prepare('PRAGMA table_info(sessions)').all() as Array<{ name: string }>).map((c) => c.name)).toEqual([
        'app_id', 'session_id', 'start_ts', 'end_ts', 'views', 'actions', 'errors', 'has_error', 'country', 'browser', 'os', 'device_type', 'received_at', 'release',
        // The first and last view (their time, event row id and page path) and the first one's env (migration 16).
        'entry_ts', 'entry_id', 'entry_page', 'env', 'exit_ts', 'exit_id', 'exit_page',
      ])
      check.close()
    })

    it('upgrades a database of schema 2, keeping its data, and adds the audit log without a column for an address', async () => {
      databaseAtSchema(path, 2)

      const store = createSqliteStore({ path })
      const shop = await store.findAppByName('shop')
      expect(shop).toBeDefined()
      const entry = await store.appendAudit({ appId: shop!.id, at: NOW, actor: 'cli', action: 'app.purge', detail: { deleted: 0 } })
      expect(await store.readAudit({ appId: shop!.id })).toEqual([entry])
      await store.close()

      const check = openRaw(path)
      expect(check.pragma('user_version', { simple: true })).toBe(LATEST)
      expect((check.prepare('PRAGMA table_info(audit_log)').all() as Array<{ name: string }>).map((c) => c.name)).toEqual([
        'id', 'app_id', 'at', 'actor', 'action', 'detail',
      ])
      check.close()
    })

    it('upgrades a database of schema 3, keeping its events and sessions, and adds the issue tables without a column for an address', async () => {
      databaseAtSchema(path, 3)
      const raw = openRaw(path)
      const old = { type: 'error', error: { message: 'before issues' }, ts: NOW, received_at: NOW, session: { id: 'old-session' } }
      raw.prepare("INSERT INTO events (app_id, type, ts, received_at, data) VALUES (1, 'error', ?, ?, ?)").run(NOW, NOW, JSON.stringify(old))
      raw.prepare("INSERT INTO sessions (app_id, session_id, start_ts, end_ts, errors, has_error, received_at) VALUES (1, 'old-session', ?, ?, 1, 1, ?)").run(NOW, NOW, NOW)
      raw.close()

      const store = createSqliteStore({ path })
      const shop = (await store.findAppByName('shop'))!
      await write(store, [{ appId: shop.id, day: utcDay(NOW), events: [{ ...issueEvent('after issues', NOW + 1), session: { id: 'old-session' } }], dropped: {} }])
      const events = []
      for await (const event of store.readEvents({ appId: shop.id })) events.push(event)
      expect(events).toEqual([old, { ...issueEvent('after issues', NOW + 1), session: { id: 'old-session' } }])
      // Errors stored before grouping existed stay ungrouped; the issue counts what came after.
      const [issue] = await store.listIssues({ appId: shop.id })
      expect(issue).toMatchObject({ count: 1, sessions: 1, title: 'Error: after issues' })
      expect((await store.readIssueEvents({ appId: shop.id, issueId: issue!.id, limit: 10 })).map((e) => e.ts)).toEqual([NOW + 1])
      expect(await store.crashFreeSessions({ appId: shop.id })).toEqual([{ release: null, sessions: 1, crashed: 1, crashFreeRate: 0 }])
      await store.close()

      const check = openRaw(path)
      expect(check.pragma('user_version', { simple: true })).toBe(LATEST)
      const columns = (table: string) => (check.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name)
      expect(columns('issues')).toEqual([
        'id', 'app_id', 'fingerprint', 'title', 'culprit', 'type', 'status', 'resolved_at', 'regressed_at', 'first_seen', 'last_seen', 'count', 'sessions', 'first_release', 'last_release', 'received_at', 'kind',
      ])
      expect(columns('issue_releases')).toEqual(['app_id', 'issue_id', 'release', 'first_seen', 'last_seen', 'count'])
      expect(columns('issue_sessions')).toEqual(['app_id', 'issue_id', 'session_id'])
      expect(columns('releases')).toEqual(['app_id', 'release', 'first_seen', 'last_seen'])
      expect(columns('events').slice(-2)).toEqual(['issue_id', 'session_id'])
      check.close()
    })

    it('answers issue queries from indexes, not by scanning the events', async () => {
      const store = createSqliteStore({ path })
      await store.close()
      const raw = openRaw(path)
      const plan = (sql: string, ...params: unknown[]) =>
        (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail).join('; ')
      expect(plan('SELECT data FROM events WHERE app_id = ? AND issue_id = ? ORDER BY id DESC LIMIT ?', 1, 1, 10)).toMatch(/USING (COVERING )?INDEX events_by_app_issue/)
      expect(plan('SELECT * FROM issues WHERE app_id = ? ORDER BY last_seen DESC, id DESC LIMIT 50', 1)).toMatch(/USING INDEX issues_by_app_last_seen/)
      expect(plan('SELECT 1 FROM issue_sessions WHERE app_id = ? AND session_id = ?', 1, 's')).toMatch(/USING (COVERING )?INDEX issue_sessions_by_session/)
      expect(plan('SELECT * FROM issue_releases WHERE app_id = ? AND issue_id = ?', 1, 1)).toMatch(/USING PRIMARY KEY/)
      raw.close()
    })

    it('refuses a database written by a newer Tacit, leaving it untouched and closed', async () => {
      const raw = openRaw(path)
      raw.pragma(`user_version = ${LATEST + 1}`)
      raw.exec('CREATE TABLE from_the_future (x)')
      raw.close()
      const before = readFileSync(path)

      let error: unknown
      try {
        createSqliteStore({ path })
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(NewerSchemaError)
      expect((error as Error).message).toContain('upgrade Tacit')
      expect((error as Error).message).not.toMatch(/\n\s+at /)
      expect(openDescriptors(path)).toBe(0)

      const check = openRaw(path)
      expect(check.pragma('user_version', { simple: true })).toBe(LATEST + 1)
      expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'apps'").get()).toBeUndefined()
      check.close()
      expect(readFileSync(path).subarray(100)).toEqual(before.subarray(100))
    })
  })

  describe('settings', () => {
    it('keeps the database in WAL mode', async () => {
      const store = createSqliteStore({ path })
      await store.createApp({ name: 'shop', createdAt: NOW, settings: {} })
      const raw = openRaw(path)
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
      raw.close()
      expect(existsSync(`${path}-wal`)).toBe(true)
      await store.close()
    })

    it('overwrites deleted rows (secure_delete): the byte scan finds nothing after a delete', async () => {
      const store = createSqliteStore({ path })
      const app = await store.createApp({ name: 'shop', createdAt: NOW, settings: {} })
      const marker = `MARKER-${randomUUID()}`
      await write(store, [{ appId: app.id, day: utcDay(NOW), events: markedEvents(marker, NOW - 1), dropped: {} }])
      await store.compact()
      expect(await filesContaining(dir, marker)).toEqual(['tacit.db'])
      for (const type of ['custom', 'view', 'error', 'report'] as const) {
        while ((await store.deleteExpired({ appId: app.id, type, receivedBefore: NOW, limit: 100 })) > 0);
      }
      await store.compact()
      expect(await filesContaining(dir, marker)).toEqual([])
      await store.close()
    })

    it('the byte scan would find rows deleted without secure_delete (control)', async () => {
      const raw = openRaw(path)
      raw.pragma('journal_mode = WAL')
      raw.pragma('secure_delete = OFF')
      const marker = `MARKER-${randomUUID()}`
      raw.exec('CREATE TABLE t (data TEXT)')
      const insert = raw.prepare('INSERT INTO t (data) VALUES (?)')
      for (let i = 0; i < 50; i++) insert.run(`${marker}-${i}`)
      raw.exec('DELETE FROM t')
      raw.pragma('wal_checkpoint(TRUNCATE)')
      expect(await filesContaining(dir, marker)).toContain('tacit.db')
      raw.close()
    })
  })

  for (const [label, options] of [
    ['CLI options', {}],
    ['server options', SERVER_OPTIONS],
  ] as const) {
    describe(`no byte of deleted data is left behind (${label})`, () => {
      let temp: TempSqliteStore
      beforeEach(async () => {
        temp = await createTempSqliteStore(options)
      })
      afterEach(async () => temp.cleanup())

      it('after purgeApp, in tacit.db, tacit.db-wal and tacit.db-shm', async () => {
        const { store } = temp
        const shop = await store.createApp({ name: 'shop', createdAt: NOW, settings: {} })
        const blog = await store.createApp({ name: 'blog', createdAt: NOW, settings: {} })
        const marker = `MARKER-${randomUUID()}`
        // Interleaved with another app's rows, so the purged rows share pages with rows that stay.
        for (let round = 0; round < 5; round++) {
          await write(store, [
            { appId: shop.id, day: utcDay(NOW), events: markedEvents(`${marker}-${round}`, NOW), dropped: { invalid: 1 } },
            { appId: blog.id, day: utcDay(NOW), events: plainEvents(200, NOW), dropped: {} },
          ])
        }
        expect(await filesContaining(temp.dir, marker)).not.toEqual([])

        expect(await store.purgeApp(shop.id)).toBe(5 * markedEvents(marker, NOW).length)
        expect(await filesContaining(temp.dir, marker)).toEqual([])
        expect(await store.countEvents({ appId: blog.id })).toBe(1000)
        // The files the scan covered are the ones SQLite keeps.
        expect((await readdir(temp.dir)).every((name) => name.startsWith('tacit.db'))).toBe(true)
      })

      it('after purgeApp, with no free page left where an older copy of a row could hide', async () => {
        // secure_delete does not reach copies SQLite leaves behind when it moves rows between pages (shown with
        // raw SQLite: 20,000 interleaved rows of two apps, updates of one app's rows, delete of the other →
        // copies of the deleted rows still in the file). A purge therefore rebuilds the file (VACUUM): no free
        // page and nothing of the purged app can remain.
        const { store } = temp
        const shop = await store.createApp({ name: 'shop', createdAt: NOW, settings: {} })
        const blog = await store.createApp({ name: 'blog', createdAt: NOW, settings: {} })
        for (let round = 0; round < 5; round++) {
          await write(store, [
            { appId: shop.id, day: utcDay(NOW), events: plainEvents(300, NOW), dropped: {} },
            { appId: blog.id, day: utcDay(NOW), events: plainEvents(100, NOW), dropped: {} },
          ])
        }
        await store.purgeApp(shop.id)
        const raw = openRaw(join(temp.dir, 'tacit.db'))
        try {
          expect(raw.pragma('freelist_count', { simple: true })).toBe(0)
        } finally {
          raw.close()
        }
        expect(await store.countEvents({ appId: blog.id })).toBe(500)
      })

      it('after retention deletes expired events', async () => {
        const { store } = temp
        const shop = await store.createApp({ name: 'shop', createdAt: NOW, settings: { retention: { error: 2 } } })
        const marker = `MARKER-${randomUUID()}`
        const old = NOW - 40 * DAY_MS
        await write(store, [
          { appId: shop.id, day: utcDay(old), events: markedEvents(marker, old), dropped: {} },
          { appId: shop.id, day: utcDay(NOW), events: plainEvents(500, NOW), dropped: {} },
          {
            appId: shop.id,
            day: utcDay(NOW - 3 * DAY_MS),
            events: [{ type: 'error', error: { message: `${marker}-short-retention` }, ts: NOW, received_at: NOW - 3 * DAY_MS }],
            dropped: {},
          },
        ])
        expect(await filesContaining(temp.dir, marker)).not.toEqual([])

        const report = await runRetention({ store, clock: { now: () => NOW } })
        expect(report.total).toBe(markedEvents(marker, old).length + 1)
        expect(await filesContaining(temp.dir, marker)).toEqual([])
        expect(await store.countEvents({ appId: shop.id })).toBe(500)
      })

      it('after purgeApp, of the issues, releases and session rows derived from the events', async () => {
        const { store } = temp
        const shop = await store.createApp({ name: 'shop', createdAt: NOW, settings: {} })
        const blog = await store.createApp({ name: 'blog', createdAt: NOW, settings: {} })
        const marker = `MARKER-${randomUUID()}`
        await write(store, [
          { appId: shop.id, day: utcDay(NOW), events: markedIssueEvents(marker, NOW), dropped: {} },
          { appId: blog.id, day: utcDay(NOW), events: markedIssueEvents('blog', NOW), dropped: {} },
        ])
        const [issue] = await store.listIssues({ appId: shop.id })
        await store.setIssueStatus(issue!.id, 'resolved', NOW)
        expect(await filesContaining(temp.dir, marker)).not.toEqual([])

        expect(await store.purgeApp(shop.id)).toBe(3)
        expect(await filesContaining(temp.dir, marker)).toEqual([])
        expect(await store.listIssues({ appId: blog.id })).toHaveLength(3)
      })

      it('after retention deletes expired issues, releases and sessions', async () => {
        const { store } = temp
        const shop = await store.createApp({ name: 'shop', createdAt: NOW, settings: {} })
        const marker = `MARKER-${randomUUID()}`
        const old = NOW - 40 * DAY_MS
        await write(store, [
          { appId: shop.id, day: utcDay(old), events: markedIssueEvents(marker, old), dropped: {} },
          { appId: shop.id, day: utcDay(NOW), events: markedIssueEvents('recent', NOW), dropped: {} },
        ])
        expect(await filesContaining(temp.dir, marker)).not.toEqual([])

        const report = await runRetention({ store, clock: { now: () => NOW } })
        expect(report).toMatchObject({ total: 3 + 3, issuesDeleted: 3, releasesDeleted: 3 })
        expect(await filesContaining(temp.dir, marker)).toEqual([])
        expect(await store.listIssues({ appId: shop.id })).toHaveLength(3)
      })
    })
  }

  describe('connections', () => {
    it('a second connection, as the CLI opens it, sees the server connection’s writes and the other way round', async () => {
      const server = createSqliteStore({ path, ...SERVER_OPTIONS })
      const cli = createSqliteStore({ path })
      try {
        const shop = await cli.createApp({ name: 'shop', createdAt: NOW, settings: {} })
        await cli.createToken({ token: 'tc_shared', appId: shop.id, createdAt: NOW, revokedAt: null, lastUsedAt: null })
        expect(await server.findAppByName('shop')).toEqual(shop)

        await write(server, [{ appId: shop.id, day: utcDay(NOW), events: plainEvents(3, NOW), dropped: {} }])
        expect(await cli.countEvents({ appId: shop.id })).toBe(3)

        await cli.updateAppSettings(shop.id, { rate_limit: 9 })
        expect((await server.getApp(shop.id))?.settings).toEqual({ rate_limit: 9 })
        expect(await cli.revokeToken('tc_shared', NOW + 1)).toBe(true)
        expect((await server.findToken('tc_shared'))?.revokedAt).toBe(NOW + 1)

        expect(await cli.purgeApp(shop.id)).toBe(3)
        expect(await server.countEvents({ appId: shop.id })).toBe(0)
      } finally {
        await cli.close()
        await server.close()
      }
    })

    it('closes its connection and its checkpointer, once, however often close is called', async () => {
      const store = createSqliteStore({ path, ...SERVER_OPTIONS })
      await store.createApp({ name: 'shop', createdAt: NOW, settings: {} })
      expect(openDescriptors(path)).toBeGreaterThan(0)
      await Promise.all([store.close(), store.close()])
      await store.close()
      expect(openDescriptors(path)).toBe(0)
    })
  })
})

/** A database as an older Tacit left it: migrations up to `version`, and one app named shop. */
function databaseAtSchema(path: string, version: number): void {
  const raw = openRaw(path)
  raw.pragma('journal_mode = WAL')
  for (const migration of MIGRATIONS.filter((m) => m.version <= version)) raw.exec(migration.sql)
  raw.pragma(`user_version = ${version}`)
  raw.prepare("INSERT INTO apps (name, created_at, settings) VALUES ('shop', ?, '{}')").run(NOW)
  raw.close()
}

import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DAY_MS } from '../../src/clock.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { openPostgresStore, postgresTool } from '../../src/store/postgres/createPostgresStore.js'
import { partitionOf } from '../../src/store/postgres/eventPartitions.js'
import type { IngestBatch, Store } from '../../src/store/Store.js'
import { createTempPostgresDatabase } from '../support/tempPostgresDatabase.js'
import { describeStoreContract } from './storeContract.js'
import { createTempPostgresStore, type TempPostgresStore } from './tempPostgresStore.js'

describeStoreContract('postgres', async () => {
  const temp = await createTempPostgresStore()
  const restored: Array<() => Promise<void>> = []
  return {
    store: temp.store,
    async cleanup() {
      await temp.cleanup()
      for (const drop of restored) await drop()
    },
    // A backup is a pg_dump archive: restored with pg_restore into a fresh database.
    async openBackup(destination) {
      const database = await createTempPostgresDatabase()
      restored.push(database.drop)
      await promisify(execFile)(postgresTool('pg_restore'), ['--no-owner', `--dbname=${database.url}`, destination])
      return openPostgresStore({ url: database.url })
    },
  }
})

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0)
const DAY = '2024-05-01'

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

async function readAll<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = []
  for await (const item of items) all.push(item)
  return all
}

describe('PostgreSQL events partitions', () => {
  let temp: TempPostgresStore
  beforeEach(async () => {
    temp = await createTempPostgresStore()
  })
  afterEach(() => temp.cleanup())

  it('drops expired weeks whole, counting their rows by app and type, and keeps newer weeks and their views', async () => {
    const { store } = temp
    const shop = await store.createApp({ name: 'shop', createdAt: T0, settings: {} })
    const blog = await store.createApp({ name: 'blog', createdAt: T0, settings: {} })
    const old = T0 - 60 * DAY_MS
    const at = (receivedAt: number) => ({ ts: receivedAt, received_at: receivedAt })
    const view = (id: string, receivedAt: number): StoredEvent => ({ type: 'view', view: { id, url: `https://example.com/${id}`, version: 1 }, session: { id: 'S1' }, ...at(receivedAt) }) as StoredEvent
    const custom = (name: string, receivedAt: number): StoredEvent => ({ type: 'custom', custom: { name }, ...at(receivedAt) }) as StoredEvent
    const results = await store.writeBatches([
      { appId: shop.id, day: DAY, dropped: {}, events: [view('v-old', old), custom('a', old), custom('b', old + 1), view('v-new', T0), custom('c', T0)] },
      { appId: blog.id, day: DAY, dropped: {}, events: [custom('d', old)] },
    ])
    expect(results).toEqual([undefined, undefined])
    const expired = partitionOf(old)
    const kept = partitionOf(T0)
    const exists = (name: string) => withClient(temp.url, async (client) => (await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [name])).rows[0].present)
    expect(await exists(expired.name)).toBe(true)

    expect(await store.dropEventsBefore(expired.to)).toEqual([
      { appId: shop.id, type: 'custom', count: 2 },
      { appId: shop.id, type: 'view', count: 1 },
      { appId: blog.id, type: 'custom', count: 1 },
    ])
    expect(await exists(expired.name)).toBe(false)
    expect(await exists(kept.name)).toBe(true)
    expect(await store.countEvents({ appId: shop.id })).toBe(2)
    expect(await store.countEvents({ appId: blog.id })).toBe(0)
    // The dropped view's key went with it; the kept one's stays.
    const keys = await withClient(temp.url, async (client) => (await client.query('SELECT upsert_key FROM event_keys ORDER BY upsert_key')).rows)
    expect(keys).toEqual([{ upsert_key: 'v-new' }])
    expect(await store.dropEventsBefore(expired.to)).toEqual([])

    // Writing into a week again (another node had dropped it, this one still thought it there) creates it anew.
    expect(await store.writeBatches([{ appId: shop.id, day: DAY, dropped: {}, events: [custom('late', old)] }])).toEqual([undefined])
    expect(await exists(expired.name)).toBe(true)
  })

  it('writes into a week another node dropped since this one last wrote there', async () => {
    const other = await openPostgresStore({ url: temp.url })
    try {
      const shop = await temp.store.createApp({ name: 'shop', createdAt: T0, settings: {} })
      const event = (name: string): StoredEvent => ({ type: 'custom', custom: { name }, ts: T0, received_at: T0 }) as StoredEvent
      expect(await temp.store.writeBatches([{ appId: shop.id, day: DAY, dropped: {}, events: [event('a')] }])).toEqual([undefined])
      await other.dropEventsBefore(partitionOf(T0).to)
      expect(await temp.store.writeBatches([{ appId: shop.id, day: DAY, dropped: {}, events: [event('b')] }])).toEqual([undefined])
      expect((await readAll(temp.store.readEvents({ appId: shop.id }))).map((e) => (e.type === 'custom' ? e.custom.name : ''))).toEqual(['b'])
    } finally {
      await other.close()
    }
  })
})

describe('PostgreSQL store: a batch the database refuses', () => {
  it('fails alone: the other batches of the group are stored whole, with their counts and sessions', async () => {
    const temp = await createTempPostgresStore()
    try {
      const { store } = temp
      const shop = await store.createApp({ name: 'shop', createdAt: T0, settings: {} })
      const event = (name: string, session: string): StoredEvent => ({ type: 'custom', custom: { name }, session: { id: session }, ts: T0, received_at: T0 }) as StoredEvent
      // JSON can carry U+0000, jsonb cannot: a refusal only the database notices, after the group began.
      const results = await store.writeBatches([
        { appId: shop.id, day: DAY, dropped: {}, events: [event('a', 'S1')] },
        { appId: shop.id, day: DAY, dropped: { invalid: 1 }, events: [event('b', 'S1'), event('nul\u0000', 'S2')] },
        { appId: shop.id, day: DAY, dropped: {}, events: [event('c', 'S1')] },
      ])
      expect(results[0]).toBeUndefined()
      expect(results[1]).toBeInstanceOf(Error)
      expect(results[2]).toBeUndefined()
      expect((await readAll(store.readEvents({ appId: shop.id }))).map((e) => (e.type === 'custom' ? e.custom.name : ''))).toEqual(['a', 'c'])
      expect(await store.readDailyCounts(shop.id, DAY)).toEqual([{ day: DAY, kind: 'accepted', key: 'custom', count: 2 }])
      expect((await readAll(store.readSessions({ appId: shop.id }))).map((s) => s.sessionId)).toEqual(['S1'])
    } finally {
      await temp.cleanup()
    }
  })
})

describe('PostgreSQL store: several nodes writing at once', () => {
  /** A small deterministic generator, so a failure can be replayed. */
  function random(seed: number): () => number {
    let state = seed
    return () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31
      return state / 2 ** 31
    }
  }
  const SESSIONS = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333']
  const FINGERPRINTS = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)]

  /**
   * Versions of the same views, and events of the same sessions and issues, shuffled into groups of batches.
   * Everything the result may depend on is unique or fixed (distinct times; a session's device, release and
   * env; an issue's title), so any order of writing them must end in the same state.
   */
  function groupsOf(appId: number): IngestBatch[][] {
    const next = random(7)
    const events: StoredEvent[] = []
    const hour = T0 - (T0 % 3_600_000)
    let tick = 0
    const time = () => hour + 100 + tick++ * 7
    for (let v = 0; v < 16; v++) {
      const session = SESSIONS[v % SESSIONS.length]!
      for (let version = 0; version < 12; version++) {
        const ts = hour + 1000 + v * 10_000 + version * 10
        events.push({ type: 'view', view: { id: `v${v}`, url: `https://example.com/p${v}`, version }, env: 'production', session: { id: session }, ts, received_at: ts + 5 } as StoredEvent)
      }
    }
    for (let i = 0; i < 120; i++) {
      const s = i % SESSIONS.length
      const ts = time()
      const common = { ts, received_at: ts, session: { id: SESSIONS[s]! }, device: { type: 'desktop', browser: `B${s}`, os: 'Linux' }, geo: { country: 'DE' } }
      events.push({ type: 'action', action: { type: 'click', name: `a${i}` }, ...common } as StoredEvent)
      const fingerprint = FINGERPRINTS[i % FINGERPRINTS.length]!
      events.push({
        type: 'error',
        error: { message: 'boom', type: 'TypeError' },
        issue: { fingerprint, title: `TypeError: ${fingerprint[0]}` },
        release: `r${s}`,
        ...common,
        ts: time(),
      } as StoredEvent)
    }
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1))
      ;[events[i], events[j]] = [events[j]!, events[i]!]
    }
    const batches: IngestBatch[] = []
    for (let i = 0; i < events.length; i += 4) batches.push({ appId, day: DAY, events: events.slice(i, i + 4), dropped: { invalid: 1 } })
    const groups: IngestBatch[][] = []
    for (let i = 0; i < batches.length; i += 3) groups.push(batches.slice(i, i + 3))
    return groups
  }

  /** Everything the writes produced, without the ids that depend on who wrote first. */
  async function stateOf(store: Store, url: string, appId: number) {
    const events = (await readAll(store.readEvents({ appId }))).map((event) => JSON.stringify(event)).sort()
    const sessions = await readAll(store.readSessions({ appId }))
    const tables = await withClient(url, async (client) => {
      const rows = async (sql: string) => (await client.query(sql)).rows
      const state = {
        keys: await rows(`SELECT k.upsert_key, k.version::int, e.version::int AS stored_version FROM event_keys k
          LEFT JOIN events e ON e.app_id = k.app_id AND e.id = k.event_id AND e.received_at = k.received_at ORDER BY k.upsert_key`),
        issues: await rows('SELECT fingerprint, kind, title, status, first_seen, last_seen, count, sessions, first_release, last_release, received_at FROM issues ORDER BY fingerprint'),
        issueRows: [] as string[][],
        releases: await rows('SELECT release, first_seen FROM releases ORDER BY release'),
        hours: await rows('SELECT app_id, hour FROM rollup_dirty ORDER BY 1, 2'),
      }
      for (const table of ['issue_releases', 'issue_environments', 'issue_days', 'issue_tags', 'issue_sessions']) {
        const all = await rows(`SELECT i.fingerprint, t.* FROM ${table} t JOIN issues i ON i.id = t.issue_id`)
        state.issueRows.push(all.map(({ issue_id: _, ...row }) => JSON.stringify(row)).sort())
      }
      return state
    })
    return { events, sessions, counts: await store.readDailyCounts(appId, DAY), tables }
  }

  /**
   * Many small groups that all touch the same two sessions and the same two issues: one created by whichever
   * group comes first, one resolved before and re-opened by exactly one event (the only one of release r2, first
   * seen after the resolution, in a session of its own). Titles, devices and releases are fixed per issue or
   * session, times distinct.
   */
  function contendedGroupsOf(appId: number): IngestBatch[][] {
    const next = random(11)
    const events: StoredEvent[] = []
    for (let i = 0; i < 240; i++) {
      // Each kind of event alternates between the two sessions, but for the one that re-opens the resolved issue.
      const regression = i === 121
      const s = regression ? 2 : Math.floor(i / 4) % 2
      const ts = T0 + i * 13
      const common = {
        ts,
        received_at: ts + 1,
        session: { id: SESSIONS[s]! },
        env: i % 3 === 0 ? 'staging' : 'production',
        release: regression ? 'r2' : 'r1',
        device: { type: 'desktop', browser: `B${s}`, os: 'Linux' },
        geo: { country: 'DE' },
      }
      if (i % 4 === 3) events.push({ type: 'view', view: { id: `cv${i}`, url: `https://example.com/c${i % 5}`, version: 0 }, ...common } as StoredEvent)
      else if (i % 4 === 2) events.push({ type: 'action', action: { type: 'click', name: `c${i}` }, ...common } as StoredEvent)
      else {
        const fingerprint = i % 4 === 0 ? FINGERPRINTS[0]! : FINGERPRINTS[1]!
        events.push({ type: 'error', error: { message: 'boom', type: 'TypeError' }, issue: { fingerprint, title: `TypeError: ${fingerprint[0]}` }, ...common } as StoredEvent)
      }
    }
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1))
      ;[events[i], events[j]] = [events[j]!, events[i]!]
    }
    const groups: IngestBatch[][] = []
    for (let i = 0; i < events.length; i += 6) {
      groups.push([
        { appId, day: DAY, events: events.slice(i, i + 3), dropped: {} },
        { appId, day: DAY, events: events.slice(i + 3, i + 6), dropped: {} },
      ])
    }
    return groups
  }

  /** An app with alert rules, and issue FINGERPRINTS[1] seen in release r1 and resolved, before T0. */
  async function seedContended(store: Store, url: string): Promise<number> {
    const app = await store.createApp({ name: 'shop', createdAt: T0 - DAY_MS, settings: {} })
    for (const kind of ['new-issue', 'regression'] as const) {
      await store.alerts.createRule({ appId: app.id, kind, url: 'https://hooks.example.com/tacit', format: 'json', threshold: null, windowMinutes: null, secret: 'tacit_whsec_test', createdAt: T0 - DAY_MS })
    }
    const fingerprint = FINGERPRINTS[1]!
    const seed = { type: 'error', error: { message: 'boom', type: 'TypeError' }, issue: { fingerprint, title: `TypeError: ${fingerprint[0]}` }, release: 'r1', ts: T0 - 600_000, received_at: T0 - 600_000 } as StoredEvent
    expect(await store.writeBatches([{ appId: app.id, day: DAY, events: [seed], dropped: {} }])).toEqual([undefined])
    const [issue] = await withClient(url, async (client) => (await client.query('SELECT id FROM issues WHERE fingerprint = $1', [fingerprint])).rows)
    expect(await store.setIssueStatus(issue.id, 'resolved', T0 - 300_000)).toBe(true)
    return app.id
  }

  it('counts the same as one writer when many writers of several nodes add to the same issues and sessions at once', async () => {
    const shared = await createTempPostgresDatabase()
    const single = await createTempPostgresStore()
    const nodes = [await openPostgresStore({ url: shared.url }), await openPostgresStore({ url: shared.url }), await openPostgresStore({ url: shared.url })]
    try {
      const appId = await seedContended(nodes[0]!, shared.url)
      const referenceId = await seedContended(single.store, single.url)
      // Three writers per node: up to nine transactions counting into the same rows at once.
      const queue = contendedGroupsOf(appId)
      const writer = async (store: Store) => {
        for (let group = queue.shift(); group; group = queue.shift()) expect(await store.writeBatches(group)).toEqual(group.map(() => undefined))
      }
      await Promise.all(nodes.flatMap((node) => [writer(node), writer(node), writer(node)]))
      for (const group of contendedGroupsOf(referenceId)) expect(await single.store.writeBatches(group)).toEqual(group.map(() => undefined))

      // Alerts (not their times: a new issue's is its creating group's) and the regression, once each.
      const alertsOf = (url: string) =>
        withClient(url, async (client) => ({
          deliveries: (await client.query('SELECT r.kind, d.event, i.fingerprint FROM alert_deliveries d JOIN alert_rules r ON r.id = d.rule_id JOIN issues i ON i.id = d.issue_id ORDER BY 1, 2, 3')).rows,
          regressions: (await client.query('SELECT fingerprint, status, regressed_at::float8 AS regressed_at FROM issues ORDER BY fingerprint')).rows,
        }))
      const expected = { ...(await stateOf(single.store, single.url, referenceId)), alerts: await alertsOf(single.url) }
      expect(expected.alerts.deliveries).toEqual([
        { kind: 'new-issue', event: 'issue.new', fingerprint: FINGERPRINTS[0] },
        // The seed's.
        { kind: 'new-issue', event: 'issue.new', fingerprint: FINGERPRINTS[1] },
        { kind: 'regression', event: 'issue.regressed', fingerprint: FINGERPRINTS[1] },
      ])
      expect(expected.alerts.regressions).toEqual([
        { fingerprint: FINGERPRINTS[0], status: 'open', regressed_at: null },
        { fingerprint: FINGERPRINTS[1], status: 'open', regressed_at: T0 + 121 * 13 },
      ])
      expect(expected.tables.issues.map((issue) => [Number(issue.count), Number(issue.sessions)])).toEqual([
        [60, 2],
        [61, 3],
      ])
      expect(expected.sessions.map((s) => [s.views, s.actions, s.errors])).toEqual([
        [30, 30, 59],
        [30, 30, 60],
        [0, 0, 1],
      ])
      expect({ ...(await stateOf(nodes[2]!, shared.url, appId)), alerts: await alertsOf(shared.url) }).toEqual(expected)
    } finally {
      for (const node of nodes) await node.close()
      await shared.drop()
      await single.cleanup()
    }
  })

  it('ends in the same state as one writer, whatever the interleaving of versions of the same views and events of the same sessions and issues', async () => {
    const shared = await createTempPostgresDatabase()
    const single = await createTempPostgresStore()
    const nodes = [await openPostgresStore({ url: shared.url }), await openPostgresStore({ url: shared.url })]
    try {
      const app = await nodes[0]!.createApp({ name: 'shop', createdAt: T0, settings: {} })
      const reference = await single.store.createApp({ name: 'shop', createdAt: T0, settings: {} })
      const groups = groupsOf(app.id)
      // Two writers per node, each taking the next group, so up to four transactions touch the same rows at once.
      const queue = [...groups]
      const writer = async (store: Store) => {
        for (let group = queue.shift(); group; group = queue.shift()) expect(await store.writeBatches(group)).toEqual(group.map(() => undefined))
      }
      await Promise.all([writer(nodes[0]!), writer(nodes[1]!), writer(nodes[0]!), writer(nodes[1]!)])
      for (const group of groupsOf(reference.id)) expect(await single.store.writeBatches(group)).toEqual(group.map(() => undefined))

      const expected = await stateOf(single.store, single.url, reference.id)
      expect(expected.tables.keys).toHaveLength(16)
      for (const key of expected.tables.keys) expect(key).toMatchObject({ version: 11, stored_version: 11 })
      expect(expected.sessions.map((s) => s.views)).toEqual([6, 5, 5])
      expect(await stateOf(nodes[1]!, shared.url, app.id)).toEqual(expected)
    } finally {
      for (const node of nodes) await node.close()
      await shared.drop()
      await single.cleanup()
    }
  })
})

describe('PostgreSQL store: rollup marks when another node moves a session', () => {
  let temp: TempPostgresStore
  beforeEach(async () => {
    temp = await createTempPostgresStore()
  })
  afterEach(async () => temp.cleanup())

  it("marks the hour a session starts in as its commit leaves it, even when another node moved the start meanwhile", async () => {
    const HOUR = 3_600_000
    const H1 = Date.UTC(2024, 4, 1, 12)
    const H0 = H1 - HOUR
    const appId = (await temp.store.createApp({ name: 'shop', createdAt: 0, settings: {} })).id
    const event = (name: string, ts: number): StoredEvent => ({ type: 'custom', custom: { name }, ts, received_at: H1 + 2 * HOUR, session: { id: 's1' } }) as StoredEvent
    const write = (ts: number, name: string): IngestBatch => ({ appId, day: '2024-05-01', events: [event(name, ts)], dropped: {} })
    expect(await temp.store.writeBatches([write(H1 + 10, 'first')])).toEqual([undefined])
    await temp.store.analytics.refreshRollups({ now: H1 + 3 * HOUR })
    const marks = async () => {
      const client = new pg.Client({ connectionString: temp.url })
      await client.connect()
      try {
        return (await client.query<{ hour: string; seq: number }>('SELECT hour::text, seq::int AS seq FROM rollup_dirty WHERE app_id = $1 ORDER BY hour', [appId])).rows
      } finally {
        await client.end()
      }
    }
    expect(await marks()).toEqual([])

    // Another node's group, still open: it moved the session's start to H0 (and marked H0, as its writer does).
    const other = new pg.Client({ connectionString: temp.url })
    await other.connect()
    try {
      await other.query('BEGIN')
      await other.query("UPDATE sessions SET start_ts = $1 WHERE app_id = $2 AND session_id = 's1'", [H0 + 5, appId])
      await other.query('INSERT INTO rollup_dirty (app_id, hour) VALUES ($1, $2)', [appId, H0])
      // This node's group reads the start (still H1: the other is not committed), then waits for the session row.
      const ours = temp.store.writeBatches([write(H1 + 20 * 60_000, 'second')])
      await new Promise((resolve) => setTimeout(resolve, 300))
      await other.query('COMMIT')
      expect(await ours).toEqual([undefined])
    } finally {
      await other.end()
    }
    // H0 holds the session's rollup now, and this group changed the session after the other node's mark: it must
    // have marked H0 again (seq 1), or a rebuild between the two commits would keep a stale session row.
    expect(await marks()).toEqual([
      { hour: String(H0), seq: 1 },
      { hour: String(H1), seq: 0 },
    ])
  })
})

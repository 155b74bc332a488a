import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUDIT_RETENTION_DAYS, tokenHint } from '../../src/audit/auditEntry.js'
import { DAY_MS, utcDay } from '../../src/clock.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import { makeTempDir, runTacit, startServerProcess } from '../support/tacitProcess.js'
import { expectOneSentenceError, expectSuccess, parseJson } from './cliAssertions.js'

/** Every privacy-relevant command leaves exactly one audit entry, with its detail and never a whole token. */

interface AuditJson {
  id: number
  at: string
  app_id: number | null
  app: string | null
  actor: string
  action: string
  detail: Record<string, unknown>
}

let dir: ReturnType<typeof makeTempDir>
const tacit = (...args: string[]) => runTacit(args, { dataDir: dir.path })
const audit = async (...args: string[]) => parseJson<AuditJson[]>(await tacit('audit', ...args, '--json'))
/** Every token the commands printed, to prove none of them reached the audit log. */
const tokens: string[] = []

/** The entries a command added: the audit log before and after it, newest first. */
async function added(command: () => Promise<unknown>): Promise<AuditJson[]> {
  const before = new Set((await audit()).map((entry) => entry.id))
  await command()
  return (await audit()).filter((entry) => !before.has(entry.id))
}

async function writeEvents(appId: number, receivedAt: number, n: number): Promise<void> {
  const store = createSqliteStore({ path: join(dir.path, 'tacit.db') })
  try {
    const events: StoredEvent[] = Array.from({ length: n }, () => ({ type: 'resource', resource: { url: 'https://shop.example.com/a.js', duration: 1 }, ts: receivedAt, received_at: receivedAt }))
    expect(await store.writeBatches([{ appId, day: utcDay(receivedAt), events, dropped: {} }])).toEqual([undefined])
  } finally {
    await store.close()
  }
}

beforeAll(() => {
  dir = makeTempDir('tacit-cli-audit-')
})
afterAll(() => dir.remove())

describe('tacit audit', () => {
  it('records app create with the name, origins and only a hint of the first token', async () => {
    // The first command creates the database, so the log starts here.
    const token = parseJson<{ token: string }>(await tacit('app', 'create', 'shop', '--origin', 'https://shop.example.com', '--json')).token
    const entries = await audit()
    tokens.push(token)
    expect(entries).toEqual([
      {
        id: expect.any(Number),
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        app_id: 1,
        app: 'shop',
        actor: 'cli',
        action: 'app.create',
        detail: { name: 'shop', token: tokenHint(token), origins: ['https://shop.example.com'] },
      },
    ])
    expect(tokenHint(token)).toMatch(/^tc_[A-Za-z0-9]{4}…$/)
    expect(token.startsWith(tokenHint(token).slice(0, -1))).toBe(true)
  })

  it('records app set with only the keys that changed, old and new values, and nothing for a no-op', async () => {
    const entries = await added(async () => expectSuccess(await tacit('app', 'set', 'shop', 'rate_limit=100', 'retention.error=60', 'geo=country')))
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({
      app_id: 1,
      actor: 'cli',
      action: 'app.settings',
      detail: { changes: { rate_limit: { from: 0, to: 100 }, 'retention.error': { from: 30, to: 60 } } },
    })
    expect(await added(async () => expectSuccess(await tacit('app', 'set', 'shop', 'rate_limit=100')))).toEqual([])
    const origins = await added(async () => expectSuccess(await tacit('app', 'set', '1', 'origins=https://a.example.com')))
    expect(origins.map((entry) => entry.detail)).toEqual([{ changes: { origins: { from: ['https://shop.example.com'], to: ['https://a.example.com'] } } }])
    // A refused assignment changes nothing and records nothing.
    expect(await added(async () => expect((await tacit('app', 'set', 'shop', 'rate_limit=5', 'geo=street')).code).toBe(1))).toEqual([])
  })

  it('records token create and token revoke with a hint of the token', async () => {
    let token = ''
    const created = await added(async () => {
      token = parseJson<{ token: string }>(await tacit('token', 'create', 'shop', '--json')).token
    })
    tokens.push(token)
    expect(created).toEqual([expect.objectContaining({ app_id: 1, actor: 'cli', action: 'token.create', detail: { token: tokenHint(token) } })])
    const revoked = await added(async () => expectSuccess(await tacit('token', 'revoke', token)))
    expect(revoked).toEqual([expect.objectContaining({ app_id: 1, actor: 'cli', action: 'token.revoke', detail: { token: tokenHint(token) } })])
    // Revoking again fails and records nothing.
    expect(await added(async () => expect((await tacit('token', 'revoke', token)).code).toBe(1))).toEqual([])
  })

  it('records app purge with the number of events deleted', async () => {
    await writeEvents(1, Date.now(), 3)
    const entries = await added(async () => expectSuccess(await tacit('app', 'purge', 'shop', '--yes')))
    expect(entries).toEqual([expect.objectContaining({ app_id: 1, actor: 'cli', action: 'app.purge', detail: { deleted: 3 } })])
    // Without --yes nothing is deleted, and nothing recorded.
    expect(await added(async () => expect((await tacit('app', 'purge', 'shop')).code).toBe(1))).toEqual([])
  })

  it('records retention run per app with counts by kind, only when something was deleted', async () => {
    const blog = parseJson<{ id: number; token: string }>(await tacit('app', 'create', 'blog', '--json'))
    tokens.push(blog.token)
    await writeEvents(blog.id, Date.now() - 20 * DAY_MS, 2)
    await writeEvents(1, Date.now(), 1)
    const entries = await added(async () => expectSuccess(await tacit('retention', 'run')))
    expect(entries).toEqual([
      expect.objectContaining({ app_id: blog.id, app: 'blog', actor: 'cli', action: 'retention.run', detail: { deleted: { resource: 2 }, total: 2 } }),
    ])
    expect(await added(async () => expectSuccess(await tacit('retention', 'run')))).toEqual([])
  })

  it('lists entries newest first, per app, as a table or JSON', async () => {
    const all = await audit()
    const times = all.map((entry) => entry.at)
    expect(times).toEqual([...times].sort().reverse())
    expect(all.map((entry) => entry.action)).toEqual([
      'retention.run',
      'app.create',
      'app.purge',
      'token.revoke',
      'token.create',
      'app.settings',
      'app.settings',
      'app.create',
    ])
    const shop = await audit('shop')
    expect(shop.map((entry) => entry.app)).toEqual(Array(6).fill('shop'))
    expect(await audit('2', '--days', '1')).toHaveLength(2)

    const table = expectSuccess(await tacit('audit', 'shop'))
    const lines = table.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^TIME\s+APP\s+ACTOR\s+ACTION\s+DETAIL$/)
    expect(lines).toHaveLength(7)
    expect(lines[1]).toMatch(/^\S+Z\s+shop\s+cli\s+app\.purge\s+deleted 3 events$/)
    expect(table).toMatch(/^\S+\s+shop\s+cli\s+app\.settings\s+rate_limit: 0 → 100; retention\.error: 30 → 60$/m)
    expect(table).toMatch(/^\S+\s+shop\s+cli\s+token\.revoke\s+tc_[A-Za-z0-9]{4}…$/m)
    expect(table).toMatch(/^\S+\s+shop\s+cli\s+app\.create\s+"shop", first token tc_[A-Za-z0-9]{4}…, origins https:\/\/shop\.example\.com$/m)
    expect(expectSuccess(await tacit('audit', 'blog'))).toMatch(/blog\s+cli\s+retention\.run\s+deleted 2: resource 2$/m)
  })

  it('says so when there is nothing to show', async () => {
    const store = createSqliteStore({ path: join(dir.path, 'tacit.db') })
    await store.createApp({ name: 'quiet', createdAt: Date.now(), settings: {} })
    await store.close()
    expect(expectSuccess(await tacit('audit', 'quiet'))).toBe('No audit entries for "quiet" in the last 14 days.\n')
    expect(parseJson(await tacit('audit', 'quiet', '--json'))).toEqual([])
  })

  it('answers mistakes with one sentence', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['audit', '--days', '0'], /--days must be a whole number from 1 to 14: the audit log is kept 14 days\./],
      [['audit', '--days', String(AUDIT_RETENTION_DAYS + 1)], /--days must be a whole number from 1 to 14/],
      [['audit', '--days', 'week'], /--days must be a whole number/],
      [['audit', 'nope'], /There is no app "nope": see `tacit app list`\./],
      [['audit', 'shop', 'blog'], /Unexpected argument "blog"\. Usage: tacit audit/],
    ]
    const results = await Promise.all(cases.map(([args]) => tacit(...args)))
    results.forEach((result, i) => expectOneSentenceError(result, cases[i]![1]))
    expectOneSentenceError(await runTacit(['audit'], { dataDir: join(dir.path, 'nowhere') }), /There is no Tacit database/)
  })

  it('holds no whole token and no IP address, byte for byte', async () => {
    expect(tokens).toHaveLength(3)
    const db = new Database(join(dir.path, 'tacit.db'), { readonly: true })
    try {
      const rows = db.prepare('SELECT CAST(app_id AS BLOB) AS a, CAST(at AS BLOB) AS b, CAST(actor AS BLOB) AS c, CAST(action AS BLOB) AS d, CAST(detail AS BLOB) AS e FROM audit_log').all() as Array<Record<string, Buffer | null>>
      expect(rows.length).toBeGreaterThanOrEqual(8)
      const bytes = Buffer.concat(rows.flatMap((row) => Object.values(row).filter((value): value is Buffer => value !== null)))
      for (const token of tokens) {
        expect(bytes.indexOf(Buffer.from(token))).toBe(-1)
        // Not even the random part past the 4-character hint.
        expect(bytes.indexOf(Buffer.from(token.slice(7)))).toBe(-1)
      }
      const text = bytes.toString('utf8')
      expect(text).not.toMatch(/\b\d{1,3}(\.\d{1,3}){3}\b/)
      expect(text).not.toMatch(/\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}\b/i)
    } finally {
      db.close()
    }
  })

  it("records the server's first start (the demo app) as the server", async () => {
    const fresh = makeTempDir('tacit-cli-audit-server-')
    try {
      const server = await startServerProcess({ dataDir: fresh.path })
      expect(await server.stop()).toBe(0)
      const entries = parseJson<AuditJson[]>(await runTacit(['audit', '--json'], { dataDir: fresh.path }))
      expect(entries).toEqual([
        expect.objectContaining({ app: 'demo', actor: 'server', action: 'app.create', detail: { name: 'demo', token: tokenHint(server.demoToken!), origins: [] } }),
      ])
    } finally {
      fresh.remove()
    }
  })
})

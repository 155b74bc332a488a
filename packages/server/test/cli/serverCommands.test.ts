import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ingest, makeTempDir, runTacit, startServerProcess, TACIT_BIN, type ServerProcess } from '../support/tacitProcess.js'
import { expectOneSentenceError, expectSuccess, parseJson, parseNdjson } from './cliAssertions.js'

/** The CLI next to a running server: they share the SQLite file, as in production. */

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const HEADERS = { 'content-type': 'text/plain', 'user-agent': USER_AGENT }
const DEVICE = { type: 'desktop', browser: 'Chrome', browser_version: '124', os: 'Linux' }

let dir: ReturnType<typeof makeTempDir>
let server: ServerProcess
const tacit = (...args: string[]) => runTacit(args, { dataDir: dir.path })
const ndjson = (events: readonly object[]) => events.map((event) => JSON.stringify(event)).join('\n')

async function createApp(name: string): Promise<{ id: number; token: string }> {
  return parseJson<{ id: number; token: string }>(await tacit('app', 'create', name, '--json'))
}

async function send(token: string, body: string): Promise<Record<string, unknown>> {
  const response = await ingest(server.url, token, body, HEADERS)
  expect(response.status, JSON.stringify(response.body)).toBe(202)
  return response.body
}

function bulkBody(n: number, from = 0): string {
  return ndjson(Array.from({ length: n }, (_, i) => ({ type: 'custom', custom: { name: `event-${from + i}` }, view: { id: 'bulk', url: 'https://bulk.example.com/' } })))
}

beforeAll(async () => {
  dir = makeTempDir('tacit-cli-server-')
  server = await startServerProcess({ dataDir: dir.path })
})
afterAll(async () => {
  await server?.stop()
  dir?.remove()
})

describe('tacit CLI against a running server', () => {
  it('revokes a token so that the server refuses it within a second', async () => {
    const { token } = await createApp('revoked')
    await send(token, bulkBody(1))
    expectSuccess(await tacit('token', 'revoke', token))
    const revokedAt = performance.now()
    let status = 202
    while (status !== 401 && performance.now() - revokedAt < 3000) {
      status = (await ingest(server.url, token, bulkBody(1), HEADERS)).status
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(status).toBe(401)
    expect(performance.now() - revokedAt).toBeLessThan(1000)
  })

  it('exports exactly the events sent, with the server fields, filtered by type and time', async () => {
    const { id, token } = await createApp('shop')
    const hour = 3_600_000
    const now = Date.now()
    const view = { id: 'v1', url: 'https://shop.example.com/cart' }
    const sent = [
      { type: 'view', ts: now - 5 * hour, view: { ...view, loading_type: 'initial_load', time_spent: 1200 } },
      { type: 'action', ts: now - 4 * hour, view, action: { type: 'click', name: 'Add to cart' } },
      { type: 'error', ts: now - 3 * hour, view, error: { message: 'boom', type: 'TypeError', handled: false, source: 'source' } },
      { type: 'vital', ts: now - 2 * hour, view, vital: { name: 'LCP', value: 1830.5, rating: 'good' } },
      { type: 'custom', ts: now - 1 * hour, view, custom: { name: 'checkout' }, context: { plan: 'pro', items: [1, 2] }, release: '2.1' },
    ]
    const answer = await send(token, ndjson(sent))
    expect(answer.accepted).toBe(5)

    const all = parseNdjson(await tacit('export', 'shop'))
    const ISSUE = { fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/), title: 'TypeError: boom' }
    expect(all).toEqual(
      sent.map((event) => ({ ...event, received_at: expect.any(Number), device: DEVICE, session: { id: expect.any(String) }, ...(event.type === 'error' ? { issue: ISSUE } : {}) })),
    )
    for (const event of all) {
      expect(event.received_at).toBeGreaterThanOrEqual(now)
      expect(event.received_at).toBeLessThan(now + 60_000)
    }
    // By id, several --type flags, comma-separated ones.
    const typed = parseNdjson(await tacit('export', String(id), '--type', 'error,vital', '--type', 'custom'))
    expect(typed.map((e) => e.type)).toEqual(['error', 'vital', 'custom'])
    // --since is inclusive, --until exclusive, on the event time.
    const iso = (ms: number) => new Date(ms).toISOString()
    const window = parseNdjson(await tacit('export', 'shop', '--since', iso(now - 4 * hour), '--until', iso(now - 2 * hour)))
    expect(window.map((e) => e.type)).toEqual(['action', 'error'])
    const offset = parseNdjson(await tacit('export', 'shop', '--type', 'view', '--type', 'action', '--since', '2000-01-01T00:00+02:00'))
    expect(offset.map((e) => e.type)).toEqual(['view', 'action'])
    expect(parseNdjson(await tacit('export', 'shop', '--until', '2001-01-01'))).toEqual([])
    // Session summaries come only when asked for, alone or beside events.
    const summaries = parseNdjson(await tacit('export', 'shop', '--type', 'session'))
    expect(summaries.length).toBeGreaterThan(0)
    expect(summaries.every((line) => line.type === 'session' && typeof (line.session as { id: string }).id === 'string')).toBe(true)
    // A session's release is the latest its events named.
    expect(summaries.map((line) => line.release)).toEqual(['2.1'])
    const sessionIds = new Set(all.map((event) => (event.session as { id: string }).id))
    expect(new Set(summaries.map((line) => (line.session as { id: string }).id))).toEqual(sessionIds)
    const mixed = parseNdjson(await tacit('export', 'shop', '--type', 'error,session'))
    expect(mixed.map((line) => line.type).filter((type) => type !== 'session').every((type) => type === 'error')).toBe(true)
  })

  it('counts accepted events by type and dropped ones by reason per day', async () => {
    const { token } = await createApp('counted')
    const withUser = '{"type":"error","error":{"message":"ok"},"usr":{"id":"u-1","email":"someone@example.org"}}'
    const body = [bulkBody(2), withUser, '{not json', '{"type":"pageview"}'].join('\n')
    const answer = await send(token, body)
    expect(answer).toMatchObject({ accepted: 3, dropped: { invalid: 2 } })

    const stats = parseJson<{ name: string; days: Array<Record<string, unknown>> }>(await tacit('stats', 'counted', '--days', '3', '--json'))
    expect(stats.name).toBe('counted')
    expect(stats.days).toHaveLength(3)
    expect(stats.days.slice(0, 2).every((day) => day.accepted_total === 0 && day.dropped_total === 0)).toBe(true)
    expect(stats.days[2]).toEqual({
      day: new Date().toISOString().slice(0, 10),
      accepted_total: 3,
      dropped_total: 2,
      accepted: { custom: 2, error: 1 },
      dropped: { invalid: 2 },
      // The app does not allow user identity: the event is stored without `usr`, and that is counted.
      stripped: { user_identity: 1 },
    })
    const table = expectSuccess(await tacit('stats', 'counted'))
    expect(table).toMatch(/^DAY\s+ACCEPTED\s+DROPPED\s+ACCEPTED BY TYPE\s+DROPPED BY REASON\s+STRIPPED$/m)
    expect(table).toMatch(/^\d{4}-\d\d-\d\d\s+3\s+2\s+custom 2, error 1\s+invalid 2\s+user_identity 1$/m)
    expect(table.trimEnd().split('\n')).toHaveLength(2 + 7)
  })

  it('streams a large export through a pipe and stops quietly when the reader goes away', async () => {
    const { token } = await createApp('bulk')
    for (let i = 0; i < 6; i++) await send(token, bulkBody(500, i * 500))
    const all = parseNdjson(await tacit('export', 'bulk'))
    expect(all).toHaveLength(3000)
    expect(all.at(-1)).toMatchObject({ custom: { name: 'event-2999' } })

    const piped = spawn('bash', ['-c', 'set -o pipefail; "$0" "$1" export bulk --data-dir "$2" | head -n 1', process.execPath, TACIT_BIN, dir.path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    piped.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    piped.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => piped.once('exit', resolve))
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout.split('\n')).toHaveLength(2)
    expect(JSON.parse(stdout)).toMatchObject({ custom: { name: 'event-0' } })
  })

  it('backs up a consistent copy while the server keeps ingesting', async () => {
    const { token } = await createApp('busy')
    let stop = false
    let committed = 0
    const load = (async () => {
      while (!stop) {
        await send(token, bulkBody(100))
        committed += 100
      }
    })()
    while (committed < 500) await new Promise((resolve) => setTimeout(resolve, 10))
    const before = committed

    const target = join(dir.path, 'backups', 'nested', 'tacit-copy.db')
    const out = expectSuccess(await tacit('backup', target))
    stop = true
    await load
    expect(out).toMatch(/^Backed up .*tacit\.db to .*tacit-copy\.db \(\d+(\.\d)? [KM]iB\)\.\n$/)
    expectOneSentenceError(await tacit('backup', target), /tacit-copy\.db already exists: choose another file or add --force/)

    const copy = new Database(target, { readonly: true })
    try {
      expect(copy.pragma('quick_check', { simple: true })).toBe('ok')
      const app = copy.prepare("SELECT id FROM apps WHERE name = 'busy'").get() as { id: number }
      const { n } = copy.prepare('SELECT count(*) AS n FROM events WHERE app_id = ?').get(app.id) as { n: number }
      expect(n).toBeGreaterThanOrEqual(before)
      expect(n % 100).toBe(0)
      expect(n).toBeLessThanOrEqual(committed)
      const bulk = copy.prepare("SELECT count(*) AS n FROM events WHERE app_id = (SELECT id FROM apps WHERE name = 'bulk')").get() as { n: number }
      expect(bulk.n).toBe(3000)
    } finally {
      copy.close()
    }
  })

  it('purges an app\'s events at once while the app and its token keep working', async () => {
    const apps = parseJson<Array<{ id: number; name: string; active_tokens: number }>>(await tacit('app', 'list', '--json'))
    const bulk = apps.find((app) => app.name === 'bulk')!
    const token = parseJson<Array<{ token: string; active: boolean }>>(await tacit('token', 'list', 'bulk', '--json'))[0]!.token

    expectOneSentenceError(await tacit('app', 'purge', 'bulk'), /add --yes to confirm/)
    expect(parseNdjson(await tacit('export', 'bulk'))).toHaveLength(3000)
    expect(parseJson(await tacit('app', 'purge', String(bulk.id), '--yes', '--json'))).toEqual({ id: bulk.id, name: 'bulk', deleted: 3000 })
    expect(parseNdjson(await tacit('export', 'bulk'))).toEqual([])
    expect(expectSuccess(await tacit('app', 'purge', 'bulk', '--yes'))).toBe(`Deleted 0 events of "bulk" (id ${bulk.id}); the app and its tokens remain.\n`)
    // Other apps keep their events.
    expect(parseNdjson(await tacit('export', 'shop'))).toHaveLength(5)

    await send(token, bulkBody(1, 7))
    const after = parseNdjson(await tacit('export', 'bulk'))
    expect(after).toEqual([expect.objectContaining({ custom: { name: 'event-7' } })])
    expect(parseJson<unknown[]>(await tacit('app', 'list', '--json'))).toHaveLength(apps.length)
  })
})

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DAY_MS, utcDay } from '../../src/clock.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import { makeTempDir, runTacit } from '../support/tacitProcess.js'
import { expectOneSentenceError, expectSuccess, parseJson, parseNdjson } from './cliAssertions.js'

/** Commands that need no running server: apps, tokens, settings, retention, and every user error. */

let dir: ReturnType<typeof makeTempDir>
const tacit = (...args: string[]) => runTacit(args, { dataDir: dir.path })

beforeAll(() => {
  dir = makeTempDir('tacit-cli-admin-')
})
afterAll(() => dir.remove())

interface CreatedApp {
  id: number
  name: string
  created_at: string
  origins: string[]
  token: string
}

describe('tacit app and token commands', () => {
  it('refuses to read a data directory without a database, and creates nothing there', async () => {
    const missing = join(dir.path, 'nowhere')
    const results = await Promise.all([
      runTacit(['app', 'list'], { dataDir: missing }),
      runTacit(['export', 'demo'], { dataDir: missing }),
      runTacit(['backup', join(dir.path, 'copy.db')], { dataDir: missing }),
    ])
    for (const result of results) {
      expectOneSentenceError(result, /There is no Tacit database in .*nowhere: start the server once or pass --data-dir\./)
    }
    expect(existsSync(missing)).toBe(false)
  })

  it('creates apps, printing the id and first token, or JSON with --json', async () => {
    const shop = parseJson<CreatedApp>(await tacit('app', 'create', 'shop', '--origin', 'https://shop.example.com', '--origin', 'https://*.example.org', '--json'))
    expect(shop).toEqual({
      id: 1,
      name: 'shop',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      origins: ['https://shop.example.com', 'https://*.example.org'],
      token: expect.stringMatching(/^tc_[A-Za-z0-9]{32}$/),
    })

    const out = expectSuccess(await tacit('app', 'create', 'blog'))
    expect(out).toMatch(/^Created the app "blog" \(id 2\)\.$/m)
    expect(out).toMatch(/^Client token: tc_[A-Za-z0-9]{32}$/m)
    expect(out).toMatch(/^Allowed origins: any$/m)

    const list = parseJson<Array<Record<string, unknown>>>(await tacit('app', 'list', '--json'))
    expect(list).toEqual([
      { id: 1, name: 'shop', created_at: shop.created_at, origins: shop.origins, active_tokens: 1 },
      { id: 2, name: 'blog', created_at: expect.any(String), origins: [], active_tokens: 1 },
    ])
    const table = expectSuccess(await tacit('app', 'list'))
    expect(table.split('\n')[0]).toMatch(/^ID\s+NAME\s+CREATED\s+ORIGINS\s+ACTIVE TOKENS$/)
    expect(table).toMatch(/^1\s+shop\s+\S+\s+https:\/\/shop\.example\.com, https:\/\/\*\.example\.org\s+1$/m)
    expect(table).toMatch(/^2\s+blog\s+\S+\s+any\s+1$/m)
  })

  it('reads the data directory from TACIT_DATA_DIR when --data-dir is not given', async () => {
    const result = await runTacit(['app', 'list', '--json'], { env: { TACIT_DATA_DIR: dir.path } })
    expect(parseJson<unknown[]>(result)).toHaveLength(2)
  })

  it('sets settings by app name or id and shows the effective ones', async () => {
    const byName = parseJson<{ id: number; name: string; settings: Record<string, unknown> }>(
      await tacit('app', 'set', 'shop', 'retention.error=60', 'rate_limit=100', '--json'),
    )
    expect(byName.id).toBe(1)
    expect(byName.name).toBe('shop')
    expect(byName.settings).toMatchObject({
      origins: ['https://shop.example.com', 'https://*.example.org'],
      rate_limit: 100,
      'retention.error': 60,
      'retention.resource': 15,
      ip: 'off',
      geo: 'country',
      keep_bots: false,
      'scrub.query_allow': null,
    })
    const byId = expectSuccess(await tacit('app', 'set', '1', 'origins=https://a.example.com,https://b.example.com', 'retention.resource=7'))
    expect(byId).toMatch(/^Updated the settings of "shop" \(id 1\)/)
    expect(byId).toMatch(/^origins\s+https:\/\/a\.example\.com,https:\/\/b\.example\.com$/m)
    expect(byId).toMatch(/^rate_limit\s+100$/m)
    expect(byId).toMatch(/^retention\.error\s+60$/m)
    expect(byId).toMatch(/^retention\.resource\s+7$/m)
    expect(byId).toMatch(/^retention\.view\s+30\s+\(default\)$/m)
    expect(byId).toMatch(/^block_countries\s+-\s+\(default\)$/m)

    const shown = parseJson<{ settings: Record<string, unknown>; tokens: unknown[] }>(await tacit('app', 'show', 'shop', '--json'))
    expect(shown.settings.origins).toEqual(['https://a.example.com', 'https://b.example.com'])
    expect(shown.settings['retention.resource']).toBe(7)
    expect(shown.tokens).toHaveLength(1)
    expect(expectSuccess(await tacit('app', 'show', '2'))).toMatch(/^App "blog" \(id 2\)/)
    // Issue 9: how Sentry's and Datadog's SDKs send to the app; ready to paste with the Tacit URL.
    expect(expectSuccess(await tacit('app', 'show', 'shop'))).toMatch(/Sentry DSN: +https:\/\/tc_[A-Za-z0-9]{32}@<your Tacit host>\/1\n/)
    const ready = parseJson<{ sentry_dsn: string; datadog_proxy: string }>(await tacit('app', 'show', 'blog', '--url', 'https://tacit.example:8443/t/', '--json'))
    expect(ready.sentry_dsn).toMatch(/^https:\/\/tc_[A-Za-z0-9]{32}@tacit\.example:8443\/t\/2$/)
    expect(ready.datadog_proxy).toBe('https://tacit.example:8443/t/api/compat/datadog')
    expectOneSentenceError(await tacit('app', 'show', 'shop', '--url', 'https://user:pw@tacit.example'), /--url must be Tacit's base URL/)

    // A bad assignment among good ones leaves the settings untouched.
    expectOneSentenceError(await tacit('app', 'set', 'shop', 'rate_limit=5', 'retention.error=0'), /retention\.error must be a whole number from 1 to 3650\./)
    const after = parseJson<{ settings: { rate_limit: number } }>(await tacit('app', 'show', '1', '--json'))
    expect(after.settings.rate_limit).toBe(100)
  })

  it('creates, lists and revokes tokens by app name or id', async () => {
    const created = parseJson<Record<string, unknown>>(await tacit('token', 'create', 'blog', '--json'))
    expect(created).toEqual({
      token: expect.stringMatching(/^tc_[A-Za-z0-9]{32}$/),
      app_id: 2,
      app: 'blog',
      active: true,
      created_at: expect.any(String),
      revoked_at: null,
      last_used_at: null,
    })
    const token = created.token as string
    expect(expectSuccess(await tacit('token', 'create', '2'))).toMatch(/^Created a client token for "blog" \(id 2\):\ntc_[A-Za-z0-9]{32}\n$/)

    expect(expectSuccess(await tacit('token', 'revoke', token))).toMatch(/^Revoked the client token tc_\w+ of "blog" \(id 2\)/)
    expectOneSentenceError(await tacit('token', 'revoke', token), /The client token tc_\w+ of "blog" \(id 2\) was already revoked \(\d{4}-/)

    const tokens = parseJson<Array<Record<string, unknown>>>(await tacit('token', 'list', '2', '--json'))
    expect(tokens).toHaveLength(3)
    expect(tokens.filter((t) => t.active)).toHaveLength(2)
    expect(tokens.find((t) => t.token === token)).toMatchObject({ active: false, revoked_at: expect.any(String) })
    const table = expectSuccess(await tacit('token', 'list', 'blog'))
    expect(table.split('\n')[0]).toMatch(/^TOKEN\s+CREATED\s+REVOKED\s+LAST USED/)
    expect(table).toContain(token)

    const apps = parseJson<Array<{ name: string; active_tokens: number }>>(await tacit('app', 'list', '--json'))
    expect(apps.find((app) => app.name === 'blog')?.active_tokens).toBe(2)
  })

  it('applies retention now and reports what it deleted per app and type', async () => {
    const now = Date.now()
    const store = createSqliteStore({ path: join(dir.path, 'tacit.db') })
    const old = now - 20 * DAY_MS
    const event = (type: 'error' | 'resource', receivedAt: number) =>
      type === 'error'
        ? { type, error: { message: 'boom' }, ts: receivedAt, received_at: receivedAt }
        : { type, resource: { url: 'https://shop.example.com/app.js', duration: 12 }, ts: receivedAt, received_at: receivedAt }
    // shop keeps errors 60 days and resources 7: the old resources go, the old errors stay.
    await store.writeBatches([
      { appId: 1, day: utcDay(old), events: [event('error', old), event('resource', old), event('resource', old)], dropped: {} },
      { appId: 1, day: utcDay(now), events: [event('resource', now)], dropped: {} },
    ])
    await store.close()

    const report = parseJson(await tacit('retention', 'run', '--json'))
    expect(report).toEqual({ total: 2, deleted: [{ app_id: 1, app: 'shop', type: 'resource', count: 2 }] })
    const left = parseNdjson(await tacit('export', 'shop'))
    expect(left.map((e) => [e.type, e.received_at])).toEqual([
      ['error', old],
      ['resource', now],
    ])
    expect(expectSuccess(await tacit('retention', 'run'))).toBe('Nothing was past its retention: no event deleted.\n')
  })

  it('answers every mistake with one sentence and exit code 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['app', 'list', '--colour'], /Unknown option '--colour'.*Usage: tacit app list/],
      [['app', 'create'], /Missing the argument <name>\. Usage: tacit app create/],
      [['app', 'set', 'shop'], /Missing the argument <key=value>\./],
      [['token', 'revoke'], /Missing the argument <token>\./],
      [['app', 'show', 'shop', 'blog'], /Unexpected argument "blog"\./],
      [['app', 'show', 'nope'], /There is no app "nope": see `tacit app list`\./],
      [['token', 'list', '99'], /There is no app "99"/],
      [['export', 'nope'], /There is no app "nope"/],
      [['app', 'create', 'bad name'], /"bad name" is not a valid app name/],
      [['app', 'create', '42'], /"42" is not a valid app name: it must not be all digits\./],
      [['app', 'create', 'shop'], /An app named "shop" already exists\./],
      [['app', 'create', 'ftp', '--origin', 'ftp://files.example.com'], /"ftp:\/\/files\.example\.com" is not an http or https origin\./],
      [['app', 'set', 'shop', 'colour=blue'], /Unknown setting "colour"/],
      [['app', 'set', 'shop', 'retention.forever=1'], /Unknown retention kind "forever"/],
      [['app', 'set', 'shop', 'rate_limit'], /"rate_limit" is not a setting assignment/],
      [['export', 'shop', '--type', 'view,pageview'], /"pageview" is not an event type: use view, action, error, resource, long_task, vital, report, custom or session\./],
      [['export', 'shop', '--since', 'yesterday'], /--since "yesterday" is not an ISO 8601 date or time/],
      [['export', 'shop', '--until', '2024-02-30'], /--until "2024-02-30" is not an ISO 8601 date or time/],
      [['export', 'shop', '--since', '2024-06-01', '--until', '2024-05-01'], /--since must be earlier than --until\./],
      [['stats', 'shop', '--days', '0'], /--days must be a whole number from 1 to 3650\./],
      [['app', 'purge', 'shop'], /This deletes every stored event of "shop" \(id 1\) and cannot be undone: add --yes to confirm\./],
      [['token', 'revoke', 'tc_unknown'], /There is no client token "tc_unknown"/],
    ]
    const results = await Promise.all(cases.map(([args]) => tacit(...args)))
    results.forEach((result, i) => expectOneSentenceError(result, cases[i]![1]))
    // Refused purge deleted nothing.
    expect(parseNdjson(await tacit('export', 'shop'))).toHaveLength(2)
  })

  it('refuses to overwrite an existing backup or the live database', async () => {
    const target = join(dir.path, 'backups', 'deep', 'copy.db')
    const first = parseJson<{ path: string; bytes: number }>(await tacit('backup', target, '--json'))
    expect(first).toEqual({ path: target, bytes: expect.any(Number) })
    expect(first.bytes).toBeGreaterThan(0)
    expectOneSentenceError(await tacit('backup', target), /copy\.db already exists: choose another file or add --force to overwrite it\./)
    expectOneSentenceError(await tacit('backup', join(dir.path, 'tacit.db'), '--force'), /is the live database itself/)
    expect(expectSuccess(await tacit('backup', target, '--force'))).toMatch(/^Backed up .*tacit\.db to .*copy\.db \(\d+(\.\d)? KiB\)\.\n$/)
  })
})

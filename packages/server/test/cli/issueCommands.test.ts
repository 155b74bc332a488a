import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { utcDay } from '../../src/clock.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import type { Store } from '../../src/store/Store.js'
import type { CliResult } from '../support/tacitProcess.js'
import { runCliInProcess } from '../support/runCliInProcess.js'
import { createTestApp } from '../support/storedData.js'
import { ingest, makeTempDir, runTacit, startServerProcess } from '../support/tacitProcess.js'
import { expectOneSentenceError, expectSuccess, parseJson } from './cliAssertions.js'

/**
 * `tacit issues` and `tacit issue`: run in-process (runCli, as bin/tacit.js does) against a database written
 * through the store, plus a few runs of the real binary to prove the commands are wired in.
 */

const T0 = Date.UTC(2024, 4, 1, 12)
/** Characters a terminal would act on (newline aside): none may reach it from event data. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/
const FP_CART = 'c'.repeat(32)
const FP_NULL = 'd'.repeat(32)
const FP_HOSTILE = 'e'.repeat(32)
const STACK = [
  "TypeError: Cannot read properties of undefined (reading 'price')",
  '    at formatCartLine (https://shop.example.com/assets/cart-8f3a1c.js:2:18433)',
  '    at Array.map (<anonymous>)',
  '    at renderCart (https://shop.example.com/assets/cart-8f3a1c.js:2:19012)',
].join('\n')

interface IssueJson {
  id: number
  app_id: number
  fingerprint: string
  kind: 'error' | 'report'
  title: string
  culprit: string | null
  type: string | null
  status: string
  regressed: boolean
  count: number
  sessions: number
  first_seen: string
  last_seen: string
  resolved_at: string | null
  regressed_at: string | null
  first_release: string | null
  last_release: string | null
  releases: Array<{ release: string; count: number; first_seen: string; last_seen: string }>
}

let dir: ReturnType<typeof makeTempDir>

async function tacit(...args: string[]): Promise<CliResult> {
  return runCliInProcess(args, dir.path)
}
const json = async <T = IssueJson[]>(...args: string[]) => parseJson<T>(await tacit(...args, '--json'))

async function withStore<T>(use: (store: Store) => Promise<T>): Promise<T> {
  const store = createSqliteStore({ path: join(dir.path, 'tacit.db') })
  try {
    return await use(store)
  } finally {
    await store.close()
  }
}

function failure(fingerprint: string, ts: number, fields: { title?: string; release?: string; session?: string; stack?: string; culprit?: string } = {}): StoredEvent {
  const title = fields.title ?? "TypeError: Cannot read properties of undefined (reading 'price')"
  return {
    type: 'error',
    error: { message: title.replace(/^TypeError: /, ''), type: 'TypeError', ...(fields.stack === undefined ? {} : { stack: fields.stack }) },
    ts,
    received_at: ts,
    ...(fields.release === undefined ? {} : { release: fields.release }),
    ...(fields.session === undefined ? {} : { session: { id: fields.session } }),
    issue: { fingerprint, title, ...(fields.culprit === undefined ? {} : { culprit: fields.culprit }) },
  }
}

async function write(appId: number, events: StoredEvent[]): Promise<void> {
  await withStore(async (store) => {
    expect(await store.writeBatches([{ appId, day: utcDay(events[0]!.ts), events, dropped: {} }])).toEqual([undefined])
  })
}

let shopId: number
let ids: { cart: number; nul: number; hostile: number }

beforeAll(async () => {
  dir = makeTempDir('tacit-cli-issues-')
  shopId = await withStore(async (store) => {
    const shop = await store.createApp({ name: 'shop', createdAt: T0, settings: {} })
    await store.createApp({ name: 'blog', createdAt: T0, settings: {} })
    return shop.id
  })
  await write(shopId, [
    failure(FP_CART, T0 + 1000, { release: '1.0', session: 's1', stack: STACK, culprit: 'formatCartLine (cart.js)' }),
    failure(FP_CART, T0 + 2000, { release: '1.0', session: 's2', stack: STACK, culprit: 'formatCartLine (cart.js)' }),
    failure(FP_CART, T0 + 3000, { release: '1.1', session: 's2', stack: STACK, culprit: 'formatCartLine (cart.js)' }),
    failure(FP_NULL, T0 + 500, { title: "TypeError: null is not an object (evaluating 'a.b')" }),
    failure(FP_HOSTILE, T0 + 100, { title: `Error: \u001b[2J\u001b]0;pwned\u0007 cleared ${'x'.repeat(150)}`, stack: 'Error: \u001b[31mred\n    at \u202eevil (https://shop.example.com/a.js:1:2)' }),
  ])
  const listed = await json('issues', 'shop')
  const byFingerprint = (fp: string) => listed.find((i) => i.fingerprint === fp)!.id
  ids = { cart: byFingerprint(FP_CART), nul: byFingerprint(FP_NULL), hostile: byFingerprint(FP_HOSTILE) }
})
afterAll(() => dir.remove())

describe('tacit issues', () => {
  it('lists issues as JSON, most recently seen first, with counts, sessions and releases', async () => {
    const issues = await json('issues', 'shop')
    expect(issues.map((i) => i.id)).toEqual([ids.cart, ids.nul, ids.hostile])
    expect(issues[0]).toEqual({
      id: ids.cart,
      app_id: shopId,
      fingerprint: FP_CART,
      kind: 'error',
      title: "TypeError: Cannot read properties of undefined (reading 'price')",
      culprit: 'formatCartLine (cart.js)',
      type: 'TypeError',
      status: 'open',
      regressed: false,
      count: 3,
      sessions: 2,
      first_seen: new Date(T0 + 1000).toISOString(),
      last_seen: new Date(T0 + 3000).toISOString(),
      resolved_at: null,
      regressed_at: null,
      first_release: '1.0',
      last_release: '1.1',
      releases: [
        { release: '1.0', count: 2, first_seen: new Date(T0 + 1000).toISOString(), last_seen: new Date(T0 + 2000).toISOString() },
        { release: '1.1', count: 1, first_seen: new Date(T0 + 3000).toISOString(), last_seen: new Date(T0 + 3000).toISOString() },
      ],
      environments: [],
    })
    expect(issues[1]).toMatchObject({ culprit: null, releases: [], sessions: 0, count: 1 })
    // By id as well as by name.
    expect(await json('issues', String(shopId))).toEqual(issues)
    expect(await json('issues', 'blog')).toEqual([])
  })

  it('sorts, filters and limits', async () => {
    // Equal counts: the issue first seen last comes first.
    expect((await json('issues', 'shop', '--sort', 'count')).map((i) => i.id)).toEqual([ids.cart, ids.nul, ids.hostile])
    expect((await json('issues', 'shop', '--sort', 'first_seen')).map((i) => i.id)).toEqual([ids.cart, ids.nul, ids.hostile])
    expect((await json('issues', 'shop', '--limit', '1')).map((i) => i.id)).toEqual([ids.cart])
    expect(await json('issues', 'shop', '--status', 'resolved')).toEqual([])
    expect(await json('issues', 'shop', '--status', 'open')).toHaveLength(3)
    expect((await json('issues', 'shop', '--release', '1.0')).map((i) => i.id)).toEqual([ids.cart])
    expect(await json('issues', 'shop', '--env', 'production')).toEqual([])
    expect((await json('issues', 'shop', '--search', 'NULL IS')).map((i) => i.id)).toEqual([ids.nul])
    expect((await json('issues', 'shop', '--sort', 'sessions', '--limit', '1')).map((i) => i.id)).toEqual([ids.cart])
    expect(expectSuccess(await tacit('issues', 'shop', '--release', '9.9'))).toBe(`No issues matching the filters for "shop" (id ${shopId}).\n`)
  })

  it('prints a table for people, with titles cut and control characters shown, not obeyed', async () => {
    const out = expectSuccess(await tacit('issues', 'shop'))
    const lines = out.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+EVENTS\s+SESSIONS\s+FIRST SEEN\s+LAST SEEN\s+TITLE$/)
    expect(lines[1]).toMatch(new RegExp(`^${ids.cart}\\s+open\\s+3\\s+2\\s+2024-05-01T12:00:01Z\\s+2024-05-01T12:00:03Z\\s+TypeError: Cannot read`))
    expect(out).not.toMatch(CONTROL)
    expect(out).toContain('Error: \\u001b[2J\\u001b]0;pwned\\u0007 cleared')
    expect(lines[3]!.endsWith('…')).toBe(true)
    expect(expectSuccess(await tacit('issues', 'blog'))).toBe(`No issues for "blog" (id 2).\n`)
    expect(expectSuccess(await tacit('issues', 'shop', '--status', 'ignored'))).toBe(`No ignored issues for "shop" (id ${shopId}).\n`)
  })
})

describe('tacit issues of browser reports', () => {
  it('lists report issues with their kind, filters by --kind, and shows the latest report', async () => {
    const docsId = await withStore(async (store) => (await store.createApp({ name: 'docs', createdAt: T0, settings: {} })).id)
    const csp = (ts: number, path: string): StoredEvent => ({
      type: 'report',
      report: { type: 'csp-violation', body: { effectiveDirective: 'img-src', blockedURL: `https://cdn.example/${path}`, lineNumber: 4 } },
      ts,
      received_at: ts,
      issue: { fingerprint: 'f'.repeat(32), title: 'CSP img-src blocked https://cdn.example' },
    })
    await write(docsId, [csp(T0 + 1000, 'a.png'), csp(T0 + 2000, 'b.png?x=\u001b[31m'), failure(FP_CART, T0 + 5)])

    const all = await json('issues', 'docs')
    expect(all.map((i) => [i.kind, i.title, i.count, i.type])).toEqual([
      ['report', 'CSP img-src blocked https://cdn.example', 2, 'csp-violation'],
      ['error', "TypeError: Cannot read properties of undefined (reading 'price')", 1, 'TypeError'],
    ])
    expect((await json('issues', 'docs', '--kind', 'report')).map((i) => i.kind)).toEqual(['report'])
    expect((await json('issues', 'docs', '--kind', 'error')).map((i) => i.kind)).toEqual(['error'])
    expect(expectSuccess(await tacit('issues', 'blog', '--kind', 'report'))).toBe(`No report issues for "blog" (id 2).\n`)
    expectOneSentenceError(await tacit('issues', 'docs', '--kind', 'warning'), /--kind must be error or report/)

    const out = expectSuccess(await tacit('issue', String(all[0]!.id)))
    expect(out).toContain('CSP img-src blocked https://cdn.example')
    expect(out).toContain('Latest event, 2024-05-01T12:00:02Z:\ncsp-violation report\n  effectiveDirective: img-src\n  blockedURL: https://cdn.example/b.png?x=\\u001b[31m\n')
    expect(out).not.toMatch(CONTROL)
    const shown = await json<IssueJson & { latest_event: { report: { type: string } } }>('issue', String(all[0]!.id))
    expect(shown).toMatchObject({ kind: 'report', latest_event: { report: { type: 'csp-violation' } } })
  })
})

describe('tacit releases', () => {
  it('lists releases with errors, issues, new issues and the crash-free rate, as JSON and as a table', async () => {
    const releases = await json<Array<Record<string, unknown>>>('releases', 'shop')
    expect(releases).toEqual([
      expect.objectContaining({ release: '1.1', errors: 1, issues: 1, new_issues: 0, sessions: 1, crashed_sessions: 1, crash_free_rate: 0 }),
      expect.objectContaining({ release: '1.0', errors: 2, issues: 1, new_issues: 1, sessions: 1, crashed_sessions: 1, crash_free_rate: 0 }),
    ])
    const table = expectSuccess(await tacit('releases', 'shop'))
    expect(table).toMatch(/^RELEASE +FIRST SEEN +LAST SEEN +ERRORS +ISSUES +NEW ISSUES +SESSIONS +CRASH-FREE\n1\.1 /)
    expect(table).toContain('0.0 %')
    expect(expectSuccess(await tacit('releases', 'blog'))).toMatch(/^No releases for "blog"/)
  })
})

describe('tacit issue', () => {
  it('shows an issue with its releases and the parsed stack of its latest event', async () => {
    const out = expectSuccess(await tacit('issue', String(ids.cart)))
    expect(out).toContain(`Issue ${ids.cart} of "shop" (id ${shopId}): TypeError: Cannot read properties of undefined (reading 'price')\n`)
    expect(out).toMatch(/^Status: +open$/m)
    expect(out).toMatch(/^Culprit: +formatCartLine \(cart\.js\)$/m)
    expect(out).toMatch(/^Events: +3 in 2 sessions$/m)
    expect(out).toMatch(/^First seen: +2024-05-01T12:00:01Z \(release 1\.0\)$/m)
    expect(out).toMatch(/^Last seen: +2024-05-01T12:00:03Z \(release 1\.1\)$/m)
    expect(out).toMatch(/^RELEASE\s+EVENTS\s+FIRST SEEN\s+LAST SEEN$/m)
    expect(out).toMatch(/^1\.0\s+2\s+2024-05-01T12:00:01Z\s+2024-05-01T12:00:02Z$/m)
    expect(out).toContain('Latest event, 2024-05-01T12:00:03Z (release 1.1):\n')
    expect(out).toContain('  > at formatCartLine (https://shop.example.com/assets/cart-8f3a1c.js:2:18433)\n')
    expect(out).toContain('  > at renderCart (https://shop.example.com/assets/cart-8f3a1c.js:2:19012)\n')
  })

  it('gives the issue, its releases and the latest event as JSON', async () => {
    const issue = await json<IssueJson & { app: string; latest_event: Record<string, unknown> }>('issue', String(ids.cart))
    expect(issue).toMatchObject({ id: ids.cart, app: 'shop', count: 3, sessions: 2, releases: [{ release: '1.0', count: 2 }, { release: '1.1', count: 1 }] })
    expect(issue.latest_event).toMatchObject({
      ts: new Date(T0 + 3000).toISOString(),
      release: '1.1',
      message: "Cannot read properties of undefined (reading 'price')",
      type: 'TypeError',
      stack: STACK,
    })
    expect(issue.latest_event.frames).toEqual(
      expect.arrayContaining([
        {
          function: 'formatCartLine',
          file: 'https://shop.example.com/assets/cart-8f3a1c.js',
          line: 2,
          column: 18433,
          in_app: true,
          // No map was uploaded for release 1.1: the frame stays as received, and says why.
          resolved: false,
          reason: 'no_source_maps',
          minified: { function: 'formatCartLine', file: 'https://shop.example.com/assets/cart-8f3a1c.js', line: 2, column: 18433 },
        },
      ]),
    )
    const bare = await json<{ latest_event: Record<string, unknown> }>('issue', String(ids.nul))
    expect(bare.latest_event).toMatchObject({ stack: null, frames: [] })
    expect(expectSuccess(await tacit('issue', String(ids.nul)))).toContain('  (no stack trace)\n')
  })

  it('shows hostile titles and stacks escaped', async () => {
    const out = expectSuccess(await tacit('issue', String(ids.hostile)))
    expect(out).not.toMatch(CONTROL)
    expect(out).toContain('\\u001b[2J')
    expect(out).toContain('\\u202e')
  })

  it('resolves, ignores and reopens, saying so, and a newer release re-opens a resolved issue as regressed', async () => {
    const resolved = expectSuccess(await tacit('issue', 'resolve', String(ids.cart)))
    expect(resolved).toMatch(new RegExp(`^Resolved issue ${ids.cart}: TypeError: Cannot read`))
    expect(resolved).toContain('will open it again as regressed')
    expect(await json('issues', 'shop', '--status', 'resolved')).toEqual([expect.objectContaining({ id: ids.cart, status: 'resolved', resolved_at: expect.any(String) })])
    expect(expectSuccess(await tacit('issue', 'resolve', String(ids.cart)))).toMatch(new RegExp(`^Issue ${ids.cart} is already resolved \\(since \\S+\\): TypeError`))
    expect(await json<{ changed: boolean; status: string }>('issue', 'resolve', String(ids.cart))).toMatchObject({ changed: false, status: 'resolved' })

    // An old client on 1.1 still has it: counted, still resolved. Release 2.0, new since, has it: regressed.
    await write(shopId, [failure(FP_CART, Date.now(), { release: '1.1', session: 's3' })])
    expect(await json<IssueJson>('issue', String(ids.cart))).toMatchObject({ status: 'resolved', count: 4, sessions: 3 })
    await write(shopId, [failure(FP_CART, Date.now(), { release: '2.0', session: 's3' })])
    const regressed = await json('issues', 'shop', '--status', 'regressed')
    expect(regressed).toEqual([expect.objectContaining({ id: ids.cart, status: 'open', regressed: true, regressed_at: expect.any(String), resolved_at: null, count: 5 })])
    expect(expectSuccess(await tacit('issues', 'shop'))).toMatch(new RegExp(`^${ids.cart}\\s+regressed\\s+5\\s+3\\s`, 'm'))
    expect(expectSuccess(await tacit('issue', String(ids.cart)))).toMatch(/^Status: +open, regressed \S+Z$/m)

    expect(await json<{ changed: boolean; status: string }>('issue', 'ignore', String(ids.cart))).toMatchObject({ changed: true, status: 'ignored', regressed: false })
    await write(shopId, [failure(FP_CART, Date.now(), { release: '3.0' })])
    expect(await json<IssueJson>('issue', String(ids.cart))).toMatchObject({ status: 'ignored', count: 6 })
    expect(expectSuccess(await tacit('issue', 'reopen', String(ids.cart)))).toMatch(new RegExp(`^Reopened issue ${ids.cart}: `))
    expect(await json<IssueJson>('issue', String(ids.cart))).toMatchObject({ status: 'open', regressed: false, regressed_at: null })
    expect(expectSuccess(await tacit('issue', 'reopen', String(ids.cart)))).toMatch(new RegExp(`^Issue ${ids.cart} is already open: `))
  })
})

describe('tacit issues and issue refuse bad input with one sentence', () => {
  it.each([
    [['issues', 'nope'], /^tacit: There is no app "nope": see `tacit app list`\.$/m],
    [['issues', "shop' OR '1'='1"], /There is no app "shop' OR '1'='1"/],
    [['issues'], /Missing the argument <app>\. Usage: tacit issues <app>/],
    [['issues', 'shop', 'blog'], /Unexpected argument "blog"/],
    [['issues', 'shop', '--status', 'closed'], /--status must be open, resolved, ignored or regressed\./],
    [['issues', 'shop', '--status', "open' OR 1=1 --"], /--status must be open, resolved, ignored or regressed\./],
    [['issues', 'shop', '--sort', 'id; DROP TABLE issues'], /--sort must be last_seen, count, sessions or first_seen\./],
    [['issues', 'shop', '--limit', '0'], /--limit must be a whole number from 1 to 1000\./],
    [['issues', 'shop', '--limit', '1001'], /--limit must be a whole number from 1 to 1000\./],
    [['issues', 'shop', '--limit', '2.5'], /--limit must be a whole number/],
    [['issues', 'shop', '--limit', '-1'], /--limit/],
    [['issues', 'shop', '--colour'], /Unknown option '--colour'.* Usage: tacit issues/],
    [['issues', 'shop', '--release', ''], /--release takes a text of 1 to 200 characters\./],
    [['issues', 'shop', '--env', ''], /--env takes a text of 1 to 200 characters\./],
    [['issues', 'shop', '--search', 'x'.repeat(201)], /--search takes a text of 1 to 200 characters\./],
    [['releases'], /Missing the argument <app>\. Usage: tacit releases <app>/],
    [['releases', 'nope'], /There is no app "nope"/],
    [['releases', 'shop', '--since', 'x'], /Unknown option '--since'/],
    [['issue'], /Missing the argument <id>\. Usage: tacit issue <id>/],
    [['issue', 'abc'], /"abc" is not an issue id: use the number `tacit issues <app>` shows\./],
    [['issue', '0'], /"0" is not an issue id/],
    [['issue', '-1'], /Unknown option '-1'|"-1" is not an issue id/],
    [['issue', '1e3'], /"1e3" is not an issue id/],
    [['issue', '0x10'], /"0x10" is not an issue id/],
    [['issue', '1; DROP TABLE issues'], /"1; DROP TABLE issues" is not an issue id/],
    [['issue', '99999999999999999999'], /is not an issue id/],
    [['issue', '424242'], /^tacit: There is no issue 424242: see `tacit issues <app>`\.$/m],
    [['issue', '1', '2'], /Unexpected argument "2"/],
    [['issue', 'resolved', '1'], /"resolved" is not an issue id/],
    [['issue', 'resolve'], /Missing the argument <id>\. Usage: tacit issue resolve <id>/],
    [['issue', 'resolve', '424242'], /There is no issue 424242/],
    [['issue', 'ignore', 'x'], /"x" is not an issue id/],
    [['issue', 'reopen', '1', '--force'], /Unknown option '--force'.* Usage: tacit issue reopen/],
  ])('%j', async (args, pattern) => {
    expectOneSentenceError(await tacit(...args), pattern)
  })

  it('left every issue as it was', async () => {
    expect(await json('issues', 'shop')).toHaveLength(3)
  })

  it('escapes a hostile id in its message', async () => {
    const result = await tacit('issue', '\u001b[2J1')
    expectOneSentenceError(result, /"\\u001b\[2J1" is not an issue id/)
  })
})

describe('the tacit binary', () => {
  it('runs the issue commands and lists them in its help', async () => {
    const issues = parseJson<IssueJson[]>(await runTacit(['issues', 'shop', '--json'], { dataDir: dir.path }))
    expect(issues).toHaveLength(3)
    expectOneSentenceError(await runTacit(['issue', 'abc'], { dataDir: dir.path }), /"abc" is not an issue id/)
    const help = expectSuccess(await runTacit(['help'], { dataDir: dir.path }))
    for (const command of ['issues', 'issue resolve', 'issue ignore', 'issue reopen', 'issue ']) expect(help).toContain(`  ${command}`)
  })
})

describe('errors sent to a running server', () => {
  it('are grouped into issues that the CLI lists, a redeploy with shifted columns landing in the same one', async () => {
    const server = makeTempDir('tacit-cli-issues-server-')
    try {
      const { token } = await createTestApp(server.path, 'live')
      const running = await startServerProcess({ dataDir: server.path })
      try {
        const headers = {
          'content-type': 'text/plain',
          'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36',
        }
        const sent = (release: string, file: string, column: number) =>
          JSON.stringify({
            type: 'error',
            release,
            error: { type: 'TypeError', message: 'Cannot read properties of undefined (reading \'price\')', stack: `TypeError: x\n    at formatCartLine (https://shop.example.com/assets/${file}:2:${column})` },
          })
        expect((await ingest(running.url, token, [sent('1.0', 'cart-8f3a1c.js', 18433), sent('1.0', 'cart-8f3a1c.js', 18433)].join('\n'), headers)).status).toBe(202)
        expect((await ingest(running.url, token, sent('1.1', 'cart-0b91d2.js', 18502), headers)).status).toBe(202)
        const issues = parseJson<IssueJson[]>(await runTacit(['issues', 'live', '--json'], { dataDir: server.path }))
        expect(issues).toEqual([
          expect.objectContaining({
            title: "TypeError: Cannot read properties of undefined (reading 'price')",
            status: 'open',
            count: 3,
            sessions: 1,
            first_release: '1.0',
            last_release: '1.1',
            releases: [expect.objectContaining({ release: '1.0', count: 2 }), expect.objectContaining({ release: '1.1', count: 1 })],
          }),
        ])
        expect(issues[0]!.culprit).toMatch(/^formatCartLine \(/)
      } finally {
        await running.stop()
      }
    } finally {
      server.remove()
    }
  }, 30_000)
})

import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WEBHOOK_SECRET_PATTERN } from '../../src/alerts/alertRule.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import { expectOneSentenceError, expectSuccess, parseJson } from '../cli/cliAssertions.js'
import { runCliInProcess } from '../support/runCliInProcess.js'
import { createTestApp, databaseBytes } from '../support/storedData.js'
import { ingest, makeTempDir, runTacit, startServerProcess } from '../support/tacitProcess.js'
import { RECEIVER_SECRET_BODY, startWebhookReceiver, type WebhookReceiver } from './webhookReceiver.js'

/**
 * `tacit alert add|list|remove|test|log`, in-process against a real database and a real receiver on
 * 127.0.0.1, plus the real binary and server end to end: an error ingested by a running server reaches the
 * receiver as a signed `issue.new`.
 */

interface RuleJson {
  id: number
  app_id: number
  on: string
  url: string
  format: string
  threshold: number | null
  window_minutes: number | null
  enabled: boolean
  firing: boolean
  created_at: string
  secret?: string
}

describe('tacit alert', () => {
  const dir = makeTempDir('tacit-alert-cli-')
  const dataDir = join(dir.path, 'data')
  let receiver: WebhookReceiver
  const run = (...args: string[]) => runCliInProcess(args, dataDir)

  beforeAll(async () => {
    await createTestApp(dataDir, 'shop')
    receiver = await startWebhookReceiver({ nowSeconds: () => Math.floor(Date.now() / 1000) })
  })
  afterAll(async () => {
    await receiver.close()
    dir.remove()
  })

  it('adds a rule, shows its signing secret only once, and audits it without the URL\'s path', async () => {
    const added = expectSuccess(await run('alert', 'add', 'shop', '--on', 'new-issue', '--url', `${receiver.url}/private-path-token`, '--format', 'slack'))
    const secret = /^(tacit_whsec_\S+)$/m.exec(added)?.[1]
    expect(secret).toMatch(WEBHOOK_SECRET_PATTERN)
    expect(added).toMatch(/^Created alert rule \d+ for "shop" \(id \d+\): on new issues, POST slack to http:\/\/127\.0\.0\.1:\d+\/private-path-token\n/)

    const listed = expectSuccess(await run('alert', 'list', 'shop'))
    expect(listed).toMatch(/^ID +ON +THRESHOLD +FORMAT +ENABLED +CREATED +URL\n\d+ +new-issue +- +slack +yes /)
    const listedJson = parseJson<RuleJson[]>(await run('alert', 'list', 'shop', '--json'))
    expect(listedJson).toHaveLength(1)
    expect(listedJson[0]).not.toHaveProperty('secret')
    for (const output of [listed, JSON.stringify(listedJson)]) expect(output).not.toContain(secret!)

    const store = createSqliteStore({ path: join(dataDir, 'tacit.db') })
    try {
      const [entry] = await store.readAudit({ limit: 1 })
      expect(entry).toMatchObject({ actor: 'cli', action: 'alert.create', detail: { id: listedJson[0]!.id, on: 'new-issue', format: 'slack', origin: receiver.url } })
      expect(JSON.stringify(entry)).not.toMatch(/private-path-token|tacit_whsec_/)
    } finally {
      await store.close()
    }
    expect(expectSuccess(await run('alert', 'remove', String(listedJson[0]!.id)))).toMatch(/^Removed alert rule \d+ \(new-issue, http:\/\/127\.0\.0\.1:\d+\/private-path-token\) with its delivery log\.\n$/)
  })

  it('adds an error-rate rule with --json, and refuses thresholds where they do not belong', async () => {
    const rule = parseJson<RuleJson>(await run('alert', 'add', 'shop', '--on', 'error-rate', '--url', `${receiver.url}/rate`, '--threshold', '50', '--window', '5', '--json'))
    expect(rule).toMatchObject({ on: 'error-rate', format: 'json', threshold: 50, window_minutes: 5, enabled: true, firing: false, url: `${receiver.url}/rate` })
    expect(rule.secret).toMatch(WEBHOOK_SECRET_PATTERN)
    expect(expectSuccess(await run('alert', 'list', 'shop'))).toMatch(/ error-rate +50\/5min +json +yes /)
    expectSuccess(await run('alert', 'remove', String(rule.id), '--json'))
    expect(expectSuccess(await run('alert', 'list', 'shop'))).toMatch(/^No alert rules for "shop"/)
  })

  it.each([
    [['alert', 'add'], /Missing the argument <app>/],
    [['alert', 'add', 'shop', 'extra', '--on', 'new-issue', '--url', 'https://x.example'], /Unexpected argument "extra"/],
    [['alert', 'add', 'nope', '--on', 'new-issue', '--url', 'https://x.example'], /There is no app "nope"/],
    [['alert', 'add', 'shop', '--url', 'https://x.example'], /Say when to alert with --on/],
    [['alert', 'add', 'shop', '--on', 'everything', '--url', 'https://x.example'], /--on must be new-issue, regression or error-rate/],
    [['alert', 'add', 'shop', '--on', 'new-issue'], /Say where to send alerts with --url/],
    [['alert', 'add', 'shop', '--on', 'new-issue', '--url', 'ftp://x.example/'], /must start with https:\/\/ or http:\/\//],
    [['alert', 'add', 'shop', '--on', 'new-issue', '--url', 'https://bob:hunter2@x.example/'], /must not hold a user name or password/],
    [['alert', 'add', 'shop', '--on', 'new-issue', '--url', 'not a url'], /not a valid absolute URL/],
    [['alert', 'add', 'shop', '--on', 'new-issue', '--url', `https://x.example/${'a'.repeat(3000)}`], /at most 2048 characters/],
    [['alert', 'add', 'shop', '--on', 'new-issue', '--url', 'https://x.example', '--format', 'xml'], /--format must be json or slack/],
    [['alert', 'add', 'shop', '--on', 'error-rate', '--url', 'https://x.example'], /needs a threshold and a window/],
    [['alert', 'add', 'shop', '--on', 'error-rate', '--url', 'https://x.example', '--threshold', '0', '--window', '5'], /--threshold must be a whole number from 1 to 100000/],
    [['alert', 'add', 'shop', '--on', 'error-rate', '--url', 'https://x.example', '--threshold', '1e3', '--window', '5'], /--threshold must be a whole number/],
    [['alert', 'add', 'shop', '--on', 'error-rate', '--url', 'https://x.example', '--threshold', '5', '--window', '99999'], /--window must be a whole number from 1 to 1440/],
    [['alert', 'add', 'shop', '--on', 'regression', '--url', 'https://x.example', '--threshold', '5'], /belong to error-rate rules only/],
    [['alert', 'add', 'shop', '--on', 'new-issue', '--url', 'https://x.example', '--colour'], /Unknown option '--colour'/],
    [['alert', 'list'], /Missing the argument <app>/],
    [['alert', 'remove'], /Missing the argument <id>/],
    [['alert', 'remove', 'abc'], /"abc" is not an alert rule id/],
    [['alert', 'remove', '0'], /"0" is not an alert rule id/],
    [['alert', 'remove', '99999999999999999999'], /is not an alert rule id/],
    [['alert', 'remove', '4242'], /There is no alert rule 4242/],
    [['alert', 'test', '4242'], /There is no alert rule 4242/],
    [['alert', 'test', '1', '2'], /Unexpected argument "2"/],
    [['alert', 'log', 'shop', '--limit', '0'], /--limit must be a whole number from 1 to 1000/],
    [['alert', 'log', 'shop', '--rule', 'x'], /"x" is not an alert rule id/],
  ])('refuses %j in one sentence', async (args, message) => {
    expectOneSentenceError(await run(...args), message)
  })

  it('refuses everything in a data directory with no database, creating none', async () => {
    expectOneSentenceError(await runCliInProcess(['alert', 'list', 'shop'], join(dir.path, 'nothing-here')), /There is no Tacit database/)
  })

  it('sends a signed test payload and reports the receiver\'s answer; the delivery log shows it', async () => {
    const rule = parseJson<RuleJson>(await run('alert', 'add', 'shop', '--on', 'new-issue', '--url', `${receiver.url}/test-hook`, '--json'))
    receiver.setSecret(rule.secret!)
    const before = receiver.requests.length
    expect(expectSuccess(await run('alert', 'test', String(rule.id)))).toMatch(/^Delivered test delivery \d+ to http:\/\/127\.0\.0\.1:\d+\/test-hook: the receiver answered HTTP 200\.\n$/)
    const request = receiver.requests[before]!
    expect(request.verified).toBe(true)
    expect(request.json).toMatchObject({ type: 'alert.test', test: true, app: { name: 'shop' }, rule: { id: rule.id, on: 'new-issue' } })

    receiver.script(['fail'])
    const failed = await run('alert', 'test', String(rule.id))
    expectOneSentenceError(failed, /^tacit: The test delivery \d+ to http:\/\/127\.0\.0\.1:\d+\/test-hook failed: HTTP 500\.\n$/)
    expect(failed.stderr).not.toContain(RECEIVER_SECRET_BODY)

    receiver.script(['redirect'])
    expectOneSentenceError(await run('alert', 'test', String(rule.id)), /failed: HTTP 302: redirect not followed\./)

    const log = parseJson<Array<Record<string, unknown>>>(await run('alert', 'log', 'shop', '--rule', String(rule.id), '--json'))
    expect(log.map((d) => [d.event, d.status, d.attempts, d.last_status, d.last_error])).toEqual([
      ['alert.test', 'failed', 1, 302, 'HTTP 302: redirect not followed'],
      ['alert.test', 'failed', 1, 500, 'HTTP 500'],
      ['alert.test', 'delivered', 1, 200, null],
    ])
    expect(parseJson<unknown[]>(await run('alert', 'log', 'shop', '--limit', '1', '--json'))).toHaveLength(1)
    const table = expectSuccess(await run('alert', 'log', 'shop'))
    expect(table).toMatch(/^ID +RULE +EVENT +ISSUE +STATUS +ATTEMPTS +LAST RESULT +CREATED +NEXT ATTEMPT +DELIVERED\n/)
    expect(table).toMatch(/alert\.test +- +delivered +1 +HTTP 200 /)
    expect(databaseBytes(dataDir).includes(RECEIVER_SECRET_BODY)).toBe(false)
    expectSuccess(await run('alert', 'remove', String(rule.id)))
    expect(expectSuccess(await run('alert', 'log', 'shop'))).toMatch(/^No alert deliveries for "shop"/)
  })

  it('end to end: a running server announces a new issue to the receiver, signed', async () => {
    const serverDir = join(dir.path, 'server')
    const { token } = await createTestApp(serverDir, 'web')
    const added = await runTacit(['alert', 'add', 'web', '--on', 'new-issue', '--url', `${receiver.url}/e2e`, '--json'], { dataDir: serverDir })
    const rule = parseJson<RuleJson>(added)
    receiver.setSecret(rule.secret!)
    receiver.script([], 'ok')
    const before = receiver.requests.length
    const server = await startServerProcess({ dataDir: serverDir })
    try {
      const error = { type: 'error', error: { message: 'x is not a function', type: 'TypeError', stack: 'TypeError: x is not a function\n    at checkout (https://web.example.com/app.js:1:200)' }, view: { id: 'v1', url: 'https://web.example.com/cart' } }
      expect((await ingest(server.url, token, JSON.stringify(error))).status).toBe(202)
      // The dispatcher polls every few seconds: wait for the request rather than for a time.
      await receiver.waitFor(before + 1)
      const request = receiver.requests[before]!
      expect(request.path).toBe('/e2e')
      expect(request.verified).toBe(true)
      expect(request.json).toMatchObject({ type: 'issue.new', app: { name: 'web' }, rule: { id: rule.id }, issue: { kind: 'error', title: 'TypeError: x is not a function', count: 1 } })
      expect(request.body).not.toMatch(/web\.example\.com\/cart|"session"|127\.0\.0\.1/)
    } finally {
      await server.stop()
    }
    const log = parseJson<Array<Record<string, unknown>>>(await runTacit(['alert', 'log', 'web', '--json'], { dataDir: serverDir }))
    expect(log).toMatchObject([{ event: 'issue.new', status: 'delivered', attempts: 1, last_status: 200 }])
  }, 60_000)
})

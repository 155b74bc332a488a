import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MAX_ATTEMPTS, RETRY_DELAYS_MS, startAlertDispatcher, type AlertDispatcher } from '../../src/alerts/startAlertDispatcher.js'
import { DAY_MS } from '../../src/clock.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { runRetention } from '../../src/retention/runRetention.js'
import type { AlertRule, NewAlertRule } from '../../src/store/AlertStore.js'
import type { App, Store } from '../../src/store/Store.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'
import { databaseBytes } from '../support/storedData.js'
import { RECEIVER_SECRET_BODY, startWebhookReceiver, type WebhookReceiver } from './webhookReceiver.js'

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0)
const MINUTE = 60_000
const SECRET = 'tacit_whsec_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG'
const SESSION = '2b7d0a3e-8f1c-4b6a-9d2e-5c4f3a2b1c0d'
const STACK = 'TypeError: boom\n    at checkout (https://shop.example.com/app.3f9a2c1b.js:10:20)'

function failure(receivedAt: number, fields: { fingerprint?: string; title?: string } = {}): StoredEvent {
  return {
    type: 'error',
    error: { message: 'boom', type: 'TypeError', stack: STACK },
    ts: receivedAt,
    received_at: receivedAt,
    release: '1.4.2',
    session: { id: SESSION },
    issue: { fingerprint: fields.fingerprint ?? 'a'.repeat(32), title: fields.title ?? 'TypeError: boom', culprit: 'checkout (app.js)' },
  } as StoredEvent
}

describe('the alert dispatcher, against a real HTTP receiver', () => {
  let temp: TempSqliteStore
  let store: Store
  let receiver: WebhookReceiver
  let now: number
  let logs: string
  let dispatcher: AlertDispatcher | undefined
  let shop: App
  const clock = { now: () => now }

  beforeEach(async () => {
    now = T0
    logs = ''
    temp = await createTempSqliteStore()
    store = temp.store
    receiver = await startWebhookReceiver({ nowSeconds: () => Math.floor(now / 1000) })
    receiver.setSecret(SECRET)
    shop = await store.createApp({ name: 'shop', createdAt: T0, settings: {} })
  })
  afterEach(async () => {
    await dispatcher?.stop()
    dispatcher = undefined
    await receiver.close()
    await temp.cleanup()
  })

  function start(options: { timeoutMs?: number } = {}): AlertDispatcher {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString()
        done()
      },
    })
    dispatcher = startAlertDispatcher({ store, clock, logger: pino({ level: 'info' }, destination), pollMs: 0, ...options })
    return dispatcher
  }
  async function rule(overrides: Partial<NewAlertRule> = {}): Promise<AlertRule> {
    return store.alerts.createRule({ appId: shop.id, kind: 'new-issue', url: `${receiver.url}/hook`, format: 'json', threshold: null, windowMinutes: null, secret: SECRET, createdAt: T0, ...overrides })
  }
  async function write(events: StoredEvent[]): Promise<void> {
    expect(await store.writeBatches([{ appId: shop.id, day: '2024-05-01', events, dropped: {} }])).toEqual([undefined])
  }
  async function onlyDelivery() {
    const deliveries = await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })
    expect(deliveries).toHaveLength(1)
    return deliveries[0]!
  }

  it('posts a signed JSON payload of issue-level fields only for a new issue, and logs it as delivered', async () => {
    const r = await rule()
    await write([failure(T0), failure(T0 + 1)])
    // Queued when the group's latest event was received.
    now = T0 + 1
    const report = await start().runOnce()
    expect(report).toMatchObject({ delivered: 1, retrying: 0, failed: 0, skipped: 0 })
    expect(receiver.requests).toHaveLength(1)
    const [request] = receiver.requests
    expect(request!.verified).toBe(true)
    expect(request!.path).toBe('/hook')
    expect(request!.headers['content-type']).toBe('application/json')
    expect(request!.headers['x-tacit-timestamp']).toBe(String(T0 / 1000))
    expect(request!.headers['x-tacit-signature']).toMatch(/^v1=[0-9a-f]{64}$/)
    const delivery = await onlyDelivery()
    expect(request!.headers['x-tacit-delivery']).toBe(String(delivery.id))
    expect(request!.headers['x-tacit-event']).toBe('issue.new')
    const [issue] = await store.listIssues({ appId: shop.id })
    expect(request!.json).toEqual({
      type: 'issue.new',
      delivery_id: delivery.id,
      created_at: new Date(T0 + 1).toISOString(),
      app: { id: shop.id, name: 'shop' },
      rule: { id: r.id, on: 'new-issue' },
      issue: {
        id: issue!.id,
        kind: 'error',
        title: 'TypeError: boom',
        culprit: 'checkout (app.js)',
        type: 'TypeError',
        status: 'open',
        count: 2,
        sessions: 1,
        first_seen: new Date(T0).toISOString(),
        last_seen: new Date(T0 + 1).toISOString(),
        regressed_at: null,
        first_release: '1.4.2',
        last_release: '1.4.2',
      },
    })
    // Never an event's content or a session id.
    expect(request!.body).not.toContain(SESSION)
    expect(request!.body).not.toContain('app.3f9a2c1b.js')
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200, lastError: null, deliveredAt: T0 + 1, nextAttemptAt: null })
    // Logs name ids, never the URL (its path may be a secret) or the title.
    expect(logs).toContain('alert delivered')
    expect(logs).not.toContain(receiver.url)
    expect(logs).not.toContain('TypeError: boom')
  })

  it('sends a Slack payload in which a hostile title can neither ping nor forge a link', async () => {
    await rule({ format: 'slack' })
    await write([failure(T0, { title: 'Error: <!channel> see <https://evil.example|the docs> & <@U123>' })])
    await start().runOnce()
    const [request] = receiver.requests
    expect(request!.verified).toBe(true)
    const body = request!.json as { text: string; blocks: Array<{ type: string; text?: { text: string }; elements?: Array<{ text: string }> }> }
    expect(body.text).toBe('New issue in shop: Error: &lt;!channel&gt; see &lt;https://evil.example|the docs&gt; &amp; &lt;@U123&gt;')
    expect(body.blocks[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '*New issue in shop*\nError: &lt;!channel&gt; see &lt;https://evil.example|the docs&gt; &amp; &lt;@U123&gt;' } })
    expect(body.blocks[1]!.elements![0]!.text).toMatch(/^checkout \(app\.js\) · 1 event · 1 session · release 1\.4\.2 · issue \d+$/)
    expect(request!.body).not.toMatch(/<[!@h]/)
  })

  it('retries a failing receiver with backoff on the clock, then delivers; the receiver\'s body is never stored', async () => {
    await rule()
    receiver.script(['fail', 'fail'])
    await write([failure(T0)])
    const d = start()
    expect(await d.runOnce()).toMatchObject({ retrying: 1 })
    expect(await onlyDelivery()).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500, lastError: 'HTTP 500', nextAttemptAt: T0 + RETRY_DELAYS_MS[0] })
    // Not due yet: nothing is sent.
    now = T0 + RETRY_DELAYS_MS[0] - 1
    expect(await d.runOnce()).toMatchObject({ delivered: 0, retrying: 0 })
    expect(receiver.requests).toHaveLength(1)
    now = T0 + RETRY_DELAYS_MS[0]
    expect(await d.runOnce()).toMatchObject({ retrying: 1 })
    expect(await onlyDelivery()).toMatchObject({ attempts: 2, nextAttemptAt: now + RETRY_DELAYS_MS[1] })
    now += RETRY_DELAYS_MS[1]
    expect(await d.runOnce()).toMatchObject({ delivered: 1 })
    expect(await onlyDelivery()).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200, lastError: null, deliveredAt: now })
    expect(receiver.requests.map((r) => r.headers['x-tacit-delivery'])).toEqual(Array(3).fill(String((await onlyDelivery()).id)))
    expect(receiver.requests.every((r) => r.verified)).toBe(true)
    await store.close()
    expect(databaseBytes(temp.dir).includes(RECEIVER_SECRET_BODY)).toBe(false)
  })

  it(`gives up after ${MAX_ATTEMPTS} attempts and marks the delivery failed`, async () => {
    await rule()
    receiver.script([], 'fail')
    await write([failure(T0)])
    const d = start()
    for (const delay of RETRY_DELAYS_MS) {
      expect(await d.runOnce()).toMatchObject({ retrying: 1 })
      now += delay
    }
    expect(await d.runOnce()).toMatchObject({ failed: 1 })
    expect(await onlyDelivery()).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, lastStatus: 500, lastError: 'HTTP 500', nextAttemptAt: null })
    now += DAY_MS
    expect(await d.runOnce()).toMatchObject({ failed: 0, retrying: 0 })
    expect(receiver.requests).toHaveLength(MAX_ATTEMPTS)
    expect(logs).toContain('alert delivery failed for good')
  })

  it('times out a receiver that hangs', async () => {
    await rule()
    receiver.script(['hang'])
    await write([failure(T0)])
    expect(await start({ timeoutMs: 200 }).runOnce()).toMatchObject({ retrying: 1 })
    expect(await onlyDelivery()).toMatchObject({ status: 'pending', lastStatus: null, lastError: 'timeout: no answer in time' })
  })

  it('does not follow a redirect', async () => {
    await rule()
    receiver.script(['redirect'])
    await write([failure(T0)])
    expect(await start().runOnce()).toMatchObject({ retrying: 1 })
    expect(await onlyDelivery()).toMatchObject({ lastStatus: 302, lastError: 'HTTP 302: redirect not followed' })
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hook'])
  })

  it('says "connection failed" in its own words when nothing listens', async () => {
    const closed = await startWebhookReceiver({ nowSeconds: () => 0 })
    await closed.close()
    await rule({ url: `${closed.url}/secret-path-token` })
    await write([failure(T0)])
    expect(await start().runOnce()).toMatchObject({ retrying: 1 })
    expect(await onlyDelivery()).toMatchObject({ lastStatus: null, lastError: 'connection failed' })
    expect(logs).not.toContain('secret-path-token')
  })

  it('skips an issue that was ignored before its alert went out, and deliveries of a disabled rule', async () => {
    const r = await rule()
    await write([failure(T0)])
    const [issue] = await store.listIssues({ appId: shop.id })
    await store.setIssueStatus(issue!.id, 'ignored', T0)
    expect(await start().runOnce()).toMatchObject({ skipped: 1 })
    expect(await onlyDelivery()).toMatchObject({ status: 'skipped', lastError: 'issue ignored', attempts: 1 })

    await store.alerts.addDelivery({ ruleId: r.id, event: 'issue.new', issueId: issue!.id, errorCount: null, createdAt: now, dueAt: now })
    await store.setIssueStatus(issue!.id, 'open', now)
    await store.alerts.setRuleEnabled(r.id, false)
    expect(await dispatcher!.runOnce()).toMatchObject({ skipped: 1 })
    expect(receiver.requests).toEqual([])
  })

  it('announces a regression', async () => {
    await rule({ kind: 'regression' })
    await write([failure(T0)])
    const [issue] = await store.listIssues({ appId: shop.id })
    await store.setIssueStatus(issue!.id, 'resolved', T0 + 1)
    now = T0 + MINUTE
    await write([{ ...failure(now), release: '1.5.0' } as StoredEvent])
    expect(await start().runOnce()).toMatchObject({ delivered: 1 })
    expect(receiver.requests[0]!.json).toMatchObject({ type: 'issue.regressed', issue: { id: issue!.id, status: 'open', regressed_at: new Date(now).toISOString(), last_release: '1.5.0' } })
  })

  it('fires an error-rate rule once when the count reaches the threshold, and again only after it dropped below, across restarts', async () => {
    const r = await rule({ kind: 'error-rate', threshold: 3, windowMinutes: 5 })
    await write([failure(T0), failure(T0 + 1)])
    const d = start()
    expect(await d.runOnce()).toMatchObject({ spikes: 0 })
    now = T0 + MINUTE
    await write([failure(now)])
    expect(await d.runOnce()).toMatchObject({ spikes: 1, delivered: 1 })
    expect(receiver.requests[0]!.json).toEqual({
      type: 'error_rate.spike',
      delivery_id: expect.any(Number),
      created_at: new Date(now).toISOString(),
      app: { id: shop.id, name: 'shop' },
      rule: { id: r.id, on: 'error-rate' },
      error_rate: { count: 3, counted_up_to: 30, threshold: 3, window_minutes: 5, since: new Date(now - 5 * MINUTE).toISOString(), until: new Date(now).toISOString() },
    })
    // Still above, and evaluated at most once a minute.
    await write([failure(now)])
    expect(await d.runOnce()).toMatchObject({ spikes: 0 })
    now += MINUTE
    expect(await d.runOnce()).toMatchObject({ spikes: 0 })
    // A restart remembers that it fired.
    await d.stop()
    const again = start()
    expect(await again.runOnce()).toMatchObject({ spikes: 0 })
    // The window moves past the errors: re-armed, and a new burst fires again.
    now += 10 * MINUTE
    expect(await again.runOnce()).toMatchObject({ spikes: 0 })
    expect((await store.alerts.getRule(r.id))?.firing).toBe(false)
    now += MINUTE
    await write([failure(now), failure(now), failure(now)])
    expect(await again.runOnce()).toMatchObject({ spikes: 1 })
    expect(receiver.requests).toHaveLength(2)
  })

  it('does not count the errors of ignored issues towards an error rate', async () => {
    await rule({ kind: 'error-rate', threshold: 2, windowMinutes: 5 })
    await write([failure(T0, { fingerprint: 'b'.repeat(32) })])
    const noisy = (await store.listIssues({ appId: shop.id }))[0]!
    await store.setIssueStatus(noisy.id, 'ignored', T0)
    await write([failure(T0, { fingerprint: 'b'.repeat(32) }), failure(T0, { fingerprint: 'b'.repeat(32) }), failure(T0)])
    expect(await start().runOnce()).toMatchObject({ spikes: 0 })
    now += MINUTE
    await write([failure(now)])
    expect(await dispatcher!.runOnce()).toMatchObject({ spikes: 1 })
  })

  it('gives an attempt cut short by stop() back, due again at once', async () => {
    await rule()
    receiver.script(['hang'])
    await write([failure(T0)])
    const d = start({ timeoutMs: 60_000 })
    const running = d.runOnce()
    await receiver.waitFor(1)
    await d.stop()
    dispatcher = undefined
    expect(await running).toMatchObject({ retrying: 1 })
    expect(await onlyDelivery()).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T0, lastError: 'interrupted: the server was stopping' })
  })

  it('keeps the delivery log 14 days (retention)', async () => {
    await rule()
    await write([failure(T0)])
    await start().runOnce()
    now = T0 + 14 * DAY_MS - 1
    expect((await runRetention({ store, clock })).alertDeliveriesDeleted).toBe(0)
    expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toHaveLength(1)
    now = T0 + 14 * DAY_MS + 1
    expect((await runRetention({ store, clock })).alertDeliveriesDeleted).toBe(1)
    expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toEqual([])
  })
})

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import type { NewAlertRule } from '../../src/store/AlertStore.js'
import type { IngestBatch, Store } from '../../src/store/Store.js'

/**
 * The contract of `store.alerts` (store/AlertStore.ts), with the outbox that `writeBatches` fills. It uses the
 * Store interface only, so the PostgreSQL adapter runs it unchanged.
 */
export interface AlertStoreUnderTest {
  store: Store
  cleanup(): Promise<void>
}

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0)
const MINUTE = 60_000

const FP_A = 'a'.repeat(32)
const FP_B = 'b'.repeat(32)

function failure(fingerprint: string, receivedAt: number, release?: string): StoredEvent {
  return {
    type: 'error',
    error: { message: 'boom', type: 'TypeError' },
    ts: receivedAt,
    received_at: receivedAt,
    ...(release === undefined ? {} : { release }),
    issue: { fingerprint, title: 'TypeError: boom', culprit: 'f (app.js)' },
  } as StoredEvent
}

function reported(fingerprint: string, receivedAt: number): StoredEvent {
  return {
    type: 'report',
    report: { type: 'csp-violation', body: { effectiveDirective: 'img-src' } },
    ts: receivedAt,
    received_at: receivedAt,
    issue: { fingerprint, title: 'CSP img-src blocked https://cdn.example', culprit: null },
  } as unknown as StoredEvent
}

/** An event no store can serialize: makes its batch fail whole. */
function unserializable(): StoredEvent {
  const context: Record<string, unknown> = {}
  context.self = context
  return { type: 'custom', custom: { name: 'broken' }, ts: T0, received_at: T0, context } as unknown as StoredEvent
}

function batch(appId: number, events: StoredEvent[]): IngestBatch {
  return { appId, day: '2024-05-01', events, dropped: {} }
}

export function describeAlertStoreContract(name: string, createStore: () => Promise<AlertStoreUnderTest>): void {
  describe(`AlertStore contract: ${name}`, () => {
    let subject: AlertStoreUnderTest
    let store: Store

    beforeEach(async () => {
      subject = await createStore()
      store = subject.store
    })
    afterEach(async () => subject.cleanup())

    const app = async (appName: string) => store.createApp({ name: appName, createdAt: T0, settings: {} })
    const rule = async (appId: number, overrides: Partial<NewAlertRule> = {}) =>
      store.alerts.createRule({
        appId,
        kind: 'new-issue',
        url: 'https://hooks.example.com/tacit',
        format: 'json',
        threshold: null,
        windowMinutes: null,
        secret: 'tacit_whsec_test',
        createdAt: T0,
        ...overrides,
      })
    const writeOk = async (batches: IngestBatch[]) => expect(await store.writeBatches(batches)).toEqual(batches.map(() => undefined))

    describe('rules', () => {
      it('creates, gets, lists by app and kind, and removes rules', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        const a = await rule(shop.id)
        const b = await rule(shop.id, { kind: 'error-rate', threshold: 10, windowMinutes: 5, format: 'slack' })
        const c = await rule(blog.id, { kind: 'regression' })
        expect(a).toEqual({
          id: expect.any(Number),
          appId: shop.id,
          kind: 'new-issue',
          url: 'https://hooks.example.com/tacit',
          format: 'json',
          threshold: null,
          windowMinutes: null,
          secret: 'tacit_whsec_test',
          enabled: true,
          createdAt: T0,
          firing: false,
        })
        expect(await store.alerts.getRule(b.id)).toEqual(b)
        expect(await store.alerts.listRules({ appId: shop.id })).toEqual([a, b])
        expect(await store.alerts.listRules({ kind: 'error-rate' })).toEqual([b])
        expect(await store.alerts.listRules()).toEqual([a, b, c])
        expect(await store.alerts.removeRule(a.id)).toBe(true)
        expect(await store.alerts.removeRule(a.id)).toBe(false)
        expect(await store.alerts.getRule(a.id)).toBeUndefined()
        expect(await store.alerts.getRule(424242)).toBeUndefined()
      })

      it('removes a rule with its delivery log, leaving other rules\' deliveries', async () => {
        const shop = await app('shop')
        const a = await rule(shop.id)
        const b = await rule(shop.id)
        await writeOk([batch(shop.id, [failure(FP_A, T0)])])
        expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toHaveLength(2)
        await store.alerts.removeRule(a.id)
        expect((await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).map((d) => d.ruleId)).toEqual([b.id])
      })
    })

    describe('the outbox filled by writeBatches', () => {
      it('adds one pending issue.new delivery per enabled new-issue rule of the app when an issue is created, and only then', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        const onNew = await rule(shop.id)
        await rule(shop.id, { kind: 'regression' })
        await rule(blog.id)
        await writeOk([batch(shop.id, [failure(FP_A, T0), failure(FP_A, T0 + 1)])])
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 2)])])
        const [issue] = await store.listIssues({ appId: shop.id })
        const deliveries = await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })
        expect(deliveries).toEqual([
          {
            id: expect.any(Number),
            appId: shop.id,
            ruleId: onNew.id,
            event: 'issue.new',
            issueId: issue!.id,
            errorCount: null,
            status: 'pending',
            attempts: 0,
            lastStatus: null,
            lastError: null,
            nextAttemptAt: T0 + 1,
            createdAt: T0 + 1,
            deliveredAt: null,
          },
        ])
        expect(await store.alerts.listDeliveries({ appId: blog.id, limit: 10 })).toEqual([])
      })

      it('announces new browser-report issues too', async () => {
        const shop = await app('shop')
        await rule(shop.id)
        await writeOk([batch(shop.id, [reported(FP_B, T0)])])
        const deliveries = await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })
        expect(deliveries.map((d) => d.event)).toEqual(['issue.new'])
      })

      it('costs nothing and adds nothing for apps without rules', async () => {
        const shop = await app('shop')
        await writeOk([batch(shop.id, [failure(FP_A, T0), failure(FP_B, T0)])])
        expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toEqual([])
      })

      it('adds an issue.regressed delivery when a resolved issue re-opens, not when it only keeps counting', async () => {
        const shop = await app('shop')
        const onRegression = await rule(shop.id, { kind: 'regression' })
        await writeOk([batch(shop.id, [failure(FP_A, T0, '1.0')])])
        const [issue] = await store.listIssues({ appId: shop.id })
        await store.setIssueStatus(issue!.id, 'resolved', T0 + MINUTE)
        // An old release still has the bug: counts, does not re-open.
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 2 * MINUTE, '1.0')])])
        expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toEqual([])
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 3 * MINUTE, '1.1'), failure(FP_A, T0 + 3 * MINUTE + 1, '1.1')])])
        const deliveries = await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })
        expect(deliveries).toMatchObject([{ ruleId: onRegression.id, event: 'issue.regressed', issueId: issue!.id, status: 'pending', nextAttemptAt: T0 + 3 * MINUTE + 1 }])
        // Open again: more events of the new release do not regress it again.
        await writeOk([batch(shop.id, [failure(FP_A, T0 + 4 * MINUTE, '1.2')])])
        expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toHaveLength(1)
      })

      it('adds nothing when the batch that would create the issue is not stored', async () => {
        const shop = await app('shop')
        await rule(shop.id)
        const results = await store.writeBatches([batch(shop.id, [failure(FP_A, T0), unserializable()])])
        expect(results[0]).toBeInstanceOf(Error)
        expect(await store.listIssues({ appId: shop.id })).toEqual([])
        expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toEqual([])
      })

      it('skips disabled rules, and counts them again once enabled', async () => {
        const shop = await app('shop')
        const r = await rule(shop.id)
        expect(await store.alerts.setRuleEnabled(r.id, false)).toBe(true)
        expect((await store.alerts.getRule(r.id))?.enabled).toBe(false)
        expect(await store.alerts.listRules({ appId: shop.id, enabledOnly: true })).toEqual([])
        await writeOk([batch(shop.id, [failure(FP_A, T0)])])
        expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toEqual([])
        await store.alerts.setRuleEnabled(r.id, true)
        await writeOk([batch(shop.id, [failure(FP_B, T0)])])
        expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toHaveLength(1)
        expect(await store.alerts.setRuleEnabled(424242, true)).toBe(false)
      })
    })

    describe('deliveries', () => {
      it('claims due deliveries earliest first with a lease and one more attempt; a claimed one is not claimed again', async () => {
        const shop = await app('shop')
        const r = await rule(shop.id)
        const later = await store.alerts.addDelivery({ ruleId: r.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: T0, dueAt: T0 + 10 })
        const sooner = await store.alerts.addDelivery({ ruleId: r.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: T0, dueAt: T0 + 5 })
        const notDue = await store.alerts.addDelivery({ ruleId: r.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: T0, dueAt: T0 + 50 })
        const manual = await store.alerts.addDelivery({ ruleId: r.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: T0, dueAt: null })
        expect(later).toMatchObject({ appId: shop.id, status: 'pending', attempts: 0, nextAttemptAt: T0 + 10 })
        const claimed = await store.alerts.claimDue({ now: T0 + 20, leaseUntil: T0 + 1000, limit: 10 })
        expect(claimed.map((d) => d.id)).toEqual([sooner.id, later.id])
        expect(claimed[0]).toMatchObject({ attempts: 1, nextAttemptAt: T0 + 1000, status: 'pending' })
        expect(await store.alerts.claimDue({ now: T0 + 20, leaseUntil: T0 + 1000, limit: 10 })).toEqual([])
        expect(await store.alerts.claimDue({ now: T0 + 60, leaseUntil: T0 + 1000, limit: 1 })).toMatchObject([{ id: notDue.id }])
        // A lease that ran out (the process died mid-send) makes it due again, counting the lost attempt;
        // equally due deliveries go in the order they were added.
        expect((await store.alerts.claimDue({ now: T0 + 1000, leaseUntil: T0 + 2000, limit: 10 })).map((d) => [d.id, d.attempts])).toEqual([
          [later.id, 2],
          [sooner.id, 2],
          [notDue.id, 2],
        ])
        expect((await store.alerts.getDelivery(manual.id))?.attempts).toBe(0)
        const sentByCaller = await store.alerts.addDelivery({ ruleId: r.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: T0, dueAt: null, attempts: 1 })
        expect(sentByCaller).toMatchObject({ attempts: 1, nextAttemptAt: null, status: 'pending' })
      })

      it('records delivered, retried, failed and skipped outcomes', async () => {
        const shop = await app('shop')
        const r = await rule(shop.id)
        const add = () => store.alerts.addDelivery({ ruleId: r.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: T0, dueAt: T0 })
        const [a, b, c, d] = [await add(), await add(), await add(), await add()]
        await store.alerts.claimDue({ now: T0, leaseUntil: T0 + 100, limit: 10 })
        await store.alerts.finishDelivery(a.id, { status: 'delivered', at: T0 + 5, lastStatus: 204 })
        await store.alerts.finishDelivery(b.id, { status: 'pending', nextAttemptAt: T0 + 30_000, lastStatus: 500, lastError: 'HTTP 500' })
        await store.alerts.finishDelivery(c.id, { status: 'failed', lastStatus: null, lastError: 'timeout: no answer in time' })
        await store.alerts.finishDelivery(d.id, { status: 'skipped', lastStatus: null, lastError: 'issue ignored' })
        expect(await store.alerts.getDelivery(a.id)).toMatchObject({ status: 'delivered', deliveredAt: T0 + 5, lastStatus: 204, lastError: null, nextAttemptAt: null, attempts: 1 })
        expect(await store.alerts.getDelivery(b.id)).toMatchObject({ status: 'pending', nextAttemptAt: T0 + 30_000, lastStatus: 500, lastError: 'HTTP 500', attempts: 1 })
        expect(await store.alerts.getDelivery(c.id)).toMatchObject({ status: 'failed', nextAttemptAt: null, lastError: 'timeout: no answer in time' })
        expect(await store.alerts.getDelivery(d.id)).toMatchObject({ status: 'skipped', nextAttemptAt: null, lastError: 'issue ignored' })
        // An attempt cut short by a shutdown gives its attempt back.
        await store.alerts.finishDelivery(b.id, { status: 'pending', nextAttemptAt: T0, lastStatus: null, lastError: 'interrupted', attempts: 0 })
        expect(await store.alerts.getDelivery(b.id)).toMatchObject({ attempts: 0, nextAttemptAt: T0 })
        expect(await store.alerts.claimDue({ now: T0 + 1, leaseUntil: T0 + 100, limit: 10 })).toMatchObject([{ id: b.id }])
      })

      it('lists an app\'s deliveries newest first, by rule, within a limit', async () => {
        const shop = await app('shop')
        const r1 = await rule(shop.id)
        const r2 = await rule(shop.id)
        const ids = []
        for (const r of [r1, r2, r1]) ids.push((await store.alerts.addDelivery({ ruleId: r.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: T0, dueAt: null })).id)
        expect((await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).map((d) => d.id)).toEqual([...ids].reverse())
        expect((await store.alerts.listDeliveries({ appId: shop.id, limit: 2 })).map((d) => d.id)).toEqual([ids[2], ids[1]])
        expect((await store.alerts.listDeliveries({ appId: shop.id, ruleId: r1.id, limit: 10 })).map((d) => d.id)).toEqual([ids[2], ids[0]])
        await expect(store.alerts.addDelivery({ ruleId: 424242, event: 'alert.test', issueId: null, errorCount: null, createdAt: T0, dueAt: null })).rejects.toThrow()
      })

      it('deletes deliveries created before a time, and an app\'s whole log on purge', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        const s = await rule(shop.id)
        const b = await rule(blog.id)
        for (const [r, at] of [[s, T0], [s, T0 + 10], [b, T0], [b, T0 + 10]] as const) {
          await store.alerts.addDelivery({ ruleId: r.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: at, dueAt: null })
        }
        expect(await store.alerts.deleteDeliveriesBefore(T0 + 10)).toBe(2)
        expect(await store.alerts.purgeApp(shop.id)).toBe(1)
        expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toEqual([])
        expect(await store.alerts.listDeliveries({ appId: blog.id, limit: 10 })).toHaveLength(1)
        // Rules are configuration: a purge keeps them.
        expect(await store.alerts.getRule(s.id)).toBeDefined()
        await store.purgeApp(blog.id)
        expect(await store.alerts.listDeliveries({ appId: blog.id, limit: 10 })).toEqual([])
      })
    })

    describe('error-rate state', () => {
      it('sets firing by compare-and-set, enqueueing one spike delivery only when it turns true', async () => {
        const shop = await app('shop')
        const r = await rule(shop.id, { kind: 'error-rate', threshold: 3, windowMinutes: 5 })
        const spike = await store.alerts.setRuleFiring(r.id, true, { at: T0, errorCount: 7 })
        expect(spike).toMatchObject({ ruleId: r.id, appId: shop.id, event: 'error_rate.spike', errorCount: 7, issueId: null, status: 'pending', nextAttemptAt: T0, createdAt: T0 })
        expect((await store.alerts.getRule(r.id))?.firing).toBe(true)
        expect(await store.alerts.setRuleFiring(r.id, true, { at: T0 + 1, errorCount: 9 })).toBeUndefined()
        expect(await store.alerts.setRuleFiring(r.id, false, { at: T0 + 2, errorCount: 0 })).toBeUndefined()
        expect((await store.alerts.getRule(r.id))?.firing).toBe(false)
        expect(await store.alerts.listDeliveries({ appId: shop.id, limit: 10 })).toHaveLength(1)
        expect(await store.alerts.setRuleFiring(r.id, true, { at: T0 + 3, errorCount: 4 })).toBeDefined()
      })

      it('counts an app\'s error events received in a window, without ignored issues, up to a cap', async () => {
        const shop = await app('shop')
        const blog = await app('blog')
        await writeOk([
          batch(shop.id, [failure(FP_A, T0), failure(FP_A, T0 + MINUTE), failure(FP_B, T0 + MINUTE), failure(FP_B, T0 + 2 * MINUTE), reported(FP_A.replace(/a/g, 'c'), T0 + MINUTE)]),
          batch(blog.id, [failure(FP_A, T0 + MINUTE)]),
        ])
        expect(await store.alerts.countErrors({ appId: shop.id, since: T0, until: T0 + 2 * MINUTE + 1, cap: 100 })).toBe(4)
        expect(await store.alerts.countErrors({ appId: shop.id, since: T0 + MINUTE, until: T0 + 2 * MINUTE, cap: 100 })).toBe(2)
        expect(await store.alerts.countErrors({ appId: shop.id, since: T0, until: T0 + 3 * MINUTE, cap: 3 })).toBe(3)
        const b = (await store.listIssues({ appId: shop.id })).find((i) => i.fingerprint === FP_B)!
        await store.setIssueStatus(b.id, 'ignored', T0)
        expect(await store.alerts.countErrors({ appId: shop.id, since: T0, until: T0 + 3 * MINUTE, cap: 100 })).toBe(2)
        expect(await store.alerts.countErrors({ appId: 424242, since: T0, until: T0 + 3 * MINUTE, cap: 100 })).toBe(0)
      })
    })
  })
}

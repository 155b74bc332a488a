import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { describeAlertStoreContract } from './alertStoreContract.js'
import { createTempPostgresNodes, createTempPostgresStore, type TempPostgresNodes } from './tempPostgresStore.js'

describeAlertStoreContract('postgres', () => createTempPostgresStore())

const T0 = Date.UTC(2024, 4, 1, 12)

// Two stores on one database are two Tacit nodes, each with its evaluator and dispatcher.
describe('PostgreSQL alerts across nodes', () => {
  let temp: TempPostgresNodes
  beforeEach(async () => {
    temp = await createTempPostgresNodes()
  })
  afterEach(async () => temp.cleanup())

  const newRule = async (kind: 'new-issue' | 'error-rate') => {
    const app = await temp.store.createApp({ name: `app-${kind}`, createdAt: T0, settings: {} })
    return temp.store.alerts.createRule({
      appId: app.id,
      kind,
      url: 'https://hooks.example.com/tacit',
      format: 'json',
      threshold: kind === 'error-rate' ? 3 : null,
      windowMinutes: kind === 'error-rate' ? 5 : null,
      secret: 'tacit_whsec_test',
      createdAt: T0,
    })
  }

  it('claims each due delivery once when dispatchers on two nodes claim at once', async () => {
    const rule = await newRule('new-issue')
    const dueAt = new Map<number, number>()
    for (let i = 0; i < 40; i++) {
      const due = T0 + (i % 7)
      dueAt.set((await temp.store.alerts.addDelivery({ ruleId: rule.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: T0, dueAt: due })).id, due)
    }
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? temp.other : temp.store).alerts.claimDue({ now: T0 + 10, leaseUntil: T0 + 1000, limit: 6 })),
    )
    const claimed = claims.flat()
    expect(claimed.map((d) => d.id).sort((a, b) => a - b)).toEqual([...dueAt.keys()].sort((a, b) => a - b))
    expect(claimed.every((d) => d.attempts === 1 && d.nextAttemptAt === T0 + 1000)).toBe(true)
    // Each claim lists its deliveries earliest due first, then in the order they were added.
    for (const claim of claims) {
      const ids = claim.map((d) => d.id)
      expect(ids).toEqual([...ids].sort((a, b) => dueAt.get(a)! - dueAt.get(b)! || a - b))
    }
  })

  it('enqueues one spike when evaluators on two nodes turn the same rule to firing at once', async () => {
    const rule = await newRule('error-rate')
    for (let round = 0; round < 10; round++) {
      const spikes = await Promise.all([
        temp.store.alerts.setRuleFiring(rule.id, true, { at: T0 + round, errorCount: 5 }),
        temp.other.alerts.setRuleFiring(rule.id, true, { at: T0 + round, errorCount: 6 }),
      ])
      expect(spikes.filter((d) => d !== undefined)).toHaveLength(1)
      await temp.store.alerts.setRuleFiring(rule.id, false, { at: T0 + round, errorCount: 0 })
    }
    expect(await temp.store.alerts.listDeliveries({ appId: rule.appId, limit: 100 })).toHaveLength(10)
  })
})

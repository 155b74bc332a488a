import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ClientRateLimitSettings } from '../../src/apps/createClientRateLimits.js'
import type { LimitedRequest, RequestLimits } from '../../src/apps/RequestLimits.js'
import { LIMITS } from '../../src/protocol/limits.js'

export interface RequestLimitsUnderTest {
  limits: RequestLimits
  cleanup(): Promise<void>
}

export interface LimitsFactoryInput {
  clock: { now(): number }
  random: { bytes(n: number): Buffer }
  settings: ClientRateLimitSettings
}

/**
 * What every RequestLimits passes (src/apps/RequestLimits.ts): the in-memory one and the Redis one
 * (test/unit/requestLimits.test.ts). Times come from a fake clock; nothing here sleeps.
 */
export function describeRequestLimitsContract(name: string, create: (input: LimitsFactoryInput) => Promise<RequestLimitsUnderTest>): void {
  describe(`RequestLimits contract: ${name}`, () => {
    let now: number
    const clock = { now: () => now }
    const random = { bytes: (n: number) => Buffer.alloc(n, 7) }
    const opened: RequestLimitsUnderTest[] = []
    beforeEach(() => {
      now = Date.UTC(2024, 4, 1, 12)
    })
    afterEach(async () => {
      for (const subject of opened.splice(0)) await subject.cleanup()
    })
    async function limitsWith(settings: ClientRateLimitSettings): Promise<RequestLimits> {
      const subject = await create({ clock, random, settings })
      opened.push(subject)
      return subject.limits
    }
    const request = (overrides: Partial<LimitedRequest> = {}): LimitedRequest => ({
      ip: '203.0.113.5',
      token: 'tc_a',
      appId: 1,
      eventsPerSecond: 0,
      events: 1,
      ...overrides,
    })
    async function takeMany(limits: RequestLimits, count: number, overrides: Partial<LimitedRequest> = {}) {
      const answers = []
      for (let i = 0; i < count; i++) answers.push(await limits.take(request(overrides)))
      return answers
    }

    it('lets a burst of twice the rate through per address, then refuses with the seconds to wait', async () => {
      const limits = await limitsWith({ requestsPerIp: 2, requestsPerToken: 0 })
      const answers = await takeMany(limits, 5)
      expect(answers.map((a) => a.ok)).toEqual([true, true, true, true, false])
      expect(answers[4]).toEqual({ ok: false, limit: 'ip', retryAfterSeconds: 1 })
      expect((await limits.take(request({ ip: '203.0.113.6' }))).ok).toBe(true)
      now += 1000
      expect((await limits.take(request())).ok).toBe(true)
    })

    it('limits a token across addresses', async () => {
      const limits = await limitsWith({ requestsPerIp: 0, requestsPerToken: 1 })
      expect(await limits.take(request({ ip: 'a' }))).toEqual({ ok: true })
      expect(await limits.take(request({ ip: 'b' }))).toEqual({ ok: true })
      expect(await limits.take(request({ ip: 'c' }))).toEqual({ ok: false, limit: 'token', retryAfterSeconds: 1 })
      expect(await limits.take(request({ ip: 'c', token: 'tc_other' }))).toEqual({ ok: true })
    })

    it("limits an app's events: a burst of twice its rate, never less than one full request, refilled by the clock", async () => {
      const limits = await limitsWith({ requestsPerIp: 0, requestsPerToken: 0 })
      const app = { eventsPerSecond: 1000, events: 500 }
      for (let i = 0; i < 4; i++) expect(await limits.take(request(app))).toEqual({ ok: true })
      expect(await limits.take(request({ ...app, events: 1 }))).toEqual({ ok: false, limit: 'app', retryAfterSeconds: 1 })
      expect(await limits.take(request({ ...app, appId: 2 }))).toEqual({ ok: true })
      now += 100 // 100 ms at 1000/s: 100 events
      expect(await limits.take(request({ ...app, events: 100 }))).toEqual({ ok: true })
      expect((await limits.take(request({ ...app, events: 1 }))).ok).toBe(false)
      now += 60_000 // a minute refills only up to the burst
      expect(await limits.take(request({ ...app, events: 2000 }))).toEqual({ ok: true })
      expect((await limits.take(request({ ...app, events: 1 }))).ok).toBe(false)

      const slow = { appId: 3, eventsPerSecond: 1 }
      expect(await limits.take(request({ ...slow, events: LIMITS.eventsPerRequest }))).toEqual({ ok: true })
      expect(await limits.take(request({ ...slow, events: 1 }))).toEqual({ ok: false, limit: 'app', retryAfterSeconds: 1 })
    })

    it('says how long to wait for what is missing', async () => {
      const limits = await limitsWith({ requestsPerIp: 0, requestsPerToken: 0 })
      expect(await limits.take(request({ eventsPerSecond: 10, events: 500 }))).toEqual({ ok: true })
      expect(await limits.take(request({ eventsPerSecond: 10, events: 100 }))).toEqual({ ok: false, limit: 'app', retryAfterSeconds: 10 })
    })

    it('checks the address, then the token, then the app; a refusal leaves later buckets untouched', async () => {
      const limits = await limitsWith({ requestsPerIp: 1, requestsPerToken: 1 })
      const app = { eventsPerSecond: 1, events: 1 } // a bucket of one full request: 500 events
      expect(await limits.take(request({ ...app, ip: 'a' }))).toEqual({ ok: true })
      expect(await limits.take(request({ ...app, ip: 'a' }))).toEqual({ ok: true })
      // The address's burst is spent: refused by it, before the token or the app pays.
      expect(await limits.take(request({ ...app, ip: 'a' }))).toEqual({ ok: false, limit: 'ip', retryAfterSeconds: 1 })
      // Another address pays, the token's burst is spent: refused by the token, and the app is not charged.
      expect(await limits.take(request({ ...app, ip: 'b' }))).toEqual({ ok: false, limit: 'token', retryAfterSeconds: 1 })
      // So the app's bucket holds exactly 500 - 2 events.
      expect(await limits.take(request({ ...app, ip: 'c', token: 'tc_b', events: 498 }))).toEqual({ ok: true })
      expect(await limits.take(request({ ...app, ip: 'd', token: 'tc_c', events: 1 }))).toEqual({ ok: false, limit: 'app', retryAfterSeconds: 1 })
    })

    it('lets everything through when every limit is off', async () => {
      const limits = await limitsWith({ requestsPerIp: 0, requestsPerToken: 0 })
      for (let i = 0; i < 200; i++) expect(await limits.take(request({ events: LIMITS.eventsPerRequest }))).toEqual({ ok: true })
    })
  })
}

import { describe, expect, it } from 'vitest'
import { createClientRateLimits } from '../../src/apps/createClientRateLimits.js'

const random = { bytes: (n: number) => Buffer.alloc(n, 3) }

describe('createClientRateLimits', () => {
  it('lets a burst of twice the rate through per address, then refuses with the seconds to wait', () => {
    let now = 1_000_000
    const limits = createClientRateLimits({ clock: { now: () => now }, random, settings: { requestsPerIp: 2, requestsPerToken: 0 } })
    const answers = Array.from({ length: 5 }, () => limits.take('203.0.113.5', 'tc_a'))
    expect(answers.map((a) => a.ok)).toEqual([true, true, true, true, false])
    expect(answers[4]).toEqual({ ok: false, limit: 'ip', retryAfterSeconds: 1 })
    expect(limits.take('203.0.113.6', 'tc_a').ok).toBe(true) // another address has its own bucket
    now += 1000
    expect(limits.take('203.0.113.5', 'tc_a').ok).toBe(true) // refilled at the rate
  })

  it('limits a token across addresses, and 0 turns a limit off', () => {
    const limits = createClientRateLimits({ clock: { now: () => 0 }, random, settings: { requestsPerIp: 0, requestsPerToken: 1 } })
    expect([limits.take('a', 'tc_x').ok, limits.take('b', 'tc_x').ok, limits.take('c', 'tc_x')]).toEqual([true, true, { ok: false, limit: 'token', retryAfterSeconds: 1 }])
    const off = createClientRateLimits({ clock: { now: () => 0 }, random, settings: { requestsPerIp: 0, requestsPerToken: 0 } })
    for (let i = 0; i < 1000; i++) expect(off.take('a', 'tc_x').ok).toBe(true)
  })

  it('stays bounded under a flood of distinct addresses', () => {
    let now = 0
    const limits = createClientRateLimits({ clock: { now: () => now }, random, settings: { requestsPerIp: 5, requestsPerToken: 0 }, maxBuckets: 100 })
    for (let i = 0; i < 10_000; i++) {
      now += 1
      expect(limits.take(`198.51.${i >> 8}.${i & 255}`, 'tc').ok).toBe(true)
    }
  })
})

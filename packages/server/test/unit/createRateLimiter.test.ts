import { describe, expect, it } from 'vitest'
import { createRateLimiter } from '../../src/apps/createRateLimiter.js'
import { LIMITS } from '../../src/protocol/limits.js'

function fakeClock(start = 1_700_000_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

describe('createRateLimiter', () => {
  it('lets everything through when the limit is 0', () => {
    const limiter = createRateLimiter(fakeClock())
    for (let i = 0; i < 1000; i++) expect(limiter.take(1, 0, LIMITS.eventsPerRequest)).toEqual({ ok: true })
  })

  it('allows a burst of twice the rate, then refuses', () => {
    const clock = fakeClock()
    const limiter = createRateLimiter(clock)
    for (let i = 0; i < 4; i++) expect(limiter.take(1, 1000, 500)).toEqual({ ok: true })
    expect(limiter.take(1, 1000, 1)).toEqual({ ok: false, retryAfterSeconds: 1 })
  })

  it('always holds at least one full request, however low the rate', () => {
    const clock = fakeClock()
    const limiter = createRateLimiter(clock)
    expect(limiter.take(1, 1, LIMITS.eventsPerRequest)).toEqual({ ok: true })
    expect(limiter.take(1, 1, 1)).toEqual({ ok: false, retryAfterSeconds: 1 })
  })

  it('refills at the rate as the clock moves, up to the burst', () => {
    const clock = fakeClock()
    const limiter = createRateLimiter(clock)
    expect(limiter.take(1, 1000, 2000)).toEqual({ ok: true })
    expect(limiter.take(1, 1000, 100)).toMatchObject({ ok: false })
    clock.advance(100) // 100 ms at 1000/s: 100 events
    expect(limiter.take(1, 1000, 100)).toEqual({ ok: true })
    expect(limiter.take(1, 1000, 1)).toMatchObject({ ok: false })
    clock.advance(60_000) // a minute refills only up to the burst of 2000
    expect(limiter.take(1, 1000, 2000)).toEqual({ ok: true })
    expect(limiter.take(1, 1000, 1)).toMatchObject({ ok: false })
  })

  it('says in whole seconds, rounded up, when the request could pass', () => {
    const clock = fakeClock()
    const limiter = createRateLimiter(clock)
    expect(limiter.take(1, 10, 500)).toEqual({ ok: true })
    expect(limiter.take(1, 10, 100)).toEqual({ ok: false, retryAfterSeconds: 10 })
    expect(limiter.take(1, 10, 101)).toEqual({ ok: false, retryAfterSeconds: 11 })
    expect(limiter.take(1, 10, 1)).toEqual({ ok: false, retryAfterSeconds: 1 })
    clock.advance(9_999)
    expect(limiter.take(1, 10, 100)).toEqual({ ok: false, retryAfterSeconds: 1 })
    clock.advance(1)
    expect(limiter.take(1, 10, 100)).toEqual({ ok: true })
  })

  it('does not spend tokens on a refused request', () => {
    const clock = fakeClock()
    const limiter = createRateLimiter(clock)
    expect(limiter.take(1, 100, 500)).toEqual({ ok: true })
    clock.advance(1000)
    expect(limiter.take(1, 100, 200)).toMatchObject({ ok: false })
    expect(limiter.take(1, 100, 100)).toEqual({ ok: true })
  })

  it('keeps one bucket per app', () => {
    const limiter = createRateLimiter(fakeClock())
    expect(limiter.take(1, 1, 500)).toEqual({ ok: true })
    expect(limiter.take(1, 1, 1)).toMatchObject({ ok: false })
    expect(limiter.take(2, 1, 500)).toEqual({ ok: true })
  })
})

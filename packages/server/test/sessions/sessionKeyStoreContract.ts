import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DAY_MS } from '../../src/clock.js'
import type { RandomSource } from '../../src/randomSource.js'
import type { SessionKeyStore, Visit } from '../../src/sessions/SessionKeyStore.js'
import { countingRandom, fakeClock, type FakeClock } from './sessionFakes.js'

/**
 * The contract every SessionKeyStore passes (DESIGN.md P3, §3.6). It uses the interface only and drives
 * time through the visits' receive times and the injected clock, so the Redis store runs it unchanged:
 * call describeSessionKeyStoreContract from the adapter's test file.
 */
export interface SessionKeyStoreUnderTest {
  keys: SessionKeyStore
  /** Closes the store if the test did not and removes what it created. */
  cleanup(): Promise<void>
}

export type SessionKeyStoreFactory = (deps: { clock: FakeClock; random: RandomSource }) => Promise<SessionKeyStoreUnderTest>

const MIN = 60_000
/** Midnight UTC starting 2024-05-01: day D of these tests. */
const D = Date.UTC(2024, 4, 1)
const IDLE = 30 * MIN

export function describeSessionKeyStoreContract(name: string, factory: SessionKeyStoreFactory): void {
  describe(`SessionKeyStore contract: ${name}`, () => {
    let clock: FakeClock
    let random: ReturnType<typeof countingRandom>
    let subject: SessionKeyStoreUnderTest
    let keys: SessionKeyStore
    let ids: number

    beforeEach(async () => {
      clock = fakeClock(D + 12 * 60 * MIN)
      random = countingRandom()
      subject = await factory({ clock, random })
      keys = subject.keys
      ids = 0
    })
    afterEach(async () => subject.cleanup())

    const visitor = { appId: 1, ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0' }
    /** Touches at a time (the clock follows, as it does in the server) and returns the session id. */
    async function at(time: number, who: Partial<Visit> = {}): Promise<string> {
      clock.set(time)
      return keys.touch({ ...visitor, at: time, idleTimeoutMs: IDLE, ...who }, () => `session-${++ids}`)
    }

    describe('idle timeout', () => {
      it('gives the same visitor the same session while events keep coming within the idle window', async () => {
        const first = await at(D + 9 * 60 * MIN)
        expect(first).toBe('session-1')
        for (let t = D + 9 * 60 * MIN; t < D + 15 * 60 * MIN; t += 29 * MIN) expect(await at(t)).toBe(first)
        expect(ids).toBe(1)
      })

      it('starts a new session once the visitor was idle for the whole timeout', async () => {
        const first = await at(D + 10 * 60 * MIN)
        expect(await at(D + 10 * 60 * MIN + IDLE - 1)).toBe(first)
        const second = await at(D + 10 * 60 * MIN + 2 * IDLE - 1)
        expect(second).not.toBe(first)
        expect(await at(D + 10 * 60 * MIN + 2 * IDLE)).toBe(second)
      })

      it("uses each visit's idle timeout, so a changed app setting applies to the next event", async () => {
        const first = await at(D + 10 * 60 * MIN, { idleTimeoutMs: 5 * MIN })
        expect(await at(D + 10 * 60 * MIN + 4 * MIN, { idleTimeoutMs: 5 * MIN })).toBe(first)
        expect(await at(D + 10 * 60 * MIN + 10 * MIN, { idleTimeoutMs: 5 * MIN })).not.toBe(first)
        const long = await at(D + 12 * 60 * MIN, { idleTimeoutMs: 120 * MIN })
        expect(await at(D + 12 * 60 * MIN + 119 * MIN, { idleTimeoutMs: 120 * MIN })).toBe(long)
      })

      it('asks for a new id only when it starts a session', async () => {
        await at(D + 10 * 60 * MIN)
        await at(D + 10 * 60 * MIN + MIN)
        await at(D + 10 * 60 * MIN + 2 * MIN)
        expect(ids).toBe(1)
      })
    })

    describe('visitors', () => {
      it('never lets two apps share a session, for the same IP and User-Agent', async () => {
        const shop = await at(D + 10 * 60 * MIN, { appId: 1 })
        const blog = await at(D + 10 * 60 * MIN, { appId: 2 })
        expect(blog).not.toBe(shop)
        expect(await at(D + 10 * 60 * MIN + MIN, { appId: 1 })).toBe(shop)
        expect(await at(D + 10 * 60 * MIN + MIN, { appId: 2 })).toBe(blog)
      })

      it('tells visitors apart by IP and by User-Agent', async () => {
        const t = D + 10 * 60 * MIN
        const sessions = new Set([
          await at(t),
          await at(t, { ip: '203.0.113.8' }),
          await at(t, { userAgent: 'Mozilla/5.0 Chrome/125.0' }),
          await at(t, { userAgent: '' }),
        ])
        expect(sessions.size).toBe(4)
      })

      it('keeps the fields apart: moving characters between app, IP and User-Agent is another visitor', async () => {
        const t = D + 10 * 60 * MIN
        const a = await at(t, { appId: 1, ip: '23.0.0.1', userAgent: 'x' })
        const b = await at(t, { appId: 12, ip: '3.0.0.1', userAgent: 'x' })
        const c = await at(t, { appId: 1, ip: '23.0.0.1x', userAgent: '' })
        expect(new Set([a, b, c]).size).toBe(3)
      })
    })

    describe('midnight and the hard end', () => {
      it('carries a session live at midnight over to the new day (grace), and keeps it there', async () => {
        const first = await at(D + DAY_MS - 10 * MIN)
        expect(await at(D + DAY_MS + 10 * MIN)).toBe(first)
        expect(await at(D + DAY_MS + 35 * MIN)).toBe(first)
        expect(await at(D + DAY_MS + 60 * MIN)).toBe(first)
      })

      it('does not carry over a session that went idle across midnight', async () => {
        const first = await at(D + DAY_MS - 10 * MIN)
        expect(await at(D + DAY_MS + IDLE - 10 * MIN)).not.toBe(first)
      })

      it('ends a session at the end of the UTC day after it started, however active', async () => {
        const first = await at(D + 30 * MIN)
        for (let t = D + 30 * MIN; t < D + 2 * DAY_MS; t += 20 * MIN) expect(await at(t)).toBe(first)
        const next = await at(D + 2 * DAY_MS)
        expect(next).not.toBe(first)
        // The new session gets the same treatment: it too runs on until the end of its next day.
        expect(await at(D + 2 * DAY_MS + 20 * MIN)).toBe(next)
      })

      it('rotates salts at midnight: after the grace window the old day links nothing', async () => {
        const shop = await at(D + DAY_MS - 5 * MIN)
        const other = await at(D + DAY_MS - 5 * MIN, { ip: '198.51.100.1' })
        expect(await at(D + DAY_MS + 5 * MIN, { ip: '198.51.100.1' })).toBe(other)
        // The first visitor comes back on day D+1, but too late for yesterday's session.
        expect(await at(D + DAY_MS + 40 * MIN)).not.toBe(shop)
      })
    })

    describe('salts', () => {
      it('draws one 32-byte salt per UTC day from the RandomSource, only once the day has an event', async () => {
        expect(random.requested).toEqual([])
        await at(D + 10 * 60 * MIN)
        await at(D + 11 * 60 * MIN, { appId: 2 })
        expect(random.requested).toEqual([32])
        await at(D + DAY_MS + 60 * MIN)
        expect(random.requested).toEqual([32, 32])
        // A day without events draws nothing.
        await at(D + 3 * DAY_MS + 60 * MIN)
        expect(random.requested).toEqual([32, 32, 32])
      })
    })

    describe('destroying', () => {
      it('holds nothing before the first event', async () => {
        expect(await keys.stats()).toEqual({ salts: 0, entries: 0 })
      })

      it('holds at most two salts, never one older than yesterday', async () => {
        for (let t = D; t < D + 5 * DAY_MS; t += 3 * 60 * MIN) {
          await at(t)
          await at(t, { ip: `198.51.100.${(t / MIN) % 250}` })
          const stats = await keys.stats()
          expect(stats.salts).toBeLessThanOrEqual(2)
          expect(stats.oldestSaltDay).toBeGreaterThanOrEqual(Math.floor(t / DAY_MS) * DAY_MS - DAY_MS)
        }
      })

      it('destroys every salt and entry within 48 h, even when no event comes to rotate them', async () => {
        for (let i = 0; i < 50; i++) await at(D + 23 * 60 * MIN + i * MIN, { ip: `198.51.100.${i}` })
        // One of them stays active over midnight, so its session is carried over to day D+1.
        await at(D + DAY_MS + 20 * MIN)
        expect(await keys.stats()).toMatchObject({ salts: 2 })
        clock.set(D + 2 * DAY_MS - 1)
        await keys.sweep()
        expect(await keys.stats()).toMatchObject({ entries: 0 })
        clock.set(D + 2 * DAY_MS)
        await keys.sweep()
        expect(await keys.stats()).toEqual({ salts: 0, entries: 0 })
      })

      it('forgets entries once they expire, when swept', async () => {
        await at(D + 10 * 60 * MIN)
        await at(D + 10 * 60 * MIN, { ip: '198.51.100.1' })
        expect((await keys.stats()).entries).toBe(2)
        clock.set(D + 10 * 60 * MIN + IDLE)
        await keys.sweep()
        expect(await keys.stats()).toMatchObject({ salts: 1, entries: 0 })
      })
    })
  })
}

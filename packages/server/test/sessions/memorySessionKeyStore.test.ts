import { describe, expect, it } from 'vitest'
import { DAY_MS } from '../../src/clock.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { createMemorySessionKeyStore } from '../../src/sessions/createMemorySessionKeyStore.js'
import { visitorKey } from '../../src/sessions/visitorKey.js'
import { countingRandom, fakeClock } from './sessionFakes.js'
import { describeSessionKeyStoreContract } from './sessionKeyStoreContract.js'

describeSessionKeyStoreContract('memory', async ({ clock, random }) => {
  const keys = createMemorySessionKeyStore({ clock, random })
  return { keys, cleanup: () => keys.close() }
})

const MIN = 60_000
const D = Date.UTC(2024, 4, 1)
const visit = { appId: 7, ip: '203.0.113.7', userAgent: 'Mozilla/5.0 Firefox/126.0', idleTimeoutMs: 30 * MIN }

describe('memory SessionKeyStore', () => {
  it('forgets everything when closed (the Redis store leaves the shared state to the other nodes)', async () => {
    const keys = createMemorySessionKeyStore({ clock: fakeClock(D), random: cryptoRandom })
    keys.touchNow({ ...visit, at: D + 10 * 60 * MIN }, () => 's1')
    await keys.close()
    expect(await keys.stats()).toEqual({ salts: 0, entries: 0 })
  })

  it('keys visitors with HMAC-SHA256 over the salt the RandomSource gave, a new salt each day', () => {
    const random = countingRandom()
    const keys = createMemorySessionKeyStore({ clock: fakeClock(D), random })
    keys.touchNow({ ...visit, at: D + 60 * MIN }, () => 's1')
    const [day1Salt] = random.drawn
    expect(keys.inspect()).toEqual([{ day: D / DAY_MS, salt: day1Salt, keys: [visitorKey(day1Salt!, visit.appId, visit.ip, visit.userAgent).toString('base64')] }])
    keys.touchNow({ ...visit, at: D + DAY_MS + 5 * 60 * MIN }, () => 's2')
    const day2Salt = random.drawn[1]!
    expect(day2Salt).not.toEqual(day1Salt)
    // Yesterday's entry had gone idle, so it was dropped rather than carried over.
    expect(keys.inspect()).toEqual([
      { day: D / DAY_MS, salt: day1Salt, keys: [] },
      { day: D / DAY_MS + 1, salt: day2Salt, keys: [visitorKey(day2Salt, visit.appId, visit.ip, visit.userAgent).toString('base64')] },
    ])
  })

  it('never derives a salt from the date: the same day in two instances gets two different salts', () => {
    const a = createMemorySessionKeyStore({ clock: fakeClock(D), random: cryptoRandom })
    const b = createMemorySessionKeyStore({ clock: fakeClock(D), random: cryptoRandom })
    a.touchNow({ ...visit, at: D + MIN }, () => 'a')
    b.touchNow({ ...visit, at: D + MIN }, () => 'b')
    expect(a.inspect()[0]?.salt).not.toEqual(b.inspect()[0]?.salt)
    expect(a.inspect()[0]?.keys).not.toEqual(b.inspect()[0]?.keys)
  })

  it('starts fresh after a restart: a new instance gives the same visitor a new session', async () => {
    const clock = fakeClock(D + MIN)
    let ids = 0
    const before = createMemorySessionKeyStore({ clock, random: cryptoRandom })
    const first = await before.touch({ ...visit, at: D + MIN }, () => `s${++ids}`)
    await before.close()
    const after = createMemorySessionKeyStore({ clock, random: cryptoRandom })
    expect(await after.touch({ ...visit, at: D + 2 * MIN }, () => `s${++ids}`)).not.toBe(first)
  })

  it("drops yesterday's salt as soon as no session live at midnight needs it", async () => {
    const clock = fakeClock(D)
    const keys = createMemorySessionKeyStore({ clock, random: countingRandom() })
    keys.touchNow({ ...visit, at: D + DAY_MS - MIN }, () => 's1')
    keys.touchNow({ ...visit, ip: '198.51.100.1', at: D + DAY_MS + MIN }, () => 's2')
    clock.set(D + DAY_MS + 10 * MIN)
    await keys.sweep()
    expect((await keys.stats()).salts).toBe(2)
    clock.set(D + DAY_MS + 29 * MIN)
    await keys.sweep()
    expect(await keys.stats()).toEqual({ salts: 1, entries: 1, oldestSaltDay: D + DAY_MS })
  })

  it('stays within its entry cap: expired entries go first, then the least recently seen', () => {
    const clock = fakeClock(D)
    const keys = createMemorySessionKeyStore({ clock, random: countingRandom(), maxEntries: 3 })
    const touch = (ip: string, at: number, idleTimeoutMs = 30 * MIN) => keys.touchNow({ ...visit, ip, at, idleTimeoutMs }, () => `${ip}@${at}`)
    const t = D + 60 * MIN
    touch('short', t, MIN)
    const a = touch('a', t)
    const b = touch('b', t + 1)
    // The cap is reached; 'short' has expired, so it goes and the live ones stay.
    clock.set(t + 2 * MIN)
    touch('c', t + 2 * MIN)
    expect(touch('a', t + 3 * MIN)).toBe(a)
    expect(touch('b', t + 3 * MIN)).toBe(b)
    // Now all three are live: the least recently seen ('c') makes room.
    clock.set(t + 4 * MIN)
    touch('d', t + 4 * MIN)
    expect((keys.inspect()[0]?.keys ?? []).length).toBe(3)
    expect(touch('c', t + 5 * MIN)).not.toBe(`c@${t + 2 * MIN}`)
  })
})

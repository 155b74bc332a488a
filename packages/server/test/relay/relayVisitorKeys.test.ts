import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DAY_MS } from '../../src/clock.js'
import type { RandomSource } from '../../src/randomSource.js'
import { createRelayVisitorKeys } from '../../src/relay/createRelayVisitorKeys.js'
import { visitorKey } from '../../src/sessions/visitorKey.js'
import { createFakeClock } from '../accounts/accountTestServer.js'

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'
const IP = '203.0.113.7'
/** Ten minutes before a UTC midnight. */
const BEFORE_MIDNIGHT = Date.UTC(2026, 10, 2, 23, 50)
const KEY = /^[A-Za-z0-9_-]{43}$/

/** Distinct bytes for every call (a counter in each salt's first bytes), and a record of what was handed out. */
function countingRandom(): RandomSource & { given: Buffer[] } {
  const given: Buffer[] = []
  return {
    given,
    bytes(length) {
      const bytes = Buffer.alloc(length, 0xa5)
      bytes.writeUInt32BE(given.length + 1, 0)
      given.push(Buffer.from(bytes))
      return bytes
    },
  }
}

function setup(start = BEFORE_MIDNIGHT) {
  const clock = createFakeClock(start)
  const random = countingRandom()
  return { clock, random, keys: createRelayVisitorKeys({ clock, random }) }
}

describe('createRelayVisitorKeys', () => {
  it('gives one visitor one key all day', () => {
    const { clock, keys } = setup(Date.UTC(2026, 10, 2, 0, 0))
    const first = keys.keysFor(1, IP, UA)
    expect(first.visitor).toMatch(KEY)
    clock.advance(DAY_MS - 1)
    expect(keys.keysFor(1, IP, UA)).toEqual(first)
  })

  it('gives different keys for another app, address or User-Agent', () => {
    const { keys } = setup()
    const base = keys.keysFor(1, IP, UA).visitor
    const others = [keys.keysFor(2, IP, UA), keys.keysFor(1, '203.0.113.8', UA), keys.keysFor(1, IP, `${UA} Edg/120`), keys.keysFor(1, IP, '')].map((k) => k.visitor)
    expect(new Set([base, ...others]).size).toBe(5)
  })

  it('does not let fields run into each other (length-prefixed)', () => {
    const { keys } = setup()
    // "1.2.3.4" + "5x" and "1.2.3.45" + "x" concatenate to the same text.
    expect(keys.keysFor(1, '1.2.3.4', '5x').visitor).not.toBe(keys.keysFor(1, '1.2.3.45', 'x').visitor)
  })

  it('is the HMAC-SHA256 of the visitor under the random salt of the day, as the issue says', () => {
    const { random, keys } = setup()
    const { visitor } = keys.keysFor(7, IP, UA)
    expect(random.given).toHaveLength(1)
    expect(visitor).toBe(visitorKey(random.given[0]!, 7, IP, UA).toString('base64url'))
    // And not a hash with no key, or under an all-zero salt.
    expect(visitor).not.toBe(createHmac('sha256', Buffer.alloc(32)).update(`7${IP}${UA}`).digest('base64url'))
  })

  it('sends no previous key until a salt of the day before exists', () => {
    const { clock, keys } = setup()
    expect(keys.keysFor(1, IP, UA)).not.toHaveProperty('previous')
    expect(keys.saltsHeld()).toBe(1)
    clock.advance(9 * 60_000)
    expect(keys.keysFor(1, IP, UA)).not.toHaveProperty('previous')
  })

  it('after midnight sends yesterday\'s key as previous, and a new key as visitor', () => {
    const { clock, keys } = setup()
    const yesterday = keys.keysFor(1, IP, UA)
    clock.advance(20 * 60_000) // 00:10 the next day
    const today = keys.keysFor(1, IP, UA)
    expect(today.previous).toBe(yesterday.visitor)
    expect(today.visitor).toMatch(KEY)
    expect(today.visitor).not.toBe(yesterday.visitor)
    expect(keys.saltsHeld()).toBe(2)
    // Another visitor's previous key is their own of yesterday too.
    clock.advance(-20 * 60_000)
    const otherYesterday = keys.keysFor(1, '198.51.100.1', UA).visitor
    clock.advance(20 * 60_000)
    expect(keys.keysFor(1, '198.51.100.1', UA).previous).toBe(otherYesterday)
  })

  it('has no previous for a day after a day with no traffic', () => {
    const { clock, keys } = setup()
    keys.keysFor(1, IP, UA)
    clock.advance(DAY_MS + 20 * 60_000) // the day after tomorrow
    expect(keys.keysFor(1, IP, UA)).not.toHaveProperty('previous')
    expect(keys.saltsHeld()).toBe(1)
  })

  it('holds at most two salts, forgets the oldest after two midnights', () => {
    const { clock, random, keys } = setup()
    const day1 = keys.keysFor(1, IP, UA).visitor
    clock.advance(20 * 60_000)
    const day2 = keys.keysFor(1, IP, UA)
    clock.advance(DAY_MS)
    const day3 = keys.keysFor(1, IP, UA)
    expect(keys.saltsHeld()).toBeLessThanOrEqual(2)
    expect(keys.saltsHeld()).toBe(2)
    expect(day3.previous).toBe(day2.visitor)
    expect(day3.previous).not.toBe(day1)
    expect(new Set([day1, day2.visitor, day3.visitor]).size).toBe(3)
    // One salt drawn per day, never derived from anything: three days, three random draws.
    expect(random.given).toHaveLength(3)
    // Nothing derived from day 1's salt comes out any more.
    for (let i = 0; i < 5; i++) {
      clock.advance(DAY_MS)
      const keysNow = keys.keysFor(1, IP, UA)
      expect([keysNow.visitor, keysNow.previous]).not.toContain(day1)
      expect(keys.saltsHeld()).toBe(2)
    }
  })

  it('takes each day\'s salt from the random source: the same source gives the same keys, another source others', () => {
    const a = setup()
    const b = setup()
    expect(a.keys.keysFor(1, IP, UA)).toEqual(b.keys.keysFor(1, IP, UA))
    const clock = createFakeClock(BEFORE_MIDNIGHT)
    const other = createRelayVisitorKeys({ clock, random: { bytes: (length) => Buffer.alloc(length, 0x11) } })
    expect(other.keysFor(1, IP, UA).visitor).not.toBe(a.keys.keysFor(1, IP, UA).visitor)
  })

  it('does not keep a reference to the buffer the random source returned', () => {
    const clock = createFakeClock(BEFORE_MIDNIGHT)
    const shared = Buffer.alloc(32, 0x42)
    const keys = createRelayVisitorKeys({ clock, random: { bytes: () => shared } })
    const before = keys.keysFor(1, IP, UA).visitor
    shared.fill(0)
    expect(keys.keysFor(1, IP, UA).visitor).toBe(before)
  })

  it('draws a fresh salt after a jump forward, without a previous key', () => {
    const { clock, keys } = setup()
    keys.keysFor(1, IP, UA)
    clock.advance(30 * DAY_MS)
    expect(keys.keysFor(1, IP, UA)).not.toHaveProperty('previous')
    expect(keys.saltsHeld()).toBe(1)
  })

  it('holds at most two salts even when the clock goes back (a salt "from the future" is not kept for weeks)', () => {
    const { clock, keys } = setup()
    keys.keysFor(1, IP, UA)
    // A clock set a month ahead by mistake, then corrected: the salt of that future day must not outlive 48 h.
    clock.advance(30 * DAY_MS)
    keys.keysFor(1, IP, UA)
    clock.advance(-30 * DAY_MS)
    keys.keysFor(1, IP, UA)
    expect(keys.saltsHeld()).toBeLessThanOrEqual(2)
    clock.advance(-DAY_MS)
    keys.keysFor(1, IP, UA)
    expect(keys.saltsHeld()).toBeLessThanOrEqual(2)
  })
})

import { DAY_MS, type Clock } from '../clock.js'
import type { RandomSource } from '../randomSource.js'
import { visitorKey } from '../sessions/visitorKey.js'

/**
 * The relay's half of the two-layer sessions (issue 8): HMAC-SHA256(the relay's salt of the day, app ‖ ip ‖
 * user agent), sent upstream in place of the address and User-Agent. The server keys its own session map by
 * this, under its own salts. The relay's salts are random, live in this process's memory only, never leave it,
 * and rotate at UTC midnight: today's and yesterday's are held (yesterday's key lets the server carry a session
 * live at midnight over), and each is overwritten and forgotten once it is older than that, within 48 hours.
 */
export interface RelayVisitorKeys {
  /** The visitor's key under today's salt, and under yesterday's while it is held; base64url. */
  keysFor(appId: number, ip: string, userAgent: string): { visitor: string; previous?: string }
  /** Salts held (at most two): for the tests that prove the 48 h limit. */
  saltsHeld(): number
}

const SALT_BYTES = 32

export function createRelayVisitorKeys(deps: { clock: Clock; random: RandomSource }): RelayVisitorKeys {
  const salts = new Map<number, Buffer>()

  function saltsOf(day: number): { today: Buffer; yesterday: Buffer | undefined } {
    for (const [held, salt] of salts) {
      // Older than yesterday, or ahead of today after the clock was set back: never more than these two.
      if (held !== day && held !== day - 1) {
        salt.fill(0)
        salts.delete(held)
      }
    }
    let today = salts.get(day)
    if (!today) {
      // Random bytes only: a salt derived from the date or a secret could be made again later.
      today = Buffer.from(deps.random.bytes(SALT_BYTES))
      salts.set(day, today)
    }
    return { today, yesterday: salts.get(day - 1) }
  }

  return {
    keysFor(appId, ip, userAgent) {
      const { today, yesterday } = saltsOf(Math.floor(deps.clock.now() / DAY_MS))
      const visitor = visitorKey(today, appId, ip, userAgent).toString('base64url')
      return yesterday ? { visitor, previous: visitorKey(yesterday, appId, ip, userAgent).toString('base64url') } : { visitor }
    },
    saltsHeld: () => salts.size,
  }
}

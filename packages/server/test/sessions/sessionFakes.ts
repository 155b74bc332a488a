import type { Clock } from '../../src/clock.js'
import type { RandomSource } from '../../src/randomSource.js'

export interface FakeClock extends Clock {
  set(ms: number): void
}

export function fakeClock(start: number): FakeClock {
  let now = start
  return { now: () => now, set: (ms) => (now = ms) }
}

/**
 * Distinct, recognisable bytes on every call (a counter in the first bytes), and a record of every request,
 * so a test can tell which salt came from which draw.
 */
export function countingRandom(): RandomSource & { requested: number[]; drawn: Buffer[] } {
  const requested: number[] = []
  const drawn: Buffer[] = []
  let calls = 0
  return {
    requested,
    drawn,
    bytes(length) {
      requested.push(length)
      calls++
      const bytes = Buffer.alloc(length, 0xa5)
      bytes.writeUInt32BE(calls, 0)
      bytes[length - 1] = calls & 0xff
      drawn.push(Buffer.from(bytes))
      return bytes
    },
  }
}

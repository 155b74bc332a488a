/**
 * Seeded, reproducible mutations of captured JSON payloads, for the translators' "hostile input never throws"
 * tests: each run replaces random nodes of a real payload with values of the test's choosing.
 */

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Replaces a random node of `value` (a JSON tree) with `randomValue(next, 0)`. */
export function mutateJson(value: unknown, next: () => number, randomValue: (next: () => number, depth: number) => unknown): unknown {
  if (value === null || typeof value !== 'object' || next() < 0.15) return randomValue(next, 0)
  const keys = Object.keys(value)
  if (keys.length === 0) return randomValue(next, 0)
  const key = keys[Math.floor(next() * keys.length)]!
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Record<string, unknown>
  copy[key] = mutateJson(copy[key], next, randomValue)
  return copy
}

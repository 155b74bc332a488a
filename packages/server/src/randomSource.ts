import { randomBytes } from 'node:crypto'

/** Randomness is an input (DESIGN.md §3.5) so token generation can be tested deterministically. */
export interface RandomSource {
  bytes(length: number): Buffer
}

export const cryptoRandom: RandomSource = { bytes: (length) => randomBytes(length) }

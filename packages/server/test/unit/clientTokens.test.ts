import { describe, expect, it } from 'vitest'
import { CLIENT_TOKEN_PATTERN, generateClientToken } from '../../src/apps/clientTokens.js'
import { cryptoRandom, type RandomSource } from '../../src/randomSource.js'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Hands out the given bytes in order, then zeros; records how many bytes were asked for. */
function fakeRandom(bytes: number[]): RandomSource & { requested: number[] } {
  let position = 0
  const requested: number[] = []
  return {
    requested,
    bytes(length) {
      requested.push(length)
      const out = Buffer.alloc(length)
      for (let i = 0; i < length; i++) out[i] = bytes[position++] ?? 0
      return out
    },
  }
}

describe('generateClientToken', () => {
  it('has the documented shape', () => {
    expect(CLIENT_TOKEN_PATTERN.source).toBe('^tc_[A-Za-z0-9]{32}$')
    for (let i = 0; i < 200; i++) expect(generateClientToken(cryptoRandom)).toMatch(/^tc_[A-Za-z0-9]{32}$/)
  })

  it('is unique across many draws from real randomness', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateClientToken(cryptoRandom)))
    expect(tokens.size).toBe(1000)
  })

  it('is a pure function of its random bytes', () => {
    const bytes = Array.from({ length: 32 }, (_, i) => i * 7)
    const first = generateClientToken(fakeRandom(bytes))
    expect(generateClientToken(fakeRandom(bytes))).toBe(first)
    expect(first).toBe('tc_' + bytes.map((b) => ALPHABET[b % 62]).join(''))
  })

  it('maps each byte below 248 to one of 62 characters, four bytes each', () => {
    const bytes = [0, 61, 62, 123, 124, 185, 186, 247, ...Array.from({ length: 24 }, (_, i) => i)]
    const rest = bytes.slice(8).map((b) => ALPHABET[b]).join('')
    expect(generateClientToken(fakeRandom(bytes))).toBe(`tc_A9A9A9A9${rest}`)
  })

  it('skips bytes from 248 up, so no character is more likely than another, and draws more when needed', () => {
    const skipped = [248, 249, 250, 251, 252, 253, 254, 255]
    const random = fakeRandom([...skipped, ...Array.from({ length: 32 }, (_, i) => i + 10)])
    const token = generateClientToken(random)
    expect(token).toBe('tc_' + Array.from({ length: 32 }, (_, i) => ALPHABET[(i + 10) % 62]).join(''))
    // The first 32 bytes held only 24 usable ones: a second draw supplied the rest.
    expect(random.requested).toEqual([32, 32])
  })

  it('keeps going while every byte is unusable', () => {
    const random = fakeRandom([...Array.from({ length: 100 }, () => 255), ...Array.from({ length: 32 }, () => 1)])
    expect(generateClientToken(random)).toBe('tc_' + 'B'.repeat(32))
    expect(random.requested.length).toBeGreaterThan(3)
  })
})

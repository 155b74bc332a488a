import type { RandomSource } from '../randomSource.js'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/** 32 base62 characters ≈ 190 bits. Only [A-Za-z0-9_], so a token is also a valid Sentry DSN key. */
const TOKEN_CHARS = 32
export const CLIENT_TOKEN_PREFIX = 'tc_'
export const CLIENT_TOKEN_PATTERN = /^tc_[A-Za-z0-9]{32}$/

/** A new client token: public by design (it sits in every page) and good for ingest into one app only. */
export function generateClientToken(random: RandomSource): string {
  let token = CLIENT_TOKEN_PREFIX
  while (token.length < CLIENT_TOKEN_PREFIX.length + TOKEN_CHARS) {
    for (const byte of random.bytes(TOKEN_CHARS)) {
      // Rejection sampling: 248 = 4 × 62, so every character is equally likely.
      if (byte >= 248) continue
      token += ALPHABET[byte % 62]
      if (token.length === CLIENT_TOKEN_PREFIX.length + TOKEN_CHARS) break
    }
  }
  return token
}

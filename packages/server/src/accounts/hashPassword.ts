import { scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import type { RandomSource } from '../randomSource.js'

/**
 * Passwords are hashed with scrypt (RFC 7914) from node:crypto: no native add-on, and memory-hard. Parameters:
 * N = 2^15, r = 8, p = 1 (32 MiB and about 120 ms per hash on the 2-core test machine, measured 2026-11-22), a
 * 16-byte random salt and a 32-byte result. They are stored with every hash (`scrypt$15$8$1$<salt>$<hash>`),
 * so they can be raised later without invalidating existing passwords.
 */
export const SCRYPT_LOG_N = 15
export const SCRYPT_R = 8
export const SCRYPT_P = 1
const SALT_BYTES = 16
const KEY_BYTES = 32
/** Node refuses more than 32 MiB by default; scrypt needs 128 · N · r bytes plus a little. */
const MAX_MEMORY = 64 * 1024 * 1024
/**
 * At most this many hashes at once: each holds 32 MiB, and a burst of logins must not be able to take the
 * server's memory (the login throttle limits repeats, this limits the width of a burst).
 */
const MAX_CONCURRENT = 2
/** Beyond this many waiting, a hash is refused at once (503) rather than queued for seconds. */
const MAX_WAITING = 64

/** Too many sign-ins at once: the caller answers 503 and the client retries. */
export class PasswordHasherBusyError extends Error {}

const FORMAT = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{16,128})$/

export async function hashPassword(password: string, random: RandomSource): Promise<string> {
  const salt = random.bytes(SALT_BYTES)
  const key = await derive(password, salt, KEY_BYTES, { N: 2 ** SCRYPT_LOG_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: MAX_MEMORY })
  return `scrypt$${SCRYPT_LOG_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** Compares in constant time; a malformed stored hash (or absurd parameters) never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = FORMAT.exec(stored)
  if (!match) return false
  const [logN, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 4) return false
  const expected = Buffer.from(match[5]!, 'base64url')
  const actual = await derive(password, Buffer.from(match[4]!, 'base64url'), expected.length, { N: 2 ** logN, r, p, maxmem: 256 * r * 2 ** logN })
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/**
 * A hash of no one's password, checked when the email is unknown, so an unknown account costs as much time
 * as a wrong password and response times do not tell which emails have accounts.
 */
let decoy: Promise<string> | undefined
export async function verifyDecoy(password: string, random: RandomSource): Promise<false> {
  decoy ??= hashPassword(random.bytes(16).toString('hex'), random)
  await verifyPassword(password, await decoy)
  return false
}

let running = 0
const waiting: Array<() => void> = []

async function derive(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  if (running >= MAX_CONCURRENT) {
    if (waiting.length >= MAX_WAITING) throw new PasswordHasherBusyError('Too many passwords are being checked at once.')
    await new Promise<void>((resolve) => waiting.push(resolve))
  }
  running++
  try {
    return await new Promise<Buffer>((resolve, reject) => scrypt(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key))))
  } finally {
    running--
    waiting.shift()?.()
  }
}

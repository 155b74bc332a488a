import type { RandomSource } from '../randomSource.js'

/** A version 4 UUID (RFC 9562 §5.4): 122 random bits and the version and variant bits, nothing else. */
export function randomUuid(random: RandomSource): string {
  const bytes = Buffer.from(random.bytes(16))
  bytes[6] = (bytes[6]! & 0x0f) | 0x40
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

import { createHmac } from 'node:crypto'
import type { Visit } from './SessionKeyStore.js'

/**
 * HMAC-SHA256(salt, app ‖ ip ‖ user agent). Each field is length-prefixed, so no two different visitors
 * (say app 1 with ip "23.…" and app 12 with ip "3.…") can produce the same message. The message is built
 * in one buffer and hashed in one update: this runs for every request.
 */
export function visitorKey(salt: Buffer, appId: number, ip: string, userAgent: string): Buffer {
  const fields = [String(appId), ip, userAgent]
  let size = 0
  for (const field of fields) size += 4 + Buffer.byteLength(field, 'utf8')
  const message = Buffer.allocUnsafe(size)
  let offset = 0
  for (const field of fields) {
    const length = message.write(field, offset + 4, 'utf8')
    message.writeUInt32BE(length, offset)
    offset += 4 + length
  }
  return createHmac('sha256', salt).update(message).digest()
}

/**
 * Never a real address (no NUL in an IP), so a relayed visitor's message can never equal a direct visitor's.
 */
const RELAYED = '\u0000relay'

/**
 * A visit's key under one of the store's salts: `current` for the salt of the visit's day, `previous` for the
 * salt of the day before (the midnight grace rule). A relayed visit is keyed by the relay's key of the matching
 * day; undefined when the relay sent none for the day before.
 */
export function visitKey(salt: Buffer, visit: Visit, day: 'current' | 'previous'): Buffer | undefined {
  if (!visit.relayed) return visitorKey(salt, visit.appId, visit.ip, visit.userAgent)
  const relayKey = day === 'current' ? visit.relayed.visitor : visit.relayed.previous
  return relayKey === undefined ? undefined : visitorKey(salt, visit.appId, RELAYED, relayKey)
}

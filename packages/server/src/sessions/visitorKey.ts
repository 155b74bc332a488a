import { createHmac } from 'node:crypto'

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

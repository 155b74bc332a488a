import { createHmac } from 'node:crypto'

/**
 * HMAC-SHA256(salt, app ‖ ip ‖ user agent). Each field is length-prefixed, so no two different visitors
 * (say app 1 with ip "23.…" and app 12 with ip "3.…") can produce the same message.
 */
export function visitorKey(salt: Buffer, appId: number, ip: string, userAgent: string): Buffer {
  const hmac = createHmac('sha256', salt)
  for (const field of [String(appId), ip, userAgent]) {
    const bytes = Buffer.from(field, 'utf8')
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    hmac.update(length)
    hmac.update(bytes)
  }
  return hmac.digest()
}

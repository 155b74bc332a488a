import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Webhook signatures, in the shape Stripe and GitHub made familiar: the receiver recomputes
 * `HMAC-SHA256(secret, "<timestamp>.<body>")` over the raw body bytes, compares in constant time, and rejects
 * a timestamp too far from its own clock, so a captured request cannot be replayed later. The `v1=` prefix
 * leaves room for another scheme without breaking receivers. docs/ALERTS.md has the receiver's side.
 */
export const SIGNATURE_HEADER = 'x-tacit-signature'
export const TIMESTAMP_HEADER = 'x-tacit-timestamp'
export const DELIVERY_HEADER = 'x-tacit-delivery'
export const EVENT_HEADER = 'x-tacit-event'

/** `v1=<hex>` for a timestamp in seconds since the epoch and the exact body sent. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

/**
 * The receiver's check, as docs/ALERTS.md shows it (the tests' receiver uses it): true when one of the
 * header's comma-separated signatures matches and the timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export function verifyWebhookSignature(input: {
  secret: string
  body: string
  timestamp: string | undefined
  signature: string | undefined
  nowSeconds: number
  toleranceSeconds?: number
}): boolean {
  if (input.timestamp === undefined || input.signature === undefined || !/^\d{1,12}$/.test(input.timestamp)) return false
  const timestamp = Number(input.timestamp)
  if (Math.abs(input.nowSeconds - timestamp) > (input.toleranceSeconds ?? 300)) return false
  const expected = Buffer.from(webhookSignature(input.secret, timestamp, input.body))
  return input.signature.split(',').some((candidate) => {
    const given = Buffer.from(candidate.trim())
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}

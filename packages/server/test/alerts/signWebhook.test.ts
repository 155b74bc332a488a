import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { verifyWebhookSignature, webhookSignature } from '../../src/alerts/signWebhook.js'

const SECRET = 'tacit_whsec_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG'
const BODY = '{"type":"issue.new","issue":{"title":"TypeError: ünïcode"}}'
const TS = 1714564800

describe('webhook signatures', () => {
  it('is v1= and the hex HMAC-SHA256 of "<timestamp>.<body>", as docs/ALERTS.md tells receivers', () => {
    const expected = createHmac('sha256', SECRET).update(`${TS}.${BODY}`, 'utf8').digest('hex')
    expect(webhookSignature(SECRET, TS, BODY)).toBe(`v1=${expected}`)
  })

  it('verifies a genuine request within the tolerance', () => {
    const signature = webhookSignature(SECRET, TS, BODY)
    expect(verifyWebhookSignature({ secret: SECRET, body: BODY, timestamp: String(TS), signature, nowSeconds: TS + 299 })).toBe(true)
    expect(verifyWebhookSignature({ secret: SECRET, body: BODY, timestamp: String(TS), signature: `v0=abc, ${signature}`, nowSeconds: TS })).toBe(true)
  })

  it('rejects a changed body, another secret, a moved timestamp, a replay after the tolerance and junk', () => {
    const signature = webhookSignature(SECRET, TS, BODY)
    const check = (overrides: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
      verifyWebhookSignature({ secret: SECRET, body: BODY, timestamp: String(TS), signature, nowSeconds: TS, ...overrides })
    expect(check({ body: BODY.replace('new', 'old') })).toBe(false)
    expect(check({ secret: `${SECRET}x` })).toBe(false)
    expect(check({ timestamp: String(TS + 1), nowSeconds: TS + 1 })).toBe(false)
    expect(check({ nowSeconds: TS + 301 })).toBe(false)
    expect(check({ nowSeconds: TS - 301 })).toBe(false)
    expect(check({ timestamp: undefined })).toBe(false)
    expect(check({ signature: undefined })).toBe(false)
    expect(check({ signature: '' })).toBe(false)
    expect(check({ signature: signature.toUpperCase() })).toBe(false)
    expect(check({ signature: signature.slice(0, -1) })).toBe(false)
    expect(check({ timestamp: '1e9' })).toBe(false)
    expect(check({ timestamp: `${TS}0000000000000` })).toBe(false)
  })
})

import { describe, expect, it } from 'vitest'
import { AlertRuleError, generateWebhookSecret, validateWebhookUrl, WEBHOOK_SECRET_PATTERN, webhookOrigin } from '../../src/alerts/alertRule.js'
import { AdminError } from '../../src/apps/appAdmin.js'
import { cryptoRandom } from '../../src/randomSource.js'

describe('webhook URLs', () => {
  it('accepts http and https URLs, loopback and private hosts included (an operator configures them)', () => {
    for (const url of ['https://hooks.slack.com/services/T0/B0/xyz', 'http://127.0.0.1:9000/hook', 'http://[::1]:8080/', 'https://10.0.0.5/tacit?token=abc']) {
      expect(validateWebhookUrl(url).href).toBe(new URL(url).href)
    }
  })

  it.each([
    ['not a URL', 'hooks.example.com/tacit'],
    ['empty', ''],
    ['another scheme', 'ftp://example.com/x'],
    ['file', 'file:///etc/passwd'],
    ['javascript', 'javascript:alert(1)'],
    ['data', 'data:text/plain,hi'],
    ['credentials', 'https://alice:hunter2secret@example.com/hook'],
    ['a user name', 'https://alice@example.com/hook'],
    ['oversized', `https://example.com/${'a'.repeat(2100)}`],
  ])('refuses %s in one sentence, as an operator error', (_, url) => {
    let error: unknown
    try {
      validateWebhookUrl(url)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(AlertRuleError)
    expect(error).toBeInstanceOf(AdminError)
    expect((error as Error).message).toMatch(/^[A-Z][^\n]*\.$/)
    // The message never echoes the URL: it may hold credentials.
    expect((error as Error).message).not.toMatch(/hunter2secret|alice/)
  })

  it('shows only the origin where the whole URL could leak a secret path', () => {
    expect(webhookOrigin('https://hooks.slack.com/services/T0/B0/secret')).toBe('https://hooks.slack.com')
    expect(webhookOrigin('nonsense')).toBe('(invalid URL)')
  })
})

describe('webhook secrets', () => {
  it('are 256 random bits with a recognisable prefix, different each time', () => {
    const a = generateWebhookSecret(cryptoRandom)
    const b = generateWebhookSecret(cryptoRandom)
    expect(a).toMatch(WEBHOOK_SECRET_PATTERN)
    expect(a).not.toBe(b)
    expect(generateWebhookSecret({ bytes: (n) => Buffer.alloc(n, 1) })).toBe(`tacit_whsec_${Buffer.alloc(32, 1).toString('base64url')}`)
  })
})

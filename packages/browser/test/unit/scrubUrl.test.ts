import { describe, expect, it } from 'vitest'
import { scrubUrl } from '../../src/privacy/scrubUrl.js'

describe('scrubUrl', () => {
  it.each([
    'password', 'passwd', 'user_password', 'secret', 'client_secret', 'token', 'access_token', 'auth', 'Authorization',
    'api_key', 'apikey', 'api-key', 'API_KEY', 'session', 'sessionId', 'PHPSESSID', 'cookie', 'credential', 'credentials',
    'private_key', 'privatekey', 'ssn', 'user_ssn', 'userSSN', 'card', 'card_number', 'cvv', 'iban', 'email', 'userEmail',
    'phone', 'phone_number',
  ])('replaces the value of %s and keeps the name', (name) => {
    expect(scrubUrl(`https://shop.example/p?a=1&${name}=s3cr3t-Value&b=2`)).toBe(`https://shop.example/p?a=1&${name}=[secret]&b=2`)
  })

  it('replaces a sensitive first parameter, a last one and each repeated one', () => {
    expect(scrubUrl('/x?token=a&q=1&token=b')).toBe('/x?token=[secret]&q=1&token=[secret]')
  })

  it('judges percent-encoded names decoded but keeps them as written', () => {
    expect(scrubUrl('/x?api%5Fkey=abc&q=1')).toBe('/x?api%5Fkey=[secret]&q=1')
  })

  it('replaces a whole encoded value', () => {
    expect(scrubUrl('/x?email=jane%40example.com&q=a+b')).toBe('/x?email=[secret]&q=a+b')
  })

  it('leaves empty values and names without a value alone', () => {
    expect(scrubUrl('/x?token=&password&q=1')).toBe('/x?token=&password&q=1')
  })

  it('reaches a secret nested unencoded in another parameter', () => {
    expect(scrubUrl('/login?next=/account?token=abc&x=1')).toBe('/login?next=/account?token=[secret]&x=1')
  })

  it('treats ; as a separator', () => {
    expect(scrubUrl('/x?a=1;session=abc')).toBe('/x?a=1;session=[secret]')
  })

  it('removes credentials from the authority', () => {
    expect(scrubUrl('https://user:pa55@example.com/path?q=1')).toBe('https://[credentials]@example.com/path?q=1')
    expect(scrubUrl('https://user@example.com')).toBe('https://[credentials]@example.com')
    expect(scrubUrl('//user:pw@cdn.example/a.js')).toBe('//[credentials]@cdn.example/a.js')
    expect(scrubUrl('ftp://u:p@ss@files.example/x')).toBe('ftp://[credentials]@files.example/x')
    expect(scrubUrl('wss://user:pw@example.com:8443/socket#x')).toBe('wss://[credentials]@example.com:8443/socket#x')
  })

  it('does not take an @ in the path, query or fragment for credentials', () => {
    for (const url of ['https://example.com/users/@me', 'https://example.com/?to=a@b', 'https://example.com/#@x', 'mailto:jane@example.com']) {
      expect(scrubUrl(url)).toBe(url)
    }
  })

  it('replaces tokens in the fragment', () => {
    expect(scrubUrl('https://app.example/cb#access_token=eyJhbGciOi.x.y&token_type=bearer&expires_in=3600')).toBe(
      'https://app.example/cb#access_token=[secret]&token_type=[secret]&expires_in=3600',
    )
    expect(scrubUrl('https://app.example/cb#id_token=abc&state=xyz')).toBe('https://app.example/cb#id_token=[secret]&state=xyz')
    expect(scrubUrl('https://app.example/cb?code=1#state=s&refresh_token=r')).toBe('https://app.example/cb?code=1#state=s&refresh_token=[secret]')
    expect(scrubUrl('https://app.example/#/reset?token=abc&tab=2')).toBe('https://app.example/#/reset?token=[secret]&tab=2')
  })

  it('leaves clean URLs byte-identical', () => {
    const clean = [
      'https://example.com',
      'https://example.com/',
      'https://example.com/app/v1.2.3/main.4f9a2c1e.js',
      'https://example.com/users/3fa85f64-5717-4562-b3fc-2c963f66afa6/orders/42',
      'https://example.com/search?q=caf%C3%A9+au+lait&page=2&page=3',
      'https://example.com/search?q=a%20b&sort=-price&filter[]=x&filter[]=y',
      'https://example.com/a?sha=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'https://example.com/path;matrix=1?x=%ZZ&y=%E0%A4%A#frag',
      'https://EXAMPLE.com:443/./a/../b?%7E=1&&=&a==b',
      'https://example.com/#/dashboard?tab=2',
      'https://example.com/#section-2',
      '/relative/path?utm_source=news&utm_medium=email-campaign',
      'relative/path',
      '?page=1',
      '#top',
      '',
      'not a url at all',
      'http://[::1]:8080/x?v=1',
      'blob:https://example.com/3fa85f64-5717-4562-b3fc-2c963f66afa6',
      'data:text/plain,hello',
      'https://example.com/author/jane',
    ]
    for (const url of clean) expect(scrubUrl(url)).toBe(url)
  })

  it('does not throw on malformed input', () => {
    for (const url of ['%', '?%=x', '?%E0%A4%A=1', '?token=%ZZ', '::::', '//@', 'http://', '?&&&==&', '#=', '\u0000\ud800?token=\udfff']) {
      expect(() => scrubUrl(url)).not.toThrow()
    }
    expect(scrubUrl('?%=x')).toBe('?%=x')
    expect(scrubUrl('?%ZZtoken=1')).toBe('?%ZZtoken=[secret]')
  })

  it('handles very long strings in linear time', () => {
    const long = 'https://example.com/?' + 'a'.repeat(2_000_000) + '&token=x'
    const separators = 'https://example.com/?' + '&'.repeat(500_000) + '?='.repeat(500_000)
    const started = Date.now()
    expect(scrubUrl(long)).toBe(long.slice(0, -1) + '[secret]')
    expect(scrubUrl(separators)).toBe(separators)
    expect(Date.now() - started).toBeLessThan(1000)
  })
})

import { describe, expect, it } from 'vitest'
import { DEFAULT_SCRUB } from '../../src/apps/appSettings.js'
import { isIpv6 } from '../../src/privacy/scrub/builtInRules.js'
import { createScrubber } from '../../src/privacy/scrub/createScrubber.js'
import { passesLuhn } from '../../src/privacy/scrub/passesLuhn.js'
import { passesMod97 } from '../../src/privacy/scrub/passesMod97.js'

const scrub = createScrubber({ ...DEFAULT_SCRUB }).text

/** Each case: [input, expected]. Negative cases expect the input back byte-identical. */
const CASES: Record<string, Array<[string, string]>> = {
  email: [
    ['mail john.doe+tag@example.co.uk now', 'mail [email] now'],
    ['MARIA@Example.DE.', '[email].'],
    ['q=li%40example.io', 'q=[email]'],
    ['checkout@https://shop.example.com/app.js:1:200', 'checkout@https://shop.example.com/app.js:1:200'],
    ['render@app.js:12:5', 'render@app.js:12:5'],
    ['logo@2x.png', 'logo@2x.png'],
    ['loaded from /etc/shop/greta.lindqvist@example.org.json', 'loaded from /etc/shop/[email].json'],
    ['export greta@mail.example.co.uk.txt', 'export [email].txt'],
    ['icons@app.min.js', 'icons@app.min.js'],
    ['sprite@ui.bundle.css', 'sprite@ui.bundle.css'],
    ['git+ssh://git@github.com/org/repo.git', 'git+ssh://git@github.com/org/repo.git'],
    ['@babel/core@7.24.0', '@babel/core@7.24.0'],
  ],
  phone: [
    ['call +1 415 555 0132.', 'call [phone].'],
    ['+44 20 7946 0958', '[phone]'],
    ['(415) 555-0132', '[phone]'],
    ['415-555-0132 or 415.555.0132', '[phone] or [phone]'],
    ['tel 020 7946 0958', 'tel [phone]'],
    ['06 12 34 56 78', '[phone]'],
    ['0044 20 7946 0958', '[phone]'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T12:00:00+02:00'],
    ['at 1700000000000 and 1700000000', 'at 1700000000000 and 1700000000'],
    ['$1,299.00 and 1920x1080', '$1,299.00 and 1920x1080'],
    ['release 2026.10.20', 'release 2026.10.20'],
    ['viewBox="0 0 1920 1080"', 'viewBox="0 0 1920 1080"'],
  ],
  ip: [
    ['from 203.0.113.9:443', 'from [ip]:443'],
    ['http://10.1.2.3/admin', 'http://[ip]/admin'],
    ['/u/61.92.198.122/orders', '/u/[ip]/orders'],
    ['v6 2001:db8::8a2e:370:7334 x', 'v6 [ip] x'],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '[ip]'],
    ['to fe80::1:2: timeout', 'to [ip]: timeout'],
    ['::ffff:192.0.2.1', '[ip]'],
    ['Chrome/120.0.0.0 Safari/537.36', 'Chrome/120.0.0.0 Safari/537.36'],
    ['Chrome/120.0.6099.109', 'Chrome/120.0.6099.109'],
    ['v1.2.3.4 and 10.0.19045.3803 and 256.1.1.1', 'v1.2.3.4 and 10.0.19045.3803 and 256.1.1.1'],
    ['at 12:30:45 in Foo::bar and dead::beef', 'at 12:30:45 in Foo::bar and dead::beef'],
    ['mac aa:bb:cc:dd:ee:ff', 'mac aa:bb:cc:dd:ee:ff'],
  ],
  card: [
    ['card 4111 1111 1111 1111 ok', 'card [card] ok'],
    ['4111-1111-1111-1111', '[card]'],
    ['5555555555554444', '[card]'],
    ['amex 378282246310005', 'amex [card]'],
    ['4111 1111 1111 1111 2024', '[card] 2024'],
    ['4111 1111 1111 1112', '4111 1111 1111 1112'],
    ['ts 1700000000006', 'ts 1700000000006'],
    ['sha 4111111111111111abcdef', 'sha 4111111111111111abcdef'],
    ['550e8400-e29b-41d4-a716-446655440000', '550e8400-e29b-41d4-a716-446655440000'],
  ],
  iban: [
    ['pay DE89 3704 0044 0532 0130 00 EUR', 'pay [iban] EUR'],
    ['GB82WEST12345698765432', '[iban]'],
    ['GB82 WEST 1234 5698 7654 33', 'GB82 WEST 1234 5698 7654 33'],
    ['AB12 CDEF GHIJ', 'AB12 CDEF GHIJ'],
  ],
  ssn: [
    ['ssn 123-45-6789', 'ssn [ssn]'],
    ['ssn 123 45 6789', 'ssn [ssn]'],
    ['000-12-3456 666-12-3456 912-12-3456 123-00-4567 123-45-0000', '000-12-3456 666-12-3456 912-12-3456 123-00-4567 123-45-0000'],
    ['123-45 6789', '123-45 6789'],
  ],
  jwt: [
    ['t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc_def', 't=[jwt]'],
    ['eyJhbGciOiJIUzI1NiJ9 alone', 'eyJhbGciOiJIUzI1NiJ9 alone'],
  ],
  token: [
    ['Authorization: Bearer abcdefghijk123', 'Authorization: Bearer [token]'],
    ['Basic dXNlcjpwYXNzd29yZA==', 'Basic [token]'],
    [`key ghp_${'a1'.repeat(18)}`, 'key [token]'],
    [`github_pat_${'A'.repeat(22)}_${'b'.repeat(30)}`, '[token]'],
    ['xoxb-123456789012-abcdefABCDEF', '[token]'],
    [`sk_live_${'x'.repeat(24)} rk_live_${'y'.repeat(24)}`, '[token] [token]'],
    ['AKIAIOSFODNN7EXAMPLE', '[token]'],
    [`AIza${'B'.repeat(35)}`, '[token]'],
    [`sk-proj-${'c'.repeat(40)}`, '[token]'],
    ['x -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- y', 'x [token] y'],
    ['cut -----BEGIN PRIVATE KEY-----\nMIIEvQIB', 'cut [token]'],
    ['pk_live_publishable is public; sk-short; a Bearer of news', 'pk_live_publishable is public; sk-short; a Bearer of news'],
  ],
  secret: [
    ['password=hunter2&x=1', 'password=[secret]&x=1'],
    ['{"api_key":"abc123","ok":1}', '{"api_key":"[secret]","ok":1}'],
    ["{'sessionToken': 'zzz'}", "{'sessionToken': '[secret]'}"],
    ['Cookie: sid', 'Cookie: [secret]'],
    ['TokenExpiredError: jwt expired', 'TokenExpiredError: jwt expired'],
    ['at authenticate (auth.js:12:5)', 'at authenticate (auth.js:12:5)'],
    ['{"className":"btn"}', '{"className":"btn"}'],
  ],
  credentials: [
    ['https://alice:pw@host.com/x', 'https://[credentials]@host.com/x'],
    ['postgres://app:s3cret@db.internal/app', 'postgres://[credentials]@db.internal/app'],
  ],
}

describe('built-in scrubbing rules', () => {
  for (const [type, cases] of Object.entries(CASES)) {
    describe(type, () => {
      it.each(cases)('%j', (input, expected) => {
        expect(scrub(input)).toBe(expected)
      })
    })
  }
})

describe('checksums', () => {
  it('passesLuhn', () => {
    expect(passesLuhn('4111111111111111')).toBe(true)
    expect(passesLuhn('4111111111111112')).toBe(false)
    expect(passesLuhn('41x1')).toBe(false)
  })
  it('passesMod97', () => {
    expect(passesMod97('DE89370400440532013000')).toBe(true)
    expect(passesMod97('DE89370400440532013001')).toBe(false)
    expect(passesMod97('DE89')).toBe(false)
  })
  it('isIpv6', () => {
    expect(isIpv6('::1')).toBe(false)
    expect(isIpv6('fe80::1')).toBe(true)
    expect(isIpv6('1:2:3:4:5:6:7:8')).toBe(true)
    expect(isIpv6('1:2:3:4:5:6:7')).toBe(false)
    expect(isIpv6('1::2::3')).toBe(false)
  })
})

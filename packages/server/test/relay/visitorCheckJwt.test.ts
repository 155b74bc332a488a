import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createVisitorCheck, type VisitorCheckOptions } from '../../src/relay/visitorCheck/createVisitorCheck.js'

const SECRET = 'a-long-random-hs256-secret-for-tests-only'
const START = Date.UTC(2025, 0, 15, 12, 0, 0)
const NOW = START / 1000

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const PUBLIC_PEM = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string

function part(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

function hs256(claims: unknown, options: { secret?: string | Buffer; header?: unknown } = {}): string {
  const input = `${part(options.header ?? { alg: 'HS256', typ: 'JWT' })}.${part(claims)}`
  return `${input}.${createHmac('sha256', options.secret ?? SECRET).update(input).digest('base64url')}`
}

function rs256(claims: unknown, options: { key?: KeyObject; header?: unknown } = {}): string {
  const input = `${part(options.header ?? { alg: 'RS256', typ: 'JWT' })}.${part(claims)}`
  return `${input}.${sign('sha256', Buffer.from(input), options.key ?? rsa.privateKey).toString('base64url')}`
}

function setup(overrides: Partial<Extract<VisitorCheckOptions, { method: 'jwt' }>> = { hs256Secret: SECRET }) {
  const clock = { t: START, now: () => clock.t }
  const visitorCheck = createVisitorCheck({ method: 'jwt', cookieName: 'session', ...overrides }, { clock })
  return {
    clock,
    check: (cookie: string | undefined) => visitorCheck.check({ cookie }),
    token: (claims: unknown) => visitorCheck.check({ cookie: `session=${hs256(claims)}` }),
  }
}

function lengthFourNPlusOne(text: string): string {
  let padded = text
  while (padded.length % 4 !== 1) padded += 'A'
  return padded
}

const OK = { ok: true }
const INVALID = { ok: false, reason: 'invalid' }
const EXPIRED = { ok: false, reason: 'expired' }
const MISSING = { ok: false, reason: 'missing' }

describe('jwt visitor check: HS256', () => {
  it('passes a valid token', async () => {
    expect(await setup().token({ sub: 'visitor-1', exp: NOW + 600 })).toEqual(OK)
  })

  it('refuses an expired token as expired, with the clock tolerance', async () => {
    const { token } = setup()
    expect(await token({ exp: NOW - 60 })).toEqual(EXPIRED)
    expect(await token({ exp: NOW - 30 })).toEqual(EXPIRED)
    expect(await token({ exp: NOW - 29 })).toEqual(OK)
  })

  it('expires a token as the injected clock moves, not the real one', async () => {
    const { check, clock } = setup({ hs256Secret: SECRET, clockToleranceSeconds: 0 })
    const cookie = `session=${hs256({ exp: NOW + 3600 })}`
    expect(await check(cookie)).toEqual(OK)
    clock.t += 3599_000
    expect(await check(cookie)).toEqual(OK)
    clock.t += 1_000
    expect(await check(cookie)).toEqual(EXPIRED)
  })

  it('refuses a token that is not yet valid, beyond the tolerance', async () => {
    const { token } = setup()
    expect(await token({ exp: NOW + 600, nbf: NOW + 120 })).toEqual(INVALID)
    expect(await token({ exp: NOW + 600, nbf: NOW + 20 })).toEqual(OK)
    expect(await token({ exp: NOW + 600, nbf: NOW - 20 })).toEqual(OK)
  })

  it('requires exp, and numeric dates', async () => {
    const { token } = setup()
    expect(await token({ sub: 'forever' })).toEqual(INVALID)
    expect(await token({ exp: String(NOW + 600) })).toEqual(INVALID)
    expect(await token({ exp: null })).toEqual(INVALID)
    expect(await token({ exp: NOW + 600, nbf: 'yesterday' })).toEqual(INVALID)
  })

  it('accepts a fractional exp (NumericDate may be non-integer)', async () => {
    expect(await setup().token({ exp: NOW + 600.5 })).toEqual(OK)
  })

  it('refuses a wrong signature', async () => {
    const { check } = setup()
    const claims = { exp: NOW + 600 }
    expect(await check(`session=${hs256(claims, { secret: 'another-secret-of-the-same-kind-xxxxxx' })}`)).toEqual(INVALID)
    const good = hs256(claims)
    const flipped = good.slice(0, -2) + (good.at(-2) === 'A' ? 'B' : 'A') + good.at(-1)
    expect(await check(`session=${flipped}`)).toEqual(INVALID)
    // A valid signature moved onto other claims.
    const [header, , signature] = good.split('.')
    expect(await check(`session=${header}.${part({ exp: NOW + 999_999, admin: true })}.${signature}`)).toEqual(INVALID)
    // Truncated and empty signatures.
    expect(await check(`session=${good.slice(0, -4)}`)).toEqual(INVALID)
    expect(await check(`session=${header}.${part(claims)}.`)).toEqual(INVALID)
  })

  it('refuses alg none in every spelling, signed or not', async () => {
    const { check } = setup()
    const claims = part({ exp: NOW + 600 })
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const header = part({ alg, typ: 'JWT' })
      expect(await check(`session=${header}.${claims}.`)).toEqual(INVALID)
      expect(await check(`session=${header}.${claims}`)).toEqual(INVALID)
      expect(await check(`session=${hs256({ exp: NOW + 600 }, { header: { alg } })}`)).toEqual(INVALID)
    }
  })

  it('refuses an RS256 token and other algorithms when HS256 is configured', async () => {
    const { check } = setup()
    expect(await check(`session=${rs256({ exp: NOW + 600 })}`)).toEqual(INVALID)
    for (const alg of ['HS384', 'HS512', 'hs256', 'ES256', 'PS256', '', null, ['HS256']]) {
      expect(await check(`session=${hs256({ exp: NOW + 600 }, { header: { alg } })}`)).toEqual(INVALID)
    }
    expect(await check(`session=${hs256({ exp: NOW + 600 }, { header: { typ: 'JWT' } })}`)).toEqual(INVALID)
  })

  it('refuses a token with a crit header (extensions we do not implement)', async () => {
    const { check } = setup()
    expect(await check(`session=${hs256({ exp: NOW + 600 }, { header: { alg: 'HS256', crit: ['b64'], b64: false } })}`)).toEqual(INVALID)
  })

  it('checks iss and aud when configured', async () => {
    const { token } = setup({ hs256Secret: SECRET, issuer: 'https://login.example.com', audience: 'tacit-relay' })
    const exp = NOW + 600
    expect(await token({ exp, iss: 'https://login.example.com', aud: 'tacit-relay' })).toEqual(OK)
    expect(await token({ exp, iss: 'https://login.example.com', aud: ['other', 'tacit-relay'] })).toEqual(OK)
    expect(await token({ exp, iss: 'https://evil.example.com', aud: 'tacit-relay' })).toEqual(INVALID)
    expect(await token({ exp, aud: 'tacit-relay' })).toEqual(INVALID)
    expect(await token({ exp, iss: 'https://login.example.com', aud: 'other' })).toEqual(INVALID)
    expect(await token({ exp, iss: 'https://login.example.com', aud: ['other'] })).toEqual(INVALID)
    expect(await token({ exp, iss: 'https://login.example.com' })).toEqual(INVALID)
    expect(await token({ exp, iss: ['https://login.example.com'], aud: 'tacit-relay' })).toEqual(INVALID)
  })

  it('prefers invalid over expired when the token is not for us', async () => {
    const { token } = setup({ hs256Secret: SECRET, issuer: 'me' })
    expect(await token({ exp: NOW - 3600, iss: 'someone-else' })).toEqual(INVALID)
  })

  it('ignores iss and aud when not configured', async () => {
    expect(await setup().token({ exp: NOW + 600, iss: 'anyone', aud: ['anything'] })).toEqual(OK)
  })

  it('answers invalid, never throws, for malformed tokens of many shapes', async () => {
    const { check } = setup()
    const good = hs256({ exp: NOW + 600 })
    const [header = '', payload = '', signature = ''] = good.split('.')
    const signed = (headerText: string, payloadText: string) => {
      const input = `${headerText}.${payloadText}`
      return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
    }
    const hs = part({ alg: 'HS256' })
    const shapes = [
      'x',
      'abc',
      '.',
      '..',
      '...',
      'a.b',
      'a.b.c',
      'a.b.c.d',
      `${good}.`,
      `.${good}`,
      `${good}.${signature}`,
      `${header}.${payload}`,
      `${header}..${signature}`,
      `.${payload}.${signature}`,
      `!!!.@@@.###`,
      `${header}.${payload}.${signature}=`,
      `${header}=.${payload}.${signature}`,
      `${header}.${payload.replace(/-/g, '+').replace(/_/g, '/')}/+.${signature}`,
      `${header} .${payload}.${signature}`,
      `${header}.${payload}.${signature.slice(0, 10)}*${signature.slice(11)}`,
      // Correctly signed, broken inside.
      signed(hs, part('not json')),
      signed(hs, part('')),
      signed(hs, part('[1,2,3]')),
      signed(hs, part('null')),
      signed(hs, part('42')),
      signed(hs, part('"a string"')),
      signed(hs, part('{"exp":')),
      signed(hs, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url')),
      signed(part('"HS256"'), part({ exp: NOW + 600 })),
      signed(part('{alg:HS256}'), part({ exp: NOW + 600 })),
      signed(part('[{"alg":"HS256"}]'), part({ exp: NOW + 600 })),
      signed(hs, part({ exp: NOW + 600 }).slice(0, -1)),
      // Base64url with a length no encoder produces (4n + 1).
      signed(hs, lengthFourNPlusOne(part({ exp: NOW + 600 }))),
      '\u0000\u0001\u0002',
      'é.é.é',
      '%',
    ]
    for (const shape of shapes) {
      const verdict = await check(`session=${encodeURIComponent(shape)}`)
      expect(verdict, shape).toEqual(INVALID)
    }
  })

  it('refuses non-canonical base64url (stray trailing bits) even with a valid HMAC', async () => {
    const { check } = setup()
    const input = `${part({ alg: 'HS256' })}.${part({ exp: NOW + 600 })}`
    const mac = createHmac('sha256', SECRET).update(input).digest('base64url')
    expect(await check(`session=${input}.${mac}`)).toEqual(OK)
    const lastChar = mac.at(-1) ?? ''
    // 32 bytes → 43 chars; the last char carries 4 data bits and 2 padding bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const sibling = alphabet[alphabet.indexOf(lastChar) ^ 1] ?? ''
    expect(Buffer.from(mac.slice(0, -1) + sibling, 'base64url')).toEqual(Buffer.from(mac, 'base64url'))
    expect(await check(`session=${input}.${mac.slice(0, -1)}${sibling}`)).toEqual(INVALID)
  })

  it('refuses an oversized cookie, even when correctly signed', async () => {
    const { check } = setup()
    const big = hs256({ exp: NOW + 600, pad: 'x'.repeat(7000) })
    expect(big.length).toBeGreaterThan(8 * 1024)
    expect(await check(`session=${big}`)).toEqual(INVALID)
    const fits = hs256({ exp: NOW + 600, pad: 'x'.repeat(5000) })
    expect(fits.length).toBeLessThan(8 * 1024)
    expect(await check(`session=${fits}`)).toEqual(OK)
    expect(await check(`session=${'A'.repeat(1_000_000)}`)).toEqual(INVALID)
  })

  it('finds the cookie among others, by its exact name', async () => {
    const { check } = setup()
    const good = hs256({ exp: NOW + 600 })
    const bad = hs256({ exp: NOW + 600 }, { secret: 'not-the-secret-but-as-long-as-it-is-xxx' })
    expect(await check(`theme=dark; session=${good}; _ga=GA1.2.3`)).toEqual(OK)
    expect(await check(`xsession=${bad};session=${good}`)).toEqual(OK)
    expect(await check(`session_old=${bad}; SESSION=${bad}; session = ${good} `)).toEqual(OK)
    expect(await check(`flag; session=${good}`)).toEqual(OK)
    // The first of two same-named cookies wins, as in the cookie package.
    expect(await check(`session=${good}; session=${bad}`)).toEqual(OK)
    expect(await check(`session=${bad}; session=${good}`)).toEqual(INVALID)
  })

  it('URL-decodes the cookie value and accepts a quoted one', async () => {
    const { check } = setup()
    const good = hs256({ exp: NOW + 600 })
    const everyCharEncoded = [...good].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('')
    expect(await check(`session=${everyCharEncoded}`)).toEqual(OK)
    expect(await check(`session=${good.replace(/\./g, '%2e')}`)).toEqual(OK)
    expect(await check(`session="${good}"`)).toEqual(OK)
    expect(await check(`session=${good}%E0%A4%A`)).toEqual(INVALID)
  })

  it('answers missing without a cookie', async () => {
    const { check } = setup()
    expect(await check(undefined)).toEqual(MISSING)
    expect(await check('')).toEqual(MISSING)
    expect(await check('theme=dark; other=1')).toEqual(MISSING)
    expect(await check('session=')).toEqual(MISSING)
    expect(await check('session=""; theme=dark')).toEqual(MISSING)
    expect(await check('sessionx=abc')).toEqual(MISSING)
  })
})

describe('jwt visitor check: RS256', () => {
  const rsSetup = () => setup({ rs256PublicKey: PUBLIC_PEM })

  it('passes a valid token', async () => {
    expect(await rsSetup().check(`session=${rs256({ sub: 'visitor-1', exp: NOW + 600 })}`)).toEqual(OK)
  })

  it('accepts a PKCS#1 PEM too', async () => {
    const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string
    expect(await setup({ rs256PublicKey: pkcs1 }).check(`session=${rs256({ exp: NOW + 600 })}`)).toEqual(OK)
  })

  it('refuses expired, not-yet-valid and exp-less tokens', async () => {
    const { check } = rsSetup()
    expect(await check(`session=${rs256({ exp: NOW - 60 })}`)).toEqual(EXPIRED)
    expect(await check(`session=${rs256({ exp: NOW + 600, nbf: NOW + 600 })}`)).toEqual(INVALID)
    expect(await check(`session=${rs256({ sub: 'x' })}`)).toEqual(INVALID)
  })

  it('refuses a token signed by another key, or tampered with', async () => {
    const { check } = rsSetup()
    expect(await check(`session=${rs256({ exp: NOW + 600 }, { key: otherRsa.privateKey })}`)).toEqual(INVALID)
    const [header, , signature] = rs256({ exp: NOW + 600 }).split('.')
    expect(await check(`session=${header}.${part({ exp: NOW + 600, admin: true })}.${signature}`)).toEqual(INVALID)
    expect(await check(`session=${header}.${part({ exp: NOW + 600 })}.${signature?.slice(0, 20)}`)).toEqual(INVALID)
  })

  it('refuses the alg-confusion attack: HS256 signed with the public key PEM as the secret', async () => {
    const { check } = rsSetup()
    for (const secret of [PUBLIC_PEM, PUBLIC_PEM.trim(), rsa.publicKey.export({ type: 'spki', format: 'der' })]) {
      expect(await check(`session=${hs256({ exp: NOW + 600 }, { secret })}`)).toEqual(INVALID)
    }
  })

  it('refuses alg none and a header that lies about the algorithm', async () => {
    const { check } = rsSetup()
    const [, payload, signature] = rs256({ exp: NOW + 600 }).split('.')
    expect(await check(`session=${part({ alg: 'none' })}.${payload}.`)).toEqual(INVALID)
    expect(await check(`session=${part({ alg: 'RS512' })}.${payload}.${signature}`)).toEqual(INVALID)
    expect(await check(`session=${rs256({ exp: NOW + 600 }, { header: { alg: 'PS256' } })}`)).toEqual(INVALID)
  })

  it('checks iss and aud', async () => {
    const { check } = setup({ rs256PublicKey: PUBLIC_PEM, issuer: 'idp', audience: 'relay' })
    expect(await check(`session=${rs256({ exp: NOW + 600, iss: 'idp', aud: ['relay'] })}`)).toEqual(OK)
    expect(await check(`session=${rs256({ exp: NOW + 600, iss: 'idp', aud: 'nope' })}`)).toEqual(INVALID)
    expect(await check(`session=${rs256({ exp: NOW + 600, iss: 'other', aud: 'relay' })}`)).toEqual(INVALID)
  })
})

describe('jwt visitor check: options are validated at creation', () => {
  const create = (options: Record<string, unknown>) => () =>
    createVisitorCheck({ method: 'jwt', cookieName: 'session', ...options } as VisitorCheckOptions, { clock: { now: () => START } })

  it('needs exactly one key', () => {
    expect(create({})).toThrow(/exactly one of "hs256Secret" or "rs256PublicKey"/)
    expect(create({ hs256Secret: SECRET, rs256PublicKey: PUBLIC_PEM })).toThrow(/exactly one/)
    expect(create({ hs256Secret: '' })).toThrow(/non-empty/)
  })

  it('refuses keys that are not RSA public keys of 2048 bits or more', () => {
    expect(create({ rs256PublicKey: 'not a pem' })).toThrow(/not a PEM public key/)
    expect(create({ rs256PublicKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) })).toThrow(/private key/)
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' })
    expect(create({ rs256PublicKey: ec })).toThrow(/RSA/)
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' })
    expect(create({ rs256PublicKey: small })).toThrow(/2048/)
  })

  it('refuses bad cookie names, tolerances, issuers and audiences', () => {
    expect(create({ hs256Secret: SECRET, cookieName: '' })).toThrow(/cookieName/)
    expect(create({ hs256Secret: SECRET, cookieName: 'a=b' })).toThrow(/cookieName/)
    expect(create({ hs256Secret: SECRET, cookieName: 'a b' })).toThrow(/cookieName/)
    expect(create({ hs256Secret: SECRET, clockToleranceSeconds: -1 })).toThrow(/clockToleranceSeconds/)
    expect(create({ hs256Secret: SECRET, clockToleranceSeconds: Number.NaN })).toThrow(/clockToleranceSeconds/)
    expect(create({ hs256Secret: SECRET, issuer: '' })).toThrow(/issuer/)
    expect(create({ hs256Secret: SECRET, audience: 42 })).toThrow(/audience/)
  })

  it('refuses an unknown method', () => {
    expect(() => createVisitorCheck({ method: 'magic' } as unknown as VisitorCheckOptions, { clock: { now: () => START } })).toThrow(/Unknown visitor check method "magic"/)
  })
})

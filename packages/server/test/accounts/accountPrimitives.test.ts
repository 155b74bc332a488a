import { describe, expect, it } from 'vitest'
import { ACCOUNT_POLICY, CLIENT_POLICY, clientKey, createLoginThrottle } from '../../src/accounts/createLoginThrottle.js'
import { normalizeEmail } from '../../src/accounts/emailAddress.js'
import { hashPassword, verifyDecoy, verifyPassword } from '../../src/accounts/hashPassword.js'
import { passwordProblem } from '../../src/accounts/passwordRules.js'
import { csrfTokenMatches, csrfTokenOf, sessionCookie, sessionIdFromCookieHeader } from '../../src/accounts/userSessions.js'
import { cryptoRandom, type RandomSource } from '../../src/randomSource.js'
import { createFakeClock } from './accountTestServer.js'

const ID = 'A'.repeat(21) + '_-' + 'b'.repeat(20)

describe('hashPassword (scrypt)', () => {
  it('stores parameters, salt and hash, never the password, and verifies in both directions', async () => {
    const hash = await hashPassword('correct horse battery', cryptoRandom)
    expect(hash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    expect(hash).not.toContain('correct')
    expect(await verifyPassword('correct horse battery', hash)).toBe(true)
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false)
    expect(await verifyPassword('', hash)).toBe(false)
    // A fresh salt each time: the same password never hashes the same twice.
    expect(await hashPassword('correct horse battery', cryptoRandom)).not.toBe(hash)
  })

  it('treats composed and decomposed Unicode as the same password', async () => {
    const hash = await hashPassword('caf\u00e9-au-lait!', cryptoRandom)
    expect(await verifyPassword('cafe\u0301-au-lait!', hash)).toBe(true)
  })

  it('never matches a malformed or hostile stored value (absurd parameters are refused, not computed)', async () => {
    for (const stored of ['', 'plain', 'scrypt$15$8$1$$', `scrypt$30$8$1$${'a'.repeat(22)}$${'b'.repeat(43)}`, `scrypt$15$99$1$${'a'.repeat(22)}$${'b'.repeat(43)}`, `bcrypt$15$8$1$${'a'.repeat(22)}$${'b'.repeat(43)}`]) {
      expect(await verifyPassword('anything at all', stored)).toBe(false)
    }
  })

  it('answers an unknown account with false after doing the same work', async () => {
    expect(await verifyDecoy('whatever password', cryptoRandom)).toBe(false)
  })
})

describe('passwordProblem', () => {
  it('wants 10 to 256 characters, counted as characters, and not the email', () => {
    expect(passwordProblem('short', 'ann@example.com')).toMatch(/at least 10/)
    expect(passwordProblem('\u{1F600}'.repeat(9), 'ann@example.com')).toMatch(/at least 10/)
    expect(passwordProblem('x'.repeat(5) + 'y'.repeat(252), 'ann@example.com')).toMatch(/at most 256/)
    expect(passwordProblem('Ann@Example.com', 'ann@example.com')).toMatch(/email/)
    expect(passwordProblem('aaaaaaaaaaaa', 'ann@example.com')).toMatch(/repeated/)
    expect(passwordProblem('correct horse battery', 'ann@example.com')).toBeUndefined()
    expect(passwordProblem('\u{1F600}\u{1F601}'.repeat(5), 'ann@example.com')).toBeUndefined()
  })
})

describe('normalizeEmail', () => {
  it('trims and lower-cases plausible addresses and refuses the rest', () => {
    expect(normalizeEmail('  Ann@Example.COM ')).toBe('ann@example.com')
    for (const bad of [undefined, 42, '', 'ann', 'ann@', '@example.com', 'ann@example', 'a b@example.com', 'ann@@example.com', 'ann\u0000@example.com', 'ann\u202e@example.com', '<ann>@example.com', `${'a'.repeat(65)}@example.com`, `ann@${'a'.repeat(250)}.com`]) {
      expect(normalizeEmail(bad), String(bad)).toBeUndefined()
    }
  })
})

describe('session cookie and CSRF token', () => {
  it('reads only a well-formed tacit_session from the Cookie header', () => {
    expect(sessionIdFromCookieHeader(`tacit_session=${ID}`)).toBe(ID)
    expect(sessionIdFromCookieHeader(`a=1; tacit_session=${ID}; b=2`)).toBe(ID)
    expect(sessionIdFromCookieHeader(`tacit_session="${ID}"`)).toBe(ID)
    expect(sessionIdFromCookieHeader(`xtacit_session=${ID}`)).toBeUndefined()
    expect(sessionIdFromCookieHeader(`tacit_session_old=${ID}`)).toBeUndefined()
    expect(sessionIdFromCookieHeader(`tacit_session=${ID}x`)).toBeUndefined()
    expect(sessionIdFromCookieHeader(`tacit_session=${ID.slice(1)}'`)).toBeUndefined()
    expect(sessionIdFromCookieHeader('tacit_session=%00; =; ;;')).toBeUndefined()
    expect(sessionIdFromCookieHeader(undefined)).toBeUndefined()
    expect(sessionIdFromCookieHeader(`tacit_session=bad; tacit_session=${ID}`)).toBe(ID)
    expect(sessionIdFromCookieHeader(`${'x=1; '.repeat(4000)}tacit_session=${ID}`)).toBeUndefined()
  })

  it('sets HttpOnly, SameSite=Strict, Path=/ and Secure only over HTTPS', () => {
    expect(sessionCookie(ID, 7_000, false)).toBe(`tacit_session=${ID}; Path=/; HttpOnly; SameSite=Strict; Max-Age=7`)
    expect(sessionCookie(ID, 7_000, true)).toMatch(/; Secure$/)
  })

  it('derives a CSRF token that matches its session only and does not contain the id', () => {
    const token = csrfTokenOf(ID)
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(token).not.toContain(ID.slice(0, 10))
    expect(csrfTokenMatches(ID, token)).toBe(true)
    expect(csrfTokenMatches(ID.replace('A', 'B'), token)).toBe(false)
    expect(csrfTokenMatches(ID, token.slice(1))).toBe(false)
    expect(csrfTokenMatches(ID, '')).toBe(false)
  })
})

describe('createLoginThrottle', () => {
  const T0 = Date.UTC(2026, 10, 2, 9)
  const fixedRandom: RandomSource = { bytes: (n) => Buffer.alloc(n, 7) }
  const keys = { account: 'ann@example.com', client: '203.0.113.9' }

  it('backs off after the free tries, locks the account at 10 failures for 15 minutes, then forgets', async () => {
    const clock = createFakeClock(T0)
    const throttle = createLoginThrottle({ clock, random: fixedRandom })
    for (let i = 0; i < ACCOUNT_POLICY.free; i++) {
      expect(await throttle.check(keys)).toEqual({ allowed: true })
      await throttle.recordFailure(keys)
    }
    // Fourth try: one second after the third failure.
    expect(await throttle.check(keys)).toEqual({ allowed: false, retryAfterMs: 1000, locked: false })
    clock.advance(1000)
    expect(await throttle.check(keys)).toEqual({ allowed: true })
    await throttle.recordFailure(keys)
    expect(await throttle.check(keys)).toMatchObject({ allowed: false, retryAfterMs: 2000 })
    // The same account from anywhere else waits as well.
    expect(await throttle.check({ ...keys, client: '198.51.100.1' })).toMatchObject({ allowed: false })
    // And another account from the same client does not.
    expect(await throttle.check({ ...keys, account: 'bob@example.com' })).toEqual({ allowed: true })
    for (let failures = ACCOUNT_POLICY.free + 1; failures < ACCOUNT_POLICY.lockAt; failures++) {
      clock.advance(ACCOUNT_POLICY.maxDelayMs)
      expect(await throttle.check(keys)).toEqual({ allowed: true })
      await throttle.recordFailure(keys)
    }
    expect(await throttle.check(keys)).toEqual({ allowed: false, retryAfterMs: ACCOUNT_POLICY.lockMs, locked: true })
    clock.advance(ACCOUNT_POLICY.lockMs - 1)
    expect(await throttle.check(keys)).toMatchObject({ allowed: false, locked: true, retryAfterMs: 1 })
    clock.advance(1)
    expect(await throttle.check(keys)).toEqual({ allowed: true })
  })

  it('clears the account on success but not the client', async () => {
    const clock = createFakeClock(T0)
    const throttle = createLoginThrottle({ clock, random: fixedRandom, client: { ...CLIENT_POLICY, free: 2 } })
    await throttle.recordFailure(keys)
    await throttle.recordFailure(keys)
    await throttle.recordSuccess(keys)
    expect(await throttle.check({ ...keys, account: 'carol@example.com' })).toMatchObject({ allowed: false })
    clock.advance(1000)
    expect(await throttle.check(keys)).toEqual({ allowed: true })
  })

  it('counts per client across accounts, and an IPv6 client per /48', async () => {
    const clock = createFakeClock(T0)
    const throttle = createLoginThrottle({ clock, random: fixedRandom })
    for (let i = 0; i < CLIENT_POLICY.lockAt; i++) {
      clock.advance(CLIENT_POLICY.maxDelayMs)
      await throttle.recordFailure({ account: `user${i}@example.com`, client: '2001:db8:1:2::1' })
    }
    expect(await throttle.check({ account: 'new@example.com', client: '2001:db8:1:ffff::9' })).toMatchObject({ allowed: false, locked: true })
    expect(await throttle.check({ account: 'new@example.com', client: '2001:db8:2::9' })).toEqual({ allowed: true })
    expect(clientKey('::ffff:203.0.113.9')).toBe('203.0.113.9')
  })

  it('keeps a bounded number of keys', async () => {
    const clock = createFakeClock(T0)
    const throttle = createLoginThrottle({ clock, random: fixedRandom, maxEntries: 10, account: { ...ACCOUNT_POLICY, free: 0 } })
    for (let i = 0; i < 50; i++) await throttle.recordFailure({ account: `user${i}@example.com`, client: `203.0.113.${i}` })
    // The oldest were dropped; the newest still wait.
    expect(await throttle.check({ account: 'user0@example.com', client: '198.51.100.1' })).toEqual({ allowed: true })
    expect(await throttle.check({ account: 'user49@example.com', client: '198.51.100.1' })).toMatchObject({ allowed: false })
  })
})

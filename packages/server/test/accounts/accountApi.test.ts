import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { InjectOptions } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AppRole } from '../../src/accounts/appRoles.js'
import { hashPassword } from '../../src/accounts/hashPassword.js'
import { createSetupToken, SETUP_TOKEN_TTL_MS } from '../../src/accounts/setupToken.js'
import { SESSION_ABSOLUTE_MS, SESSION_IDLE_MS } from '../../src/accounts/userSessions.js'
import { generateSecretKey, hashSecretKey, secretKeyHint } from '../../src/keys/secretKey.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { call, sessionCookieOf, startAccountTestServer, type AccountTestServer, type Answer } from './accountTestServer.js'

/**
 * The account routes of /api/v1 in process (Fastify inject through every hook), over a real SQLite store and
 * a fake clock: first-start setup, sign-in with throttling and lockout, session expiry and revocation, CSRF,
 * password changes, members, route-by-route authorization (including another app's id in the URL), hostile
 * input, the security headers, and that no secret is left in the database, the logs or later responses.
 */

const OWNER = { email: 'owner@example.com', password: 'owner-passphrase-1' }

let server: AccountTestServer
let shop: number
let blog: number

beforeEach(async () => {
  server = await startAccountTestServer()
  shop = (await server.temp.store.createApp({ name: 'shop', createdAt: server.clock.now(), settings: {} })).id
  blog = (await server.temp.store.createApp({ name: 'blog', createdAt: server.clock.now(), settings: {} })).id
})
afterEach(() => server.close())

interface Session {
  cookie: string
  csrf: string
  userId: number
}

const json = (method: InjectOptions['method'], url: string, body: unknown, headers: Record<string, string> = {}): InjectOptions => ({
  method,
  url,
  payload: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
})

const as = (session: Session | undefined, withCsrf = true): Record<string, string> =>
  session ? { cookie: `tacit_session=${session.cookie}`, ...(withCsrf && { 'x-tacit-csrf': session.csrf }) } : {}

async function setUp(credentials = OWNER): Promise<Session & { token: string }> {
  const token = await createSetupToken({ store: server.temp.store, clock: server.clock, random: cryptoRandom })
  const answer = await call(server, json('POST', '/api/v1/setup', { token, ...credentials }))
  expect(answer.status, answer.raw).toBe(201)
  return { cookie: sessionCookieOf(answer)!, csrf: answer.body.csrf_token as string, userId: (answer.body.user as { id: number }).id, token }
}

async function addUser(email: string, password: string, roles: Array<{ appId: number; role: AppRole }>): Promise<number> {
  const user = await server.temp.store.users.createUser({ email, passwordHash: await hashPassword(password, cryptoRandom), createdAt: server.clock.now(), roles })
  return user!.id
}

async function login(email: string, password: string, remoteAddress = '203.0.113.9'): Promise<Answer> {
  return call(server, { ...json('POST', '/api/v1/session', { email, password }), remoteAddress })
}

async function signedIn(email: string, password: string): Promise<Session> {
  const answer = await login(email, password)
  expect(answer.status, answer.raw).toBe(200)
  return { cookie: sessionCookieOf(answer)!, csrf: answer.body.csrf_token as string, userId: (answer.body.user as { id: number }).id }
}

async function apiKey(appId: number | null): Promise<string> {
  const key = generateSecretKey('api', cryptoRandom)
  await server.temp.store.secretKeys.create({ kind: 'api', appId, hash: hashSecretKey(key), hint: secretKeyHint(key), label: null, createdAt: server.clock.now() })
  return key
}

describe('first-start setup', () => {
  it('says whether setup is needed, creates the first owner of every app once, and signs them in', async () => {
    expect((await call(server, { method: 'GET', url: '/api/v1/setup' })).body).toEqual({ needed: true })
    const token = await createSetupToken({ store: server.temp.store, clock: server.clock, random: cryptoRandom })
    const answer = await call(server, json('POST', '/api/v1/setup', { token, email: ' Owner@Example.com ', password: OWNER.password }))
    expect(answer.status, answer.raw).toBe(201)
    expect(answer.body).toEqual({ user: { id: expect.any(Number), email: 'owner@example.com' }, csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })
    expect(answer.headers['set-cookie']).toMatch(/^tacit_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=604800$/)
    expect((await call(server, { method: 'GET', url: '/api/v1/setup' })).body).toEqual({ needed: false })
    const me = await call(server, { method: 'GET', url: '/api/v1/session', headers: { cookie: `tacit_session=${sessionCookieOf(answer)}` } })
    expect(me.body.apps).toEqual([{ id: shop, name: 'shop', role: 'owner' }, { id: blog, name: 'blog', role: 'owner' }])
    // One-time: the same link, or a new one, cannot make a second account.
    const again = await call(server, json('POST', '/api/v1/setup', { token, email: 'eve@example.com', password: 'eve-passphrase-1' }))
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({ error: 'conflict' })
    const audit = await server.temp.store.readAudit()
    expect(audit.map((e) => e.action).sort()).toEqual(['member.add', 'member.add', 'user.create'])
    expect(audit.every((e) => e.actor === `user:${(answer.body.user as { id: number }).id}`)).toBe(true)
  })

  it('refuses a wrong, malformed or expired token, and weak passwords', async () => {
    const token = await createSetupToken({ store: server.temp.store, clock: server.clock, random: cryptoRandom })
    const post = (body: unknown) => call(server, json('POST', '/api/v1/setup', body))
    expect((await post({ token: 'A'.repeat(43), ...OWNER })).status).toBe(401)
    expect((await post({ token: '../../etc/passwd', ...OWNER })).status).toBe(401)
    expect((await post({ token, email: OWNER.email, password: 'short' })).body).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/at least 10/) })
    expect((await post({ token, email: OWNER.email, password: OWNER.email })).body).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/email/) })
    expect((await post({ token, email: 'not an email', password: OWNER.password })).status).toBe(400)
    expect((await post({ token, ...OWNER, admin: true })).status).toBe(400)
    server.clock.advance(SETUP_TOKEN_TTL_MS)
    const expired = await post({ token, ...OWNER })
    expect(expired.status).toBe(401)
    expect(expired.body.message).toMatch(/expired/)
    expect(await server.temp.store.users.hasUsers()).toBe(false)
  })

  it('throttles guessing at setup tokens per client', async () => {
    for (let i = 0; i < 3; i++) expect((await call(server, { ...json('POST', '/api/v1/setup', { token: 'B'.repeat(43), ...OWNER }), remoteAddress: '198.51.100.7' })).status).toBe(401)
    const throttled = await call(server, { ...json('POST', '/api/v1/setup', { token: 'B'.repeat(43), ...OWNER }), remoteAddress: '198.51.100.7' })
    expect(throttled.status).toBe(429)
    expect(throttled.headers['retry-after']).toBe('1')
    // Another client is not held up.
    expect((await call(server, { ...json('POST', '/api/v1/setup', { token: 'B'.repeat(43), ...OWNER }), remoteAddress: '198.51.100.8' })).status).toBe(401)
  })
})

describe('sign-in', () => {
  beforeEach(() => setUp())

  it('signs in with the right password only, and reads an unknown email exactly like a wrong password', async () => {
    const good = await login('OWNER@example.com', OWNER.password)
    expect(good.status).toBe(200)
    expect(good.body).toEqual({ user: { id: expect.any(Number), email: OWNER.email }, csrf_token: expect.any(String) })
    const wrong = await login(OWNER.email, 'not-the-password', '198.51.100.1')
    const unknown = await login('nobody@example.com', 'not-the-password', '198.51.100.2')
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(unknown.body).toEqual(wrong.body)
    expect(wrong.headers['set-cookie']).toBeUndefined()
  })

  it('backs off after 3 failures and locks the account for 15 minutes at 10, even for the right password', async () => {
    for (let i = 0; i < 3; i++) expect((await login(OWNER.email, `wrong-password-${i}`)).status).toBe(401)
    const early = await login(OWNER.email, OWNER.password)
    expect(early.status).toBe(429)
    expect(early.headers['retry-after']).toBe('1')
    expect(early.body).toMatchObject({ error: 'too_many_requests' })
    // From another address too: the account is what is being guessed.
    expect((await login(OWNER.email, OWNER.password, '198.51.100.50')).status).toBe(429)
    for (let i = 3; i < 10; i++) {
      server.clock.advance(60_000)
      expect((await login(OWNER.email, `wrong-password-${i}`, `198.51.100.${i}`)).status).toBe(401)
    }
    server.clock.advance(60_000)
    const locked = await login(OWNER.email, OWNER.password, '198.51.100.99')
    expect(locked.status).toBe(429)
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(13 * 60)
    expect(locked.body.message).toMatch(/locked/)
    server.clock.advance(15 * 60_000)
    expect((await login(OWNER.email, OWNER.password)).status).toBe(200)
  })

  it('turns a burst of sign-ins beyond what the hasher queues away with 503, and keeps answering', async () => {
    const burst = await Promise.all(Array.from({ length: 80 }, (_, i) => login(`user${i}@example.com`, 'some-password-1', `198.51.${i}.1`)))
    const statuses = burst.map((answer) => answer.status)
    expect(statuses.filter((status) => status === 401).length).toBeGreaterThanOrEqual(60)
    const busy = burst.filter((answer) => answer.status === 503)
    expect(busy.length).toBeGreaterThan(0)
    expect(busy[0]!.body).toMatchObject({ error: 'busy' })
    expect(busy[0]!.headers['retry-after']).toBe('1')
    expect((await login(OWNER.email, OWNER.password)).status).toBe(200)
  }, 60_000)

  it('throttles one client spraying many accounts', async () => {
    for (let i = 0; i < 20; i++) expect((await login(`user${i}@example.com`, 'some-password-1')).status).toBe(401)
    expect((await login('user99@example.com', 'some-password-1')).status).toBe(429)
    expect((await login(OWNER.email, OWNER.password, '198.51.100.1')).status).toBe(200)
  })

  it.each<[string, InjectOptions]>([
    ['no body', { method: 'POST', url: '/api/v1/session', headers: { 'content-type': 'application/json' } }],
    ['malformed JSON', json('POST', '/api/v1/session', '{"email":')],
    ['an array', json('POST', '/api/v1/session', [OWNER.email, OWNER.password])],
    ['null', json('POST', '/api/v1/session', 'null')],
    ['a missing password', json('POST', '/api/v1/session', { email: OWNER.email })],
    ['a number as password', json('POST', '/api/v1/session', { email: OWNER.email, password: 1234567890123 })],
    ['an object as email', json('POST', '/api/v1/session', { email: { $ne: '' }, password: OWNER.password })],
    ['an extra field', json('POST', '/api/v1/session', { ...OWNER, remember: true })],
    ['__proto__', json('POST', '/api/v1/session', `{"email":"${OWNER.email}","password":"${OWNER.password}","__proto__":{"admin":true}}`)],
    ['a huge password', json('POST', '/api/v1/session', { email: OWNER.email, password: 'x'.repeat(2000) })],
  ])('answers 400 to %s', async (_label, options) => {
    const answer = await call(server, options)
    expect(answer.status, answer.raw).toBe(400)
    expect(answer.body).toEqual({ error: expect.any(String), message: expect.any(String) })
    expect(answer.headers['set-cookie']).toBeUndefined()
  })

  it('answers 415 to a form post (cross-site forms cannot send JSON) and 413 to a large body', async () => {
    const form = await call(server, { method: 'POST', url: '/api/v1/session', payload: `email=${OWNER.email}&password=${OWNER.password}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(form.status).toBe(415)
    const plain = await call(server, { method: 'POST', url: '/api/v1/session', payload: JSON.stringify(OWNER), headers: { 'content-type': 'text/plain' } })
    expect(plain.status).toBe(415)
    expect((await call(server, json('POST', '/api/v1/session', { email: OWNER.email, password: 'x'.repeat(10_000) }))).status).toBe(413)
  })
})

describe('sessions', () => {
  let owner: Session
  beforeEach(async () => {
    owner = await setUp()
  })

  it('describes the signed-in user, never cached, and refuses a missing, forged or malformed cookie', async () => {
    const me = await call(server, { method: 'GET', url: '/api/v1/session', headers: as(owner, false) })
    expect(me.status).toBe(200)
    expect(me.body).toEqual({ user: { id: owner.userId, email: OWNER.email }, apps: expect.any(Array), can_create_apps: true, csrf_token: owner.csrf })
    expect(me.headers['cache-control']).toBe('no-store')
    expect((await call(server, { method: 'GET', url: '/api/v1/session' })).status).toBe(401)
    for (const cookie of ['tacit_session=' + 'A'.repeat(43), 'tacit_session=', 'tacit_session=../../x', `tacit_session=${owner.cookie}x`, `tacit_session=${'A'.repeat(20000)}`]) {
      const answer = await call(server, { method: 'GET', url: '/api/v1/session', headers: { cookie } })
      expect(answer.status, cookie.slice(0, 60)).toBe(401)
      expect(String(answer.headers['set-cookie'])).toMatch(/^tacit_session=; .*Max-Age=0/)
    }
  })

  it('expires after 12 idle hours, stays alive while used, and ends after 7 days whatever', async () => {
    const me = () => call(server, { method: 'GET', url: '/api/v1/session', headers: as(owner, false) })
    for (let day = 0; day < 13; day++) {
      server.clock.advance(SESSION_IDLE_MS - 60_000)
      expect((await me()).status, `after ${day + 1} half-days`).toBe(200)
    }
    server.clock.set(server.clock.now() + (SESSION_ABSOLUTE_MS - 13 * (SESSION_IDLE_MS - 60_000)))
    expect((await me()).status).toBe(401)
    expect(await server.temp.store.users.findSession('x')).toBeUndefined()

    const fresh = await signedIn(OWNER.email, OWNER.password)
    server.clock.advance(SESSION_IDLE_MS)
    expect((await call(server, { method: 'GET', url: '/api/v1/session', headers: as(fresh, false) })).status).toBe(401)
  })

  it('signs out for real: the cookie no longer works anywhere', async () => {
    expect((await call(server, { method: 'DELETE', url: '/api/v1/session', headers: as(owner, false) })).status).toBe(403)
    const out = await call(server, { method: 'DELETE', url: '/api/v1/session', headers: as(owner) })
    expect(out.status).toBe(204)
    expect(String(out.headers['set-cookie'])).toMatch(/Max-Age=0/)
    expect((await call(server, { method: 'GET', url: '/api/v1/session', headers: as(owner, false) })).status).toBe(401)
    expect((await call(server, { method: 'GET', url: '/api/v1/apps', headers: as(owner, false) })).status).toBe(401)
  })

  it('lets a session use the other /api/v1 routes with its roles, and demands the CSRF header on changes', async () => {
    await addUser('vic@example.com', 'viewer-passphrase-1', [{ appId: shop, role: 'viewer' }])
    const vic = await signedIn('vic@example.com', 'viewer-passphrase-1')
    const apps = await call(server, { method: 'GET', url: '/api/v1/apps', headers: as(vic, false) })
    expect(apps.status).toBe(200)
    expect((apps.body.apps as Array<{ name: string; role: string }>).map((a) => [a.name, a.role])).toEqual([['shop', 'viewer']])
    expect((await call(server, { method: 'GET', url: `/api/v1/apps/${shop}/issues`, headers: as(vic, false) })).status).toBe(200)
    expect((await call(server, { method: 'GET', url: `/api/v1/apps/${blog}/issues`, headers: as(vic, false) })).status).toBe(404)
    // A change without the header is refused before anything else; with it, the role decides.
    const patch = (session: Session, csrf: boolean, headers: Record<string, string> = {}) =>
      call(server, json('PATCH', `/api/v1/apps/${shop}/issues/1`, { status: 'resolved' }, { ...as(session, csrf), ...headers }))
    expect((await patch(owner, false)).body).toMatchObject({ error: 'csrf' })
    expect((await patch(owner, false)).status).toBe(403)
    expect((await patch(owner, false, { 'x-tacit-csrf': vic.csrf })).body).toMatchObject({ error: 'csrf' })
    expect((await patch(owner, false, { 'x-tacit-csrf': '' })).body).toMatchObject({ error: 'csrf' })
    expect((await patch(owner, true)).status).toBe(404)
    expect((await patch(vic, true)).body).toMatchObject({ error: 'forbidden' })
  })

  it('lets API keys work as before, and an Authorization header wins over a cookie', async () => {
    const key = await apiKey(shop)
    expect((await call(server, { method: 'GET', url: `/api/v1/apps/${shop}/members`, headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
    // A key needs no CSRF header (it is not ambient), and a cookie does not widen it to another app.
    expect((await call(server, { method: 'GET', url: `/api/v1/apps/${blog}/members`, headers: { authorization: `Bearer ${key}`, ...as(owner) } })).status).toBe(404)
    expect((await call(server, { method: 'GET', url: '/api/v1/session', headers: { authorization: `Bearer ${key}` } })).status).toBe(403)
  })
})

describe('password change', () => {
  let owner: Session
  beforeEach(async () => {
    owner = await setUp()
  })
  const change = (session: Session, body: unknown, csrf = true) => call(server, json('POST', '/api/v1/account/password', body, as(session, csrf)))

  it('needs the current password, the CSRF header and a good new password; then signs out the other sessions only', async () => {
    const laptop = await signedIn(OWNER.email, OWNER.password)
    const next = 'a-new-passphrase-2'
    expect((await change(owner, { current_password: OWNER.password, new_password: next }, false)).status).toBe(403)
    expect((await change(owner, { current_password: 'wrong-password-1', new_password: next })).body).toMatchObject({ error: 'forbidden' })
    expect((await change(owner, { current_password: OWNER.password, new_password: 'short' })).status).toBe(400)
    expect((await change(owner, { current_password: OWNER.password, new_password: OWNER.password })).status).toBe(400)
    expect((await change(owner, { current_password: OWNER.password, new_password: OWNER.email })).status).toBe(400)
    expect((await change(owner, { current_password: OWNER.password })).status).toBe(400)
    expect((await change(owner, { current_password: OWNER.password, new_password: next })).status).toBe(204)
    expect((await call(server, { method: 'GET', url: '/api/v1/session', headers: as(owner, false) })).status).toBe(200)
    expect((await call(server, { method: 'GET', url: '/api/v1/session', headers: as(laptop, false) })).status).toBe(401)
    expect((await login(OWNER.email, OWNER.password, '198.51.100.3')).status).toBe(401)
    expect((await login(OWNER.email, next, '198.51.100.4')).status).toBe(200)
    expect((await server.temp.store.readAudit()).find((e) => e.action === 'user.password')).toMatchObject({ actor: `user:${owner.userId}`, detail: { user: owner.userId, reset: false } })
  })

  it('throttles guessing the current password through a session', async () => {
    for (let i = 0; i < 3; i++) expect((await change(owner, { current_password: `wrong-password-${i}`, new_password: 'a-new-passphrase-2' })).status).toBe(403)
    expect((await change(owner, { current_password: OWNER.password, new_password: 'a-new-passphrase-2' })).status).toBe(429)
  })

  it('is not for API keys, nor without a session', async () => {
    const key = await apiKey(null)
    expect((await call(server, json('POST', '/api/v1/account/password', { current_password: 'x', new_password: 'y' }, { authorization: `Bearer ${key}` }))).status).toBe(403)
    expect((await call(server, json('POST', '/api/v1/account/password', { current_password: 'x', new_password: 'y' }))).status).toBe(401)
  })
})

describe('members', () => {
  let owner: Session
  let vicId: number
  let moId: number
  let bobId: number
  let vic: Session
  let mo: Session
  beforeEach(async () => {
    owner = await setUp()
    vicId = await addUser('vic@example.com', 'viewer-passphrase-1', [{ appId: shop, role: 'viewer' }])
    moId = await addUser('mo@example.com', 'member-passphrase-1', [{ appId: shop, role: 'member' }])
    bobId = await addUser('bob@example.com', 'blog-passphrase-1', [{ appId: blog, role: 'owner' }])
    vic = await signedIn('vic@example.com', 'viewer-passphrase-1')
    mo = await signedIn('mo@example.com', 'member-passphrase-1')
  })

  const members = (app: number | string, session: Session | undefined = owner) => call(server, { method: 'GET', url: `/api/v1/apps/${app}/members`, headers: as(session, false) })

  it('lists, adds, changes and removes members, and audits each change with the acting user', async () => {
    const list = await members(shop)
    expect(list.status).toBe(200)
    expect(list.body.members).toEqual([
      { user_id: owner.userId, email: OWNER.email, role: 'owner' },
      { user_id: moId, email: 'mo@example.com', role: 'member' },
      { user_id: vicId, email: 'vic@example.com', role: 'viewer' },
    ])
    expect((await members('shop')).status).toBe(200)
    const added = await call(server, json('POST', `/api/v1/apps/${shop}/members`, { email: 'BOB@example.com', role: 'viewer' }, as(owner)))
    expect(added.status).toBe(201)
    expect(added.body).toEqual({ member: { user_id: bobId, email: 'bob@example.com', role: 'viewer' } })
    expect((await call(server, json('POST', `/api/v1/apps/${shop}/members`, { email: 'bob@example.com', role: 'owner' }, as(owner)))).status).toBe(409)
    expect((await call(server, json('POST', `/api/v1/apps/${shop}/members`, { email: 'nobody@example.com', role: 'owner' }, as(owner)))).status).toBe(404)
    const changed = await call(server, json('PATCH', `/api/v1/apps/${shop}/members/${bobId}`, { role: 'member' }, as(owner)))
    expect(changed.body).toEqual({ member: { user_id: bobId, email: 'bob@example.com', role: 'member' } })
    expect((await call(server, { method: 'DELETE', url: `/api/v1/apps/${shop}/members/${bobId}`, headers: as(owner) })).status).toBe(204)
    expect((await call(server, { method: 'DELETE', url: `/api/v1/apps/${shop}/members/${bobId}`, headers: as(owner) })).status).toBe(404)
    const audit = (await server.temp.store.readAudit({ appId: shop })).filter((e) => e.actor === `user:${owner.userId}` && e.action !== 'member.add' || e.detail && 'user' in e.detail && e.detail.user === bobId)
    expect(audit.map((e) => e.action)).toEqual(['member.remove', 'member.role', 'member.add'])
  })

  it('keeps at least one owner', async () => {
    const demote = await call(server, json('PATCH', `/api/v1/apps/${shop}/members/${owner.userId}`, { role: 'viewer' }, as(owner)))
    expect(demote.status).toBe(409)
    expect(demote.body).toMatchObject({ error: 'conflict', message: expect.stringMatching(/at least one owner/) })
    expect((await call(server, { method: 'DELETE', url: `/api/v1/apps/${shop}/members/${owner.userId}`, headers: as(owner) })).status).toBe(409)
    expect((await call(server, json('PATCH', `/api/v1/apps/${shop}/members/${moId}`, { role: 'owner' }, as(owner)))).status).toBe(200)
    expect((await call(server, json('PATCH', `/api/v1/apps/${shop}/members/${owner.userId}`, { role: 'viewer' }, as(owner)))).status).toBe(200)
    // No longer an owner of shop: its members are hidden from this user now.
    expect((await members(shop)).status).toBe(403)
  })

  it('authorizes every members route: owners only, other apps read as missing', async () => {
    const shopKey = await apiKey(shop)
    const routes: Array<[string, (app: number | string, target: number) => InjectOptions]> = [
      ['GET', (app) => ({ method: 'GET', url: `/api/v1/apps/${app}/members` })],
      ['POST', (app) => json('POST', `/api/v1/apps/${app}/members`, { email: 'bob@example.com', role: 'viewer' })],
      ['PATCH', (app, target) => json('PATCH', `/api/v1/apps/${app}/members/${target}`, { role: 'viewer' })],
      ['DELETE', (app, target) => ({ method: 'DELETE', url: `/api/v1/apps/${app}/members/${target}` })],
    ]
    for (const [method, route] of routes) {
      const at = (app: number | string, session: Session | undefined, headers: Record<string, string> = {}) => {
        const options = route(app, vicId)
        return call(server, { ...options, headers: { ...(options.headers as Record<string, string>), ...as(session), ...headers } })
      }
      expect((await at(shop, undefined)).status, `${method} without credentials`).toBe(401)
      expect((await at(shop, vic)).status, `${method} as a viewer`).toBe(403)
      expect((await at(shop, mo)).status, `${method} as a member`).toBe(403)
      // Another app's id in the URL, by id and by name, for a session and for an app-limited key.
      expect((await at(blog, vic)).status, `${method} on another app`).toBe(404)
      expect((await at('blog', mo)).status, `${method} on another app by name`).toBe(404)
      expect((await at(blog, undefined, { authorization: `Bearer ${shopKey}` })).status, `${method} with another app's key`).toBe(404)
      expect((await at(999, owner)).status, `${method} on a missing app`).toBe(404)
      expect((await at('x'.repeat(80), owner)).status, `${method} on a long app name`).toBe(404)
      expect((await at(encodeURIComponent('<img src=x onerror=alert(1)>'), owner)).status, `${method} on a hostile app name`).toBe(404)
    }
    // A user of another app named in a member URL reads as no member.
    expect((await call(server, json('PATCH', `/api/v1/apps/${shop}/members/${bobId}`, { role: 'owner' }, as(owner)))).status).toBe(404)
    for (const id of ['abc', '1e3', '-1', '9'.repeat(40), '%00']) {
      expect((await call(server, json('PATCH', `/api/v1/apps/${shop}/members/${id}`, { role: 'owner' }, as(owner)))).status, id).toBe(404)
    }
    // Bob owns blog, and as owner may read its members; the shop key as owner of shop reads shop's.
    const bob = await signedIn('bob@example.com', 'blog-passphrase-1')
    expect((await members(blog, bob)).status).toBe(200)
    expect((await call(server, { method: 'GET', url: `/api/v1/apps/${shop}/members`, headers: { authorization: `Bearer ${shopKey}` } })).status).toBe(200)
  })

  it('validates member bodies', async () => {
    for (const body of [{ email: 'bob@example.com' }, { email: 'bob@example.com', role: 'admin' }, { email: 'bob@example.com', role: 'owner', extra: 1 }, { email: 42, role: 'owner' }, [], 'null']) {
      const answer = await call(server, json('POST', `/api/v1/apps/${shop}/members`, body, as(owner)))
      expect(answer.status, JSON.stringify(body)).toBe(400)
    }
    expect((await call(server, json('PATCH', `/api/v1/apps/${shop}/members/${vicId}`, { role: 'OWNER' }, as(owner)))).status).toBe(400)
    expect((await call(server, json('PATCH', `/api/v1/apps/${shop}/members/${vicId}`, { role: ['owner'] }, as(owner)))).status).toBe(400)
  })
})

describe('security headers', () => {
  it('are on API answers and errors, but not on the cross-origin ingest and report endpoints', async () => {
    for (const url of ['/api/v1/setup', '/api/v1/session', '/api/v1/no-such-route', '/healthz']) {
      const answer = await call(server, { method: 'GET', url })
      expect(answer.headers['content-security-policy'], url).toBe(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
      )
      expect(answer.headers['x-frame-options']).toBe('DENY')
      expect(answer.headers['referrer-policy']).toBe('no-referrer')
      expect(answer.headers['x-content-type-options']).toBe('nosniff')
    }
    for (const url of ['/api/v1/ingest?token=tc_x', '/api/v1/report?token=tc_x']) {
      const answer = await call(server, { method: 'POST', url, payload: '{}', headers: { 'content-type': 'text/plain' } })
      expect(answer.headers['content-security-policy'], url).toBeUndefined()
      expect(answer.headers['x-frame-options'], url).toBeUndefined()
    }
  })
})

describe('privacy of secrets', () => {
  it('keeps no password, session id, CSRF token or setup token in the database files, the logs or later answers', async () => {
    const owner = await setUp()
    await addUser('vic@example.com', 'viewer-passphrase-1', [{ appId: shop, role: 'viewer' }])
    const vic = await signedIn('vic@example.com', 'viewer-passphrase-1')
    await login('vic@example.com', 'a-wrong-guess-123', '198.51.100.9')
    const next = 'owner-passphrase-2'
    expect((await call(server, json('POST', '/api/v1/account/password', { current_password: OWNER.password, new_password: next }, as(owner)))).status).toBe(204)
    const later = [
      await call(server, { method: 'GET', url: '/api/v1/session', headers: as(owner, false) }),
      await call(server, { method: 'GET', url: `/api/v1/apps/${shop}/members`, headers: as(owner, false) }),
      await call(server, { method: 'GET', url: '/api/v1/apps', headers: as(vic, false) }),
    ]
    await server.temp.store.compact()
    const secrets = [OWNER.password, next, 'viewer-passphrase-1', 'a-wrong-guess-123', owner.token, owner.cookie, vic.cookie, owner.csrf, vic.csrf]
    const files = readdirSync(server.temp.dir).map((name) => readFileSync(join(server.temp.dir, name)))
    for (const secret of secrets) {
      for (const bytes of files) expect(bytes.includes(Buffer.from(secret)), `${secret.slice(0, 6)}… in the database`).toBe(false)
      expect(server.logs().includes(secret), `${secret.slice(0, 6)}… in the logs`).toBe(false)
      if (secret === owner.csrf || secret === vic.csrf) continue
      for (const answer of later) expect(answer.raw.includes(secret), `${secret.slice(0, 6)}… in an answer`).toBe(false)
    }
    expect(server.logs()).not.toContain('example.com')
    // The database holds hashes of the right shape, not the values.
    const stored = await server.temp.store.users.findUserByEmail(OWNER.email)
    expect(stored?.passwordHash).toMatch(/^scrypt\$15\$8\$1\$/)
  })
})

describe('creating apps (POST /api/v1/apps)', () => {
  const create = (body: unknown, headers: Record<string, string>, url = '/api/v1/apps') => call(server, json('POST', url, body, headers))

  it('lets the owner of an app create one, makes them its owner, gives it a client token and audits it', async () => {
    const owner = await setUp()
    const session = await call(server, { method: 'GET', url: '/api/v1/session', headers: as(owner, false) })
    expect(session.body.can_create_apps).toBe(true)
    const created = await create({ name: 'docs-site', origins: ['https://docs.example.com'] }, as(owner))
    expect(created.status, created.raw).toBe(201)
    expect(created.body).toMatchObject({ app: { name: 'docs-site', role: 'owner' }, token: { active: true } })
    const token = (created.body.token as { token: string }).token
    const app = (await server.temp.store.findAppByName('docs-site'))!
    expect(app.settings.origins).toEqual(['https://docs.example.com'])
    expect(await server.temp.store.users.roleOf(owner.userId, app.id)).toBe('owner')
    expect((await server.temp.store.findToken(token))?.appId).toBe(app.id)
    // The new app is in the creator's list, and ingest takes its token.
    const apps = await call(server, { method: 'GET', url: '/api/v1/apps', headers: as(owner, false) })
    expect((apps.body.apps as Array<{ name: string }>).map((a) => a.name)).toContain('docs-site')
    const audit = await server.temp.store.readAudit({ appId: app.id })
    expect(audit.map((e) => [e.action, e.actor])).toEqual(expect.arrayContaining([['app.create', `user:${owner.userId}`], ['member.add', `user:${owner.userId}`]]))
    expect(JSON.stringify(audit)).not.toContain(token)
  })

  it('refuses viewers and members, API keys for one app, and requests without a session or CSRF header', async () => {
    const owner = await setUp()
    await addUser('mia@example.com', 'member-passphrase-1', [{ appId: shop, role: 'member' }, { appId: blog, role: 'viewer' }])
    const mia = await signedIn('mia@example.com', 'member-passphrase-1')
    expect((await call(server, { method: 'GET', url: '/api/v1/session', headers: as(mia, false) })).body.can_create_apps).toBe(false)
    expect((await create({ name: 'mine' }, as(mia))).body).toMatchObject({ error: 'forbidden' })
    expect((await create({ name: 'mine' }, {})).status).toBe(401)
    expect((await create({ name: 'mine' }, as(owner, false))).body).toMatchObject({ error: 'csrf' })
    const shopKey = await apiKey(shop)
    expect((await create({ name: 'mine' }, { authorization: `Bearer ${shopKey}` })).status).toBe(403)
    const allKey = await apiKey(null)
    const byKey = await create({ name: 'mine' }, { authorization: `Bearer ${allKey}` })
    expect(byKey.status, byKey.raw).toBe(201)
    // A key belongs to no user: nobody became a member, the owner set up first is not one either.
    const mine = (await server.temp.store.findAppByName('mine'))!
    expect(await server.temp.store.users.roleOf(owner.userId, mine.id)).toBeUndefined()
    expect((await server.temp.store.readAudit({ appId: mine.id })).map((e) => [e.action, e.actor])).toEqual([['app.create', 'cli']])
    expect(await server.temp.store.findAppByName('mine')).toBeDefined()
  })

  it('answers bad, hostile, duplicate and oversized input with a clear 4xx and creates nothing', async () => {
    const owner = await setUp()
    const before = (await server.temp.store.listApps()).length
    const cases: Array<[unknown, number, RegExp]> = [
      [{}, 400, /"name" must be/],
      [{ name: 42 }, 400, /"name" must be/],
      [{ name: '' }, 400, /not a valid app name/],
      [{ name: '12345' }, 400, /must not be all digits/],
      [{ name: '<img src=x onerror=alert(1)>' }, 400, /not a valid app name/],
      [{ name: 'x'.repeat(64) }, 400, /not a valid app name/],
      [{ name: 'ok', origins: 'https://a.example' }, 400, /"origins" must be a list/],
      [{ name: 'ok', origins: ['not an origin'] }, 400, /is not an origin/],
      [{ name: 'ok', origins: Array.from({ length: 201 }, (_, i) => `https://s${i}.example`) }, 400, /"origins" must be a list/],
      [{ name: 'ok', admin: true }, 400, /Unknown field "admin"/],
      [[{ name: 'ok' }], 400, /JSON object/],
      ['{"name": "ok"', 400, /./],
      [{ name: 'shop' }, 409, /already exists/],
    ]
    for (const [body, status, message] of cases) {
      const answer = await create(body, as(owner))
      expect(answer.status, `${JSON.stringify(body).slice(0, 80)} → ${answer.raw}`).toBe(status)
      expect(String(answer.body.message)).toMatch(message)
    }
    expect((await create({ name: 'ok' }, as(owner), '/api/v1/apps?name=ok')).status).toBe(400)
    expect((await call(server, { method: 'POST', url: '/api/v1/apps', payload: 'name=ok', headers: { 'content-type': 'application/x-www-form-urlencoded', ...as(owner) } })).status).toBe(415)
    expect((await create({ name: 'ok', origins: ['https://a.example'.padEnd(20_000, 'a')] }, as(owner))).status).toBe(413)
    expect((await server.temp.store.listApps()).length).toBe(before)
  })
})

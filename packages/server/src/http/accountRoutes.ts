import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isAppRole, type AppRole } from '../accounts/appRoles.js'
import { createLoginThrottle, type LoginThrottle, type ThrottleKeys } from '../accounts/createLoginThrottle.js'
import { MAX_EMAIL_LENGTH, normalizeEmail } from '../accounts/emailAddress.js'
import { hashPassword, PasswordHasherBusyError, verifyDecoy, verifyPassword } from '../accounts/hashPassword.js'
import { MAX_PASSWORD_LENGTH, passwordProblem } from '../accounts/passwordRules.js'
import { hashSetupToken, SETUP_TOKEN_PATTERN } from '../accounts/setupToken.js'
import { clearedSessionCookie, deleteExpiredSessions, hasSessionCookie, sessionCookie, startSession } from '../accounts/userSessions.js'
import type { AuditDetails, NewAuditEntry } from '../audit/auditEntry.js'
import type { Clock } from '../clock.js'
import { clientIpFromForwarded } from '../privacy/network/clientIpFromForwarded.js'
import { createNetworkSet } from '../privacy/network/ipNetwork.js'
import { cryptoRandom, type RandomSource } from '../randomSource.js'
import type { Store } from '../store/Store.js'
import type { User } from '../store/UserStore.js'
import { authenticate, authorizeApp, type Principal, type SessionPrincipal } from './authorizeRequest.js'

/**
 * The account routes of `/api/v1` (issue 6, docs/API.md "Accounts"): first-start setup, sign-in and sign-out,
 * the signed-in user, password changes and the members of an app. Passwords, session ids and setup tokens go
 * in request bodies and the HttpOnly cookie only: never in a URL, a log line or a response after creation.
 */
export interface AccountDeps {
  store: Store
  clock: Clock
  trustedProxies: string[]
  forwardedHeader: 'x-forwarded-for' | 'forwarded'
  /** Session ids and password salts; crypto.randomBytes unless a test passes its own. */
  random?: RandomSource
  /** In memory unless given (issue 7 moves it to Redis). */
  loginThrottle?: LoginThrottle
}

/** Credentials and a role are a few hundred bytes; a little room for long passphrases. */
const BODY_LIMIT = 4096
const MAX_TOKEN_LENGTH = 128

class BadRequest extends Error {}

export async function accountRoutes(scope: FastifyInstance, deps: AccountDeps): Promise<void> {
  const random = deps.random ?? cryptoRandom
  const throttle = deps.loginThrottle ?? createLoginThrottle({ clock: deps.clock, random })
  const clientIp = clientIpOf(deps)
  const sessionDeps = { store: deps.store, clock: deps.clock, random }

  // JSON only: a cross-site HTML form can send text/plain without a preflight, never application/json.
  scope.removeContentTypeParser('text/plain')
  // A burst of sign-ins beyond what the hasher queues (accounts/hashPassword.ts) is turned away, not queued.
  scope.setErrorHandler((error, _request, reply) => {
    if (!(error instanceof PasswordHasherBusyError)) throw error
    return reply.code(503).header('retry-after', '1').send({ error: 'busy', message: 'The server is checking too many passwords at once; try again in a second.' })
  })
  scope.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff')
  })

  scope.get('/api/v1/setup', async () => ({ needed: !(await deps.store.users.hasUsers()) }))

  scope.post('/api/v1/setup', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    let input: { token: string; email: string; password: string }
    try {
      const body = fields(request.body, ['token', 'email', 'password'])
      input = { token: text(body, 'token', MAX_TOKEN_LENGTH), email: emailField(body), password: text(body, 'password', MAX_PASSWORD_LENGTH * 4) }
      const problem = passwordProblem(input.password, input.email)
      if (problem) throw new BadRequest(problem)
    } catch (error) {
      return badRequest(reply, error)
    }
    if (await deps.store.users.hasUsers()) return setupDone(reply)
    // Keyed by the client alone: a shared key would let anyone lock the setup page for everyone.
    const ip = clientIp(request)
    const keys: ThrottleKeys = { account: `setup ${ip}`, client: ip }
    const throttled = await refuseThrottled(keys, reply)
    if (throttled) return throttled.refused
    if (!SETUP_TOKEN_PATTERN.test(input.token)) {
      await throttle.recordFailure(keys)
      return invalidSetupToken(reply)
    }
    const passwordHash = await hashPassword(input.password, random)
    const at = deps.clock.now()
    const outcome = await deps.store.users.completeSetup({ tokenHash: hashSetupToken(input.token), email: input.email, passwordHash, createdAt: at })
    if ('refused' in outcome) {
      if (outcome.refused === 'done') return setupDone(reply)
      await throttle.recordFailure(keys)
      return invalidSetupToken(reply)
    }
    const { user } = outcome
    const actor = `user:${user.id}` as const
    await deps.store.appendAudit({ appId: null, at, actor, action: 'user.create', detail: { user: user.id, email: user.email, via: 'setup' } })
    for (const { appId, role } of await deps.store.users.rolesOf(user.id)) {
      await deps.store.appendAudit({ appId, at, actor, action: 'member.add', detail: { user: user.id, email: user.email, role } })
    }
    return signIn(request, reply, user, 201)
  })

  scope.post('/api/v1/session', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    let email: string
    let password: string
    try {
      const body = fields(request.body, ['email', 'password'])
      email = text(body, 'email', MAX_EMAIL_LENGTH * 2)
      password = text(body, 'password', MAX_PASSWORD_LENGTH * 4)
    } catch (error) {
      return badRequest(reply, error)
    }
    const normalized = normalizeEmail(email)
    const keys: ThrottleKeys = { account: normalized ?? email, client: clientIp(request) }
    const throttled = await refuseThrottled(keys, reply)
    if (throttled) return throttled.refused
    const user = normalized === undefined ? undefined : await deps.store.users.findUserByEmail(normalized)
    // An unknown email costs one hash as well, and reads exactly like a wrong password.
    const valid = user ? await verifyPassword(password, user.passwordHash) : await verifyDecoy(password, random)
    if (!user || !valid) {
      await throttle.recordFailure(keys)
      return reply.code(401).send({ error: 'unauthorized', message: 'The email or the password is not right.' })
    }
    await throttle.recordSuccess(keys)
    await deleteExpiredSessions(deps)
    return signIn(request, reply, user, 200)
  })

  scope.get('/api/v1/session', async (request, reply) => {
    const found = await sessionOf(request, reply)
    if ('refused' in found) return found.refused
    const { user, session } = found
    const roles = new Map((await deps.store.users.rolesOf(user.id)).map((r) => [r.appId, r.role]))
    const apps = (await deps.store.listApps()).flatMap((app) => {
      const role = roles.get(app.id)
      return role ? [{ id: app.id, name: app.name, role }] : []
    })
    // The owner of any app may create apps (http/appRoutes.ts): the dashboard offers the form only then.
    const canCreateApps = apps.some((app) => app.role === 'owner')
    return { user: userJson(user), apps, can_create_apps: canCreateApps, csrf_token: session.csrfToken }
  })

  scope.delete('/api/v1/session', async (request, reply) => {
    const found = await sessionOf(request, reply)
    if ('refused' in found) return found.refused
    await deps.store.users.deleteSession(found.session.idHash)
    return reply.header('set-cookie', clearedSessionCookie(request.protocol === 'https')).code(204).send()
  })

  scope.post('/api/v1/account/password', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const found = await sessionOf(request, reply)
    if ('refused' in found) return found.refused
    const { user, session } = found
    let current: string
    let next: string
    try {
      const body = fields(request.body, ['current_password', 'new_password'])
      current = text(body, 'current_password', MAX_PASSWORD_LENGTH * 4)
      next = text(body, 'new_password', MAX_PASSWORD_LENGTH * 4)
      const problem = passwordProblem(next, user.email)
      if (problem) throw new BadRequest(problem)
      if (next === current) throw new BadRequest('The new password must differ from the current one.')
    } catch (error) {
      return badRequest(reply, error)
    }
    // Guessing through a stolen session counts against the account like guessing at the sign-in form.
    const keys: ThrottleKeys = { account: user.email, client: clientIp(request) }
    const throttled = await refuseThrottled(keys, reply)
    if (throttled) return throttled.refused
    const stored = await deps.store.users.findUserByEmail(user.email)
    if (!stored || !(await verifyPassword(current, stored.passwordHash))) {
      await throttle.recordFailure(keys)
      return reply.code(403).send({ error: 'forbidden', message: 'The current password is not right.' })
    }
    await throttle.recordSuccess(keys)
    const at = deps.clock.now()
    await deps.store.users.setPassword(user.id, await hashPassword(next, random), at)
    // Whoever else holds a session (a forgotten laptop, a thief) is signed out; this one stays.
    await deps.store.users.deleteUserSessions(user.id, session.idHash)
    await deps.store.appendAudit({ appId: null, at, actor: `user:${user.id}`, action: 'user.password', detail: { user: user.id, email: user.email, reset: false } })
    return reply.code(204).send()
  })

  scope.get('/api/v1/apps/:app/members', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const members = await deps.store.users.listMembers(found.app.id)
    return { members: members.map((m) => ({ user_id: m.userId, email: m.email, role: m.role })) }
  })

  scope.post('/api/v1/apps/:app/members', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    let email: string
    let role: AppRole
    try {
      const body = fields(request.body, ['email', 'role'])
      email = emailField(body)
      role = roleField(body)
    } catch (error) {
      return badRequest(reply, error)
    }
    const user = await deps.store.users.findUserByEmail(email)
    if (!user) return reply.code(404).send({ error: 'not_found', message: 'No user has this email: an operator creates accounts with `tacit user add`.' })
    const outcome = await deps.store.users.addMember(found.app.id, user.id, role)
    if (outcome === 'exists') return reply.code(409).send({ error: 'conflict', message: `${user.email} is already a member of "${found.app.name}": change the role with PATCH.` })
    if (outcome !== 'done') return reply.code(404).send({ error: 'not_found', message: 'The user was removed meanwhile.' })
    await audit(found.principal, found.app.id, 'member.add', { user: user.id, email: user.email, role })
    return reply.code(201).send({ member: { user_id: user.id, email: user.email, role } })
  })

  scope.patch('/api/v1/apps/:app/members/:userId', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    let role: AppRole
    try {
      role = roleField(fields(request.body, ['role']))
    } catch (error) {
      return badRequest(reply, error)
    }
    const member = await memberInUrl(request, found.app.id)
    if (!member) return noSuchMember(reply)
    const outcome = await deps.store.users.setMemberRole(found.app.id, member.user.id, role)
    if (outcome === 'last_owner') return lastOwner(reply, found.app.name)
    if (outcome !== 'done') return noSuchMember(reply)
    if (member.role !== role) await audit(found.principal, found.app.id, 'member.role', { user: member.user.id, email: member.user.email, from: member.role, to: role })
    return { member: { user_id: member.user.id, email: member.user.email, role } }
  })

  scope.delete('/api/v1/apps/:app/members/:userId', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const member = await memberInUrl(request, found.app.id)
    if (!member) return noSuchMember(reply)
    const outcome = await deps.store.users.removeMember(found.app.id, member.user.id)
    if (outcome === 'last_owner') return lastOwner(reply, found.app.name)
    if (outcome !== 'done') return noSuchMember(reply)
    await audit(found.principal, found.app.id, 'member.remove', { user: member.user.id, email: member.user.email, role: member.role })
    return reply.code(204).send()
  })

  async function signIn(request: FastifyRequest, reply: FastifyReply, user: User, status: 200 | 201) {
    const session = await startSession(sessionDeps, user.id)
    reply.header('set-cookie', sessionCookie(session.id, session.expiresAt - deps.clock.now(), request.protocol === 'https'))
    return reply.code(status).send({ user: userJson(user), csrf_token: session.csrfToken })
  }

  /** The signed-in user of a request; these routes are about the account, so an API key has none. */
  async function sessionOf(request: FastifyRequest, reply: FastifyReply): Promise<{ user: User; session: SessionPrincipal } | { refused: FastifyReply }> {
    if (request.headers.authorization !== undefined) {
      return { refused: reply.code(403).send({ error: 'forbidden', message: 'An API key has no account: this needs a dashboard session.' }) }
    }
    if (!hasSessionCookie(request.headers.cookie)) {
      return { refused: reply.code(401).send({ error: 'unauthorized', message: 'You are not signed in: POST /api/v1/session with your email and password.' }) }
    }
    const authenticated = await authenticate(deps, request, reply)
    if ('refused' in authenticated) return authenticated
    const session = authenticated.principal.session
    const user = session && (await deps.store.users.getUser(session.userId))
    if (!session || !user) {
      return { refused: reply.header('set-cookie', clearedSessionCookie(request.protocol === 'https')).code(401).send({ error: 'unauthorized', message: 'This account no longer exists.' }) }
    }
    return { user, session }
  }

  async function memberInUrl(request: FastifyRequest, appId: number): Promise<{ user: User; role: AppRole } | undefined> {
    const raw = (request.params as { userId: string }).userId
    if (!/^\d{1,15}$/.test(raw)) return undefined
    const user = await deps.store.users.getUser(Number(raw))
    const role = user && (await deps.store.users.roleOf(user.id, appId))
    return user && role ? { user, role } : undefined
  }

  /** Wrapped: a FastifyReply is thenable, so an async function returning one bare would be awaited away. */
  async function refuseThrottled(keys: ThrottleKeys, reply: FastifyReply): Promise<{ refused: FastifyReply } | undefined> {
    const decision = await throttle.check(keys)
    if (decision.allowed) return undefined
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
    const message = decision.locked
      ? `Too many failed attempts: sign-in is locked for ${describeWait(seconds)}.`
      : `Too many failed attempts: wait ${describeWait(seconds)} before trying again.`
    return { refused: reply.code(429).header('retry-after', String(seconds)).send({ error: 'too_many_requests', message }) }
  }

  async function audit<A extends 'member.add' | 'member.role' | 'member.remove'>(principal: Principal, appId: number, action: A, detail: AuditDetails[A]) {
    // The cast joins action and detail, which the generic signature already ties together.
    await deps.store.appendAudit({ appId, at: deps.clock.now(), actor: principal.actor, action, detail } as NewAuditEntry)
  }
}

function userJson(user: User) {
  return { id: user.id, email: user.email }
}

function describeWait(seconds: number): string {
  return seconds < 120 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${Math.ceil(seconds / 60)} minutes`
}

function setupDone(reply: FastifyReply) {
  return reply.code(409).send({ error: 'conflict', message: 'Setup is done: an account exists already, so sign in instead.' })
}

function invalidSetupToken(reply: FastifyReply) {
  return reply.code(401).send({ error: 'unauthorized', message: 'The setup link is not valid or has expired: restart the server to print a new one.' })
}

function noSuchMember(reply: FastifyReply) {
  return reply.code(404).send({ error: 'not_found', message: 'That user is not a member of this app.' })
}

function lastOwner(reply: FastifyReply, appName: string) {
  return reply.code(409).send({ error: 'conflict', message: `"${appName}" must keep at least one owner: make someone else owner first.` })
}

function badRequest(reply: FastifyReply, error: unknown) {
  if (error instanceof BadRequest) return reply.code(400).send({ error: 'bad_request', message: error.message })
  throw error
}

/** The body as an object with only the expected keys (a typo'd key is an error, not silently ignored). */
function fields(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest(`Send a JSON object with ${allowed.join(', ')}.`)
  const unknown = Object.keys(body).find((key) => !allowed.includes(key))
  if (unknown !== undefined) throw new BadRequest(`Unknown field "${unknown.slice(0, 40)}": send only ${allowed.join(', ')}.`)
  return body as Record<string, unknown>
}

function text(body: Record<string, unknown>, name: string, max: number): string {
  const value = body[name]
  if (typeof value !== 'string' || value.length === 0) throw new BadRequest(`The field "${name}" is required and must be a string.`)
  if (value.length > max) throw new BadRequest(`The field "${name}" is too long.`)
  return value
}

function emailField(body: Record<string, unknown>): string {
  const email = normalizeEmail(text(body, 'email', MAX_EMAIL_LENGTH * 2))
  if (!email) throw new BadRequest('The field "email" must be an email address.')
  return email
}

function roleField(body: Record<string, unknown>): AppRole {
  const role = body.role
  if (!isAppRole(role)) throw new BadRequest('The field "role" must be owner, member or viewer.')
  return role
}

/** The client address, as createHttpServer.ts decides it for ingest: the socket's, or what trusted proxies say. */
function clientIpOf(deps: AccountDeps): (request: FastifyRequest) => string {
  if (deps.forwardedHeader === 'x-forwarded-for' || deps.trustedProxies.length === 0) return (request) => request.ip
  const trusted = createNetworkSet(deps.trustedProxies)
  return (request) => clientIpFromForwarded(request.socket.remoteAddress ?? '', request.headers.forwarded, (ip) => trusted.has(ip))
}

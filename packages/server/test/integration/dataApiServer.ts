import { join } from 'node:path'
import { Writable } from 'node:stream'
import { expect } from 'vitest'
import type { AppRole } from '../../src/accounts/appRoles.js'
import { SESSION_COOKIE, startSession } from '../../src/accounts/userSessions.js'
import { createAppWithToken } from '../../src/apps/appAdmin.js'
import { applySetting, type AppSettingsOverrides } from '../../src/apps/appSettings.js'
import type { Clock } from '../../src/clock.js'
import { loadServeConfig } from '../../src/config.js'
import { createLogger } from '../../src/createLogger.js'
import { generateSecretKey, hashSecretKey, secretKeyHint, type SecretKeyKind } from '../../src/keys/secretKey.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { startTacitServer, type TacitServer } from '../../src/startTacitServer.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import type { Store } from '../../src/store/Store.js'
import { makeTempDir } from '../support/tacitProcess.js'

/**
 * The dashboard data routes' tests run the real server (its composition root, real SQLite, real HTTP on
 * 127.0.0.1) in the test process, with a fixed clock so time ranges are exact, plus a second connection to
 * the same database to seed apps, keys and events as the CLI and the writer would.
 */
export interface DataApiServer {
  url: string
  /** A second connection to the server's database. */
  store: Store
  dataDir: string
  createApp(name: string, settings?: string[]): Promise<{ appId: number; token: string }>
  /** An API key (owner of what it covers): of one app, or of every app with null. */
  createKey(appId: number | null, kind?: SecretKeyKind): Promise<string>
  api(path: string, key: string | undefined, init?: RequestInit): Promise<ApiResponse>
  /** A dashboard user with these roles, signed in: what the browser would hold after logging in. */
  signIn(email: string, roles: ReadonlyArray<{ appId: number; role: AppRole }>): Promise<DashboardSession>
  /** A request with the session's cookie and, unless told otherwise, its CSRF header. */
  asUser(path: string, session: DashboardSession, init?: RequestInit, options?: { csrf?: boolean }): Promise<ApiResponse>
  stop(): Promise<void>
}

export interface DashboardSession {
  userId: number
  cookie: string
  csrfToken: string
}

export interface ApiResponse {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

export async function startDataApiServer(clock: Clock): Promise<DataApiServer> {
  const dir = makeTempDir('tacit-data-api-')
  const config = loadServeConfig({ port: '0', 'data-dir': dir.path, 'log-level': 'warn', 'log-format': 'json' }, {})
  let logs = ''
  const logger = createLogger({ level: 'warn', format: 'json', destination: new Writable({ write: (chunk, _encoding, done) => ((logs += String(chunk)), done()) }) })
  let server: TacitServer
  try {
    server = await startTacitServer({ config, clock, random: cryptoRandom, logger, print: () => undefined })
  } catch (error) {
    dir.remove()
    throw error
  }
  const store = createSqliteStore({ path: join(dir.path, 'tacit.db') })
  return {
    url: server.url,
    store,
    dataDir: dir.path,
    async createApp(name, settings = []) {
      const { app, token } = await createAppWithToken({ store, clock, random: cryptoRandom, actor: 'cli' }, { name })
      let overrides: AppSettingsOverrides = app.settings
      for (const assignment of settings) overrides = applySetting(overrides, assignment)
      await store.updateAppSettings(app.id, overrides)
      return { appId: app.id, token: token.token }
    },
    async createKey(appId, kind = 'api') {
      const key = generateSecretKey(kind, cryptoRandom)
      await store.secretKeys.create({ kind, appId, hash: hashSecretKey(key), hint: secretKeyHint(key), label: null, createdAt: clock.now() })
      return key
    },
    async api(path, key, init = {}) {
      const headers = new Headers(init.headers)
      if (key !== undefined) headers.set('authorization', `Bearer ${key}`)
      const response = await fetch(`${server.url}${path}`, { ...init, headers })
      const text = await response.text()
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers }
    },
    async signIn(email, roles) {
      // The password is never checked here: the session is started the way a successful login starts it.
      const user = await store.users.createUser({ email, passwordHash: 'scrypt$not-used', createdAt: clock.now(), roles })
      if (!user) throw new Error(`the user ${email} exists already`)
      const session = await startSession({ store, clock, random: cryptoRandom }, user.id)
      return { userId: user.id, cookie: `${SESSION_COOKIE}=${session.id}`, csrfToken: session.csrfToken }
    },
    async asUser(path, session, init = {}, options = {}) {
      const headers = new Headers(init.headers)
      headers.set('cookie', session.cookie)
      if (options.csrf !== false) headers.set('x-tacit-csrf', session.csrfToken)
      const response = await fetch(`${server.url}${path}`, { ...init, headers })
      const text = await response.text()
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers }
    },
    async stop() {
      await server.stop()
      await store.close()
      dir.remove()
      // No route failed: a 500 logs "request failed" with the route.
      expect(logs).not.toContain('request failed')
    },
  }
}

/** A JSON request body. */
export function json(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
}

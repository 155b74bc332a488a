import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../src/accounts/hashPassword.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import type { Store } from '../../src/store/Store.js'
import { expectOneSentenceError, expectSuccess, parseJson } from '../cli/cliAssertions.js'
import { runCliInProcess } from '../support/runCliInProcess.js'
import { createTestApp, databaseBytes } from '../support/storedData.js'
import { makeTempDir, TACIT_BIN, type CliResult } from '../support/tacitProcess.js'

/**
 * `tacit user add|list|reset-password|remove`: one-time passwords shown once and stored only as scrypt hashes,
 * roles per app, sessions revoked on reset and removal, audit entries, one-sentence errors. The stdin path runs
 * the built CLI (`npx tsc -b packages/server` first), since it reads the process's real stdin.
 */

interface UserJson {
  id: number
  email: string
  roles: Array<{ app: string; app_id: number; role: string }>
  created_at: string
  password_changed_at: string
  password?: string
}

let dir: ReturnType<typeof makeTempDir>
let shopId: number
let blogId: number
const tacit = (...args: string[]) => runCliInProcess(args, dir.path)

async function withStore<T>(use: (store: Store) => Promise<T>): Promise<T> {
  const store = createSqliteStore({ path: join(dir.path, 'tacit.db') })
  try {
    return await use(store)
  } finally {
    await store.close()
  }
}

/** The built CLI with `input` on its stdin. */
function tacitWithStdin(args: string[], input: string): Promise<CliResult> {
  const child = spawn(process.execPath, [TACIT_BIN, ...args, '--data-dir', dir.path], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin.end(input)
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })))
}

beforeAll(async () => {
  dir = makeTempDir('tacit-cli-users-')
  shopId = (await createTestApp(dir.path, 'shop')).appId
  blogId = (await createTestApp(dir.path, 'blog')).appId
})
afterAll(() => dir.remove())

describe('tacit user add', () => {
  it('creates a user with a role on the named apps and a one-time password shown once, stored only hashed', async () => {
    const out = expectSuccess(await tacit('user', 'add', 'Ann@Example.com', '--role', 'owner', '--app', 'shop'))
    expect(out).toMatch(/^Created the user ann@example\.com \(id \d+\), owner of "shop"\.\n/)
    const password = /shown only now[^\n]*\n([A-Za-z0-9_-]{24})\n$/.exec(out)?.[1]
    expect(password).toBeDefined()
    await withStore(async (store) => {
      const user = await store.users.findUserByEmail('ann@example.com')
      expect(await verifyPassword(password!, user!.passwordHash)).toBe(true)
      expect(await store.users.rolesOf(user!.id)).toEqual([{ appId: shopId, role: 'owner' }])
      const audit = await store.readAudit()
      // Newest first.
      expect(audit.filter((e) => e.action === 'user.create' || e.action === 'member.add').map((e) => [e.action, e.appId, e.actor])).toEqual([
        ['member.add', shopId, 'cli'],
        ['user.create', null, 'cli'],
      ])
    })
    expect(databaseBytes(dir.path).includes(Buffer.from(password!))).toBe(false)
  })

  it('gives the role on every app when no --app is named (viewer by default), and says it in --json', async () => {
    const user = parseJson<UserJson>(await tacit('user', 'add', 'vic@example.com', '--json'))
    expect(user).toMatchObject({ email: 'vic@example.com', roles: [{ app: 'shop', app_id: shopId, role: 'viewer' }, { app: 'blog', app_id: blogId, role: 'viewer' }] })
    expect(user.password).toMatch(/^[A-Za-z0-9_-]{24}$/)
    const both = parseJson<UserJson>(await tacit('user', 'add', 'mo@example.com', '--role', 'member', '--app', 'blog', '--app', String(shopId), '--app', 'blog', '--json'))
    expect(both.roles.map((r) => r.app)).toEqual(['blog', 'shop'])
  })

  it('reads a chosen password from stdin, never from an argument, and checks the rules', async () => {
    const added = await tacitWithStdin(['user', 'add', 'sam@example.com', '--password-stdin'], 'sams-own-passphrase\n')
    expect(added.stderr).toBe('')
    expect(added.stdout).not.toContain('sams-own-passphrase')
    expect(added.stdout).not.toMatch(/password/i)
    await withStore(async (store) => {
      expect(await verifyPassword('sams-own-passphrase', (await store.users.findUserByEmail('sam@example.com'))!.passwordHash)).toBe(true)
    })
    expectOneSentenceError(await tacitWithStdin(['user', 'add', 'tim@example.com', '--password-stdin'], 'short\n'), /at least 10 characters/)
    expectOneSentenceError(await tacitWithStdin(['user', 'add', 'tim@example.com', '--password-stdin'], 'tim@example.com\n'), /email/)
    expectOneSentenceError(await tacitWithStdin(['user', 'add', 'tim@example.com', '--password-stdin'], ''), /No password on stdin/)
    expectOneSentenceError(await tacitWithStdin(['user', 'add', 'tim@example.com', '--password-stdin'], 'line one is long\nline two\n'), /one line/)
    expectOneSentenceError(await tacitWithStdin(['user', 'add', 'tim@example.com', '--password-stdin'], 'x'.repeat(5000)), /too long/)
  }, 30_000)

  it.each<[string, string[], RegExp]>([
    ['a missing email', ['user', 'add'], /Missing the argument <email>/],
    ['two emails', ['user', 'add', 'a@example.com', 'b@example.com'], /Unexpected argument "b@example.com"/],
    ['a malformed email', ['user', 'add', 'not-an-email'], /is not an email address/],
    ['a hostile email', ['user', 'add', '\u001b[31mevil@example.com'], /is not an email address/],
    ['an unknown role', ['user', 'add', 'c@example.com', '--role', 'admin'], /--role must be one of viewer\|member\|owner/],
    ['an unknown app', ['user', 'add', 'c@example.com', '--app', 'nope'], /There is no app "nope"/],
    ['an existing email in another case', ['user', 'add', 'ANN@example.com'], /exists already/],
    ['a password argument', ['user', 'add', 'c@example.com', '--password', 'secret-secret'], /Unknown option '--password'/],
  ])('refuses %s with one sentence', async (_label, args, pattern) => {
    const result = await tacit(...args)
    expectOneSentenceError(result, pattern)
    expect(result.stderr).not.toContain('\u001b')
  })

  it('says so when there is no database', async () => {
    const empty = makeTempDir('tacit-cli-users-empty-')
    try {
      expectOneSentenceError(await runCliInProcess(['user', 'list'], join(empty.path, 'none')), /There is no Tacit database/)
    } finally {
      empty.remove()
    }
  })
})

describe('tacit user grant', () => {
  it('gives an existing user a role on an app created after them, changes it, and audits both', async () => {
    expectSuccess(await tacit('user', 'add', 'gus@example.com', '--role', 'owner', '--app', 'blog'))
    const later = await createTestApp(dir.path, 'later')
    expect(expectSuccess(await tacit('user', 'grant', 'gus@example.com', '--role', 'member', '--app', 'later'))).toBe('gus@example.com is now member of "later".\n')
    expect(expectSuccess(await tacit('user', 'grant', 'GUS@example.com', '--role', 'owner', '--app', 'later', '--app', 'blog'))).toBe('gus@example.com is now owner of "later" (was member).\n')
    expect(expectSuccess(await tacit('user', 'grant', 'gus@example.com', '--role', 'owner', '--app', 'later'))).toBe('gus@example.com already has the owner role on "later".\n')
    await withStore(async (store) => {
      const user = await store.users.findUserByEmail('gus@example.com')
      expect(await store.users.roleOf(user!.id, later.appId)).toBe('owner')
      const audit = (await store.readAudit({ appId: later.appId })).map((e) => e.action)
      expect(audit.slice(0, 2)).toEqual(['member.role', 'member.add'])
    })
  })

  it('will not demote the last owner of an app', async () => {
    const solo = await createTestApp(dir.path, 'solo')
    expectSuccess(await tacit('user', 'add', 'sol@example.com', '--role', 'owner', '--app', 'solo'))
    expectOneSentenceError(await tacit('user', 'grant', 'sol@example.com', '--role', 'viewer', '--app', String(solo.appId)), /sol@example\.com is the last owner of "solo"/)
  })

  it.each<[string[], RegExp]>([
    [['user', 'grant', 'nobody@example.com', '--role', 'owner', '--app', 'shop'], /There is no user nobody@example\.com/],
    [['user', 'grant', 'gus@example.com', '--role', 'admin', '--app', 'shop'], /--role must be one of viewer\|member\|owner/],
    [['user', 'grant', 'gus@example.com', '--app', 'shop'], /--role must be one of/],
    [['user', 'grant', 'gus@example.com', '--role', 'owner'], /Name the apps with --app <app>/],
    [['user', 'grant', 'gus@example.com', '--role', 'owner', '--app', 'nope'], /There is no app "nope"/],
    [['user', 'grant', 'not-an-email', '--role', 'owner', '--app', 'shop'], /is not an email address/],
  ])('refuses %j with one sentence', async (args, message) => {
    expectOneSentenceError(await tacit(...args), message)
  })
})

describe('tacit user list', () => {
  it('lists users with their roles, as a table and as JSON, without any hash', async () => {
    const table = expectSuccess(await tacit('user', 'list'))
    expect(table.split('\n')[0]).toMatch(/^ID\s+EMAIL\s+ROLES\s+CREATED\s+PASSWORD CHANGED$/)
    expect(table).toMatch(/ann@example\.com\s+shop:owner/)
    expect(table).not.toContain('scrypt')
    const users = parseJson<UserJson[]>(await tacit('user', 'list', '--json'))
    expect(users.find((u) => u.email === 'ann@example.com')?.roles).toEqual([{ app: 'shop', app_id: shopId, role: 'owner' }])
    expect(JSON.stringify(users)).not.toContain('scrypt')
    expectOneSentenceError(await tacit('user', 'list', 'extra'), /Unexpected argument "extra"/)
  })
})

describe('tacit user reset-password', () => {
  it('prints a new password once, signs out every session and audits it', async () => {
    const userId = await withStore(async (store) => {
      const user = (await store.users.findUserByEmail('vic@example.com'))!
      await store.users.createSession({ idHash: 'a'.repeat(64), userId: user.id, createdAt: Date.now(), expiresAt: Date.now() + 60_000 })
      await store.users.createSession({ idHash: 'b'.repeat(64), userId: user.id, createdAt: Date.now(), expiresAt: Date.now() + 60_000 })
      return user.id
    })
    const out = expectSuccess(await tacit('user', 'reset-password', 'VIC@example.com'))
    expect(out).toMatch(/^Reset the password of vic@example\.com and signed out 2 sessions\./)
    const password = /\n([A-Za-z0-9_-]{24})\n$/.exec(out)?.[1]
    await withStore(async (store) => {
      expect(await store.users.findSession('a'.repeat(64))).toBeUndefined()
      expect(await verifyPassword(password!, (await store.users.findUserByEmail('vic@example.com'))!.passwordHash)).toBe(true)
      expect((await store.readAudit()).find((e) => e.action === 'user.password')).toMatchObject({ actor: 'cli', detail: { user: userId, reset: true } })
    })
    expectOneSentenceError(await tacit('user', 'reset-password', 'nobody@example.com'), /There is no user nobody@example\.com/)
    expectOneSentenceError(await tacit('user', 'reset-password'), /Missing the argument <email>/)
  })
})

describe('tacit user remove', () => {
  it('removes a user with roles and sessions, and warns when an app is left without an owner', async () => {
    const out = expectSuccess(await tacit('user', 'remove', 'ann@example.com'))
    expect(out).toMatch(/^Removed the user ann@example\.com \(id \d+\) and signed out their sessions\.\n"shop" has no owner now/)
    await withStore(async (store) => {
      expect(await store.users.findUserByEmail('ann@example.com')).toBeUndefined()
      expect((await store.users.listMembers(shopId)).some((m) => m.email === 'ann@example.com')).toBe(false)
    })
    expectOneSentenceError(await tacit('user', 'remove', 'ann@example.com'), /There is no user ann@example\.com/)
    const json = parseJson<{ removed: boolean; apps_without_owner: string[] }>(await tacit('user', 'remove', 'vic@example.com', '--json'))
    expect(json).toMatchObject({ removed: true, apps_without_owner: [] })
  })

  it('shows user changes in tacit audit', async () => {
    const out = expectSuccess(await tacit('audit'))
    expect(out).toMatch(/user\.remove\s+user \d+ vic@example\.com/)
    expect(out).toMatch(/member\.add\s+user \d+ ann@example\.com as owner/)
    expect(out).toMatch(/user\.password\s+user \d+ vic@example\.com: reset by an operator/)
  })
})

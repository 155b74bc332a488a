import { resolveApp } from '../../apps/appAdmin.js'
import { APP_ROLES, isAppRole, type AppRole } from '../../accounts/appRoles.js'
import { normalizeEmail } from '../../accounts/emailAddress.js'
import { hashPassword } from '../../accounts/hashPassword.js'
import { passwordProblem } from '../../accounts/passwordRules.js'
import { systemClock } from '../../clock.js'
import { cryptoRandom } from '../../randomSource.js'
import type { App, Store } from '../../store/Store.js'
import type { User } from '../../store/UserStore.js'
import { CliError, formatTime, writeJson, writeTable, type CliCommand } from '../cliCommand.js'
import { openCliStore } from '../openCliStore.js'
import { isoTime } from './appCommands.js'

/**
 * Dashboard accounts for operators (issue 6). Passwords are shown once when generated, or read from stdin
 * (never from an argument: it would stay in the shell history and in `ps`); only their scrypt hash is stored.
 */

const ROLES = APP_ROLES.join('|')
/** 18 random bytes: 24 base64url characters, 144 bits; nobody guesses it before the user changes it. */
const GENERATED_PASSWORD_BYTES = 18
/** A password is at most 256 characters; a little more is read to say so rather than cut it. */
const MAX_STDIN_BYTES = 4096

export const userAddCommand: CliCommand = {
  path: ['user', 'add'],
  usage: `tacit user add <email> [--role ${ROLES}] [--app <app>]... [--password-stdin] [--json] [--data-dir <dir>]`,
  summary: 'Create a dashboard account with a role on the given apps (default: every app) and a one-time password.',
  options: { role: { type: 'string' }, app: { type: 'string', multiple: true }, 'password-stdin': { type: 'boolean' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const email = emailArgument(positionals, userAddCommand.usage)
    const roleFlag = values.role ?? 'viewer'
    if (!isAppRole(roleFlag)) throw new CliError(`--role must be one of ${ROLES}. Usage: ${userAddCommand.usage}`)
    const role: AppRole = roleFlag
    const given = values['password-stdin'] ? await readPasswordFromStdin() : undefined
    const password = given ?? cryptoRandom.bytes(GENERATED_PASSWORD_BYTES).toString('base64url')
    const problem = passwordProblem(password, email)
    if (problem) throw new CliError(problem)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const apps = await appsOf(store, values.app)
      if (await store.users.findUserByEmail(email)) throw new CliError(`A user ${email} exists already: see \`tacit user list\`.`)
      const at = systemClock.now()
      const user = await store.users.createUser({ email, passwordHash: await hashPassword(password, cryptoRandom), createdAt: at, roles: apps.map((app) => ({ appId: app.id, role })) })
      if (!user) throw new CliError(`A user ${email} exists already: see \`tacit user list\`.`)
      await store.appendAudit({ appId: null, at, actor: 'cli', action: 'user.create', detail: { user: user.id, email, via: 'cli' } })
      for (const app of apps) await store.appendAudit({ appId: app.id, at, actor: 'cli', action: 'member.add', detail: { user: user.id, email, role } })
      if (values.json) {
        writeJson(io, { ...userJson(user, apps.map((app) => ({ app: app.name, app_id: app.id, role }))), ...(given === undefined && { password }) })
        return
      }
      const scope = apps.length === 0 ? 'no app yet (there is none yet: give one later with `tacit user grant`)' : apps.map((app) => `"${app.name}"`).join(', ')
      io.stdout.write(`Created the user ${email} (id ${user.id}), ${role} of ${scope}.\n`)
      if (given === undefined) io.stdout.write(`One-time password, shown only now; ask them to change it after signing in:\n${password}\n`)
    })
  },
}

export const userListCommand: CliCommand = {
  path: ['user', 'list'],
  usage: 'tacit user list [--json] [--data-dir <dir>]',
  summary: 'List dashboard accounts with their roles per app.',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    if (positionals.length > 0) throw new CliError(`Unexpected argument "${positionals[0]!.slice(0, 80)}". Usage: ${userListCommand.usage}`)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const users = await store.users.listUsers()
      const names = new Map((await store.listApps()).map((app) => [app.id, app.name]))
      const rows = []
      for (const user of users) {
        const roles = (await store.users.rolesOf(user.id)).map((r) => ({ app: names.get(r.appId) ?? String(r.appId), app_id: r.appId, role: r.role }))
        rows.push({ user, roles })
      }
      if (values.json) {
        writeJson(io, rows.map(({ user, roles }) => userJson(user, roles)))
        return
      }
      if (rows.length === 0) {
        io.stdout.write('No dashboard users: create one with `tacit user add <email> --role owner`, or use the setup link the server prints.\n')
        return
      }
      writeTable(
        io,
        ['ID', 'EMAIL', 'ROLES', 'CREATED', 'PASSWORD CHANGED'],
        rows.map(({ user, roles }) => [user.id, user.email, roles.map((r) => `${r.app}:${r.role}`).join(', ') || '-', formatTime(user.createdAt), formatTime(user.passwordChangedAt)]),
      )
    })
  },
}

export const userResetPasswordCommand: CliCommand = {
  path: ['user', 'reset-password'],
  usage: 'tacit user reset-password <email> [--json] [--data-dir <dir>]',
  summary: "Give a user a new one-time password (shown once) and sign out all of the user's sessions.",
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const email = emailArgument(positionals, userResetPasswordCommand.usage)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const user = await existingUser(store, email)
      const password = cryptoRandom.bytes(GENERATED_PASSWORD_BYTES).toString('base64url')
      const at = systemClock.now()
      await store.users.setPassword(user.id, await hashPassword(password, cryptoRandom), at)
      const revoked = await store.users.deleteUserSessions(user.id)
      await store.appendAudit({ appId: null, at, actor: 'cli', action: 'user.password', detail: { user: user.id, email: user.email, reset: true } })
      if (values.json) {
        writeJson(io, { id: user.id, email: user.email, password, sessions_revoked: revoked })
        return
      }
      io.stdout.write(`Reset the password of ${user.email} and signed out ${revoked} session${revoked === 1 ? '' : 's'}. New one-time password, shown only now:\n${password}\n`)
    })
  },
}

export const userRemoveCommand: CliCommand = {
  path: ['user', 'remove'],
  usage: 'tacit user remove <email> [--json] [--data-dir <dir>]',
  summary: 'Delete a dashboard account with its roles and sessions (signed out at once).',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const email = emailArgument(positionals, userRemoveCommand.usage)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const user = await existingUser(store, email)
      const roles = await store.users.rolesOf(user.id)
      // The operator is the way back in, so unlike the dashboard this may leave an app without an owner: say so.
      const orphaned: App[] = []
      for (const { appId, role } of roles) {
        if (role !== 'owner') continue
        const owners = (await store.users.listMembers(appId)).filter((m) => m.role === 'owner')
        const app = await store.getApp(appId)
        if (owners.length === 1 && app) orphaned.push(app)
      }
      if (!(await store.users.removeUser(user.id))) throw new CliError(`There is no user ${email}: see \`tacit user list\`.`)
      const at = systemClock.now()
      await store.appendAudit({ appId: null, at, actor: 'cli', action: 'user.remove', detail: { user: user.id, email: user.email } })
      for (const { appId, role } of roles) await store.appendAudit({ appId, at, actor: 'cli', action: 'member.remove', detail: { user: user.id, email: user.email, role } })
      if (values.json) {
        writeJson(io, { id: user.id, email: user.email, removed: true, apps_without_owner: orphaned.map((app) => app.name) })
        return
      }
      io.stdout.write(`Removed the user ${user.email} (id ${user.id}) and signed out their sessions.\n`)
      for (const app of orphaned) io.stdout.write(`"${app.name}" has no owner now: add one with \`tacit user add <email> --role owner --app ${app.name}\`.\n`)
    })
  },
}

export const userGrantCommand: CliCommand = {
  path: ['user', 'grant'],
  usage: `tacit user grant <email> --role ${ROLES} --app <app>... [--json] [--data-dir <dir>]`,
  summary: "Give an existing user a role on apps (e.g. one created after the user), or change the role they have.",
  options: { role: { type: 'string' }, app: { type: 'string', multiple: true }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const email = emailArgument(positionals, userGrantCommand.usage)
    if (!isAppRole(values.role)) throw new CliError(`--role must be one of ${ROLES}. Usage: ${userGrantCommand.usage}`)
    const role: AppRole = values.role
    if (!Array.isArray(values.app) || values.app.length === 0) throw new CliError(`Name the apps with --app <app>. Usage: ${userGrantCommand.usage}`)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const user = await existingUser(store, email)
      const apps = await appsOf(store, values.app)
      const at = systemClock.now()
      const changed: Array<{ app: string; app_id: number; role: AppRole; was: AppRole | null }> = []
      for (const app of apps) {
        const was = (await store.users.roleOf(user.id, app.id)) ?? null
        if (was === role) continue
        const result = was === null ? await store.users.addMember(app.id, user.id, role) : await store.users.setMemberRole(app.id, user.id, role)
        if (result === 'last_owner') throw new CliError(`${email} is the last owner of "${app.name}": make someone else owner first.`)
        if (result !== 'done') throw new CliError(`The role of ${email} on "${app.name}" could not be changed (${result}); try again.`)
        await store.appendAudit(
          was === null
            ? { appId: app.id, at, actor: 'cli', action: 'member.add', detail: { user: user.id, email, role } }
            : { appId: app.id, at, actor: 'cli', action: 'member.role', detail: { user: user.id, email, from: was, to: role } },
        )
        changed.push({ app: app.name, app_id: app.id, role, was })
      }
      if (values.json) {
        writeJson(io, { user_id: user.id, email, changed })
        return
      }
      if (changed.length === 0) {
        io.stdout.write(`${email} already has the ${role} role on ${apps.map((app) => `"${app.name}"`).join(', ')}.\n`)
        return
      }
      for (const c of changed) io.stdout.write(`${email} is now ${c.role} of "${c.app}"${c.was ? ` (was ${c.was})` : ''}.\n`)
    })
  },
}

export const USER_COMMANDS: readonly CliCommand[] = [userAddCommand, userGrantCommand, userListCommand, userResetPasswordCommand, userRemoveCommand]

function emailArgument(positionals: string[], usage: string): string {
  if (positionals.length === 0) throw new CliError(`Missing the argument <email>. Usage: ${usage}`)
  if (positionals.length > 1) throw new CliError(`Unexpected argument "${positionals[1]!.slice(0, 80)}". Usage: ${usage}`)
  const email = normalizeEmail(positionals[0])
  if (!email) throw new CliError(`"${JSON.stringify(positionals[0]!.slice(0, 80)).slice(1, -1)}" is not an email address.`)
  return email
}

async function existingUser(store: Store, email: string): Promise<User> {
  const user = await store.users.findUserByEmail(email)
  if (!user) throw new CliError(`There is no user ${email}: see \`tacit user list\`.`)
  return user
}

/** The apps named by --app (each once), or every app when none is named. */
async function appsOf(store: Store, refs: string | boolean | string[] | undefined): Promise<App[]> {
  if (!Array.isArray(refs) || refs.length === 0) return store.listApps()
  const apps = new Map<number, App>()
  for (const ref of refs) {
    const app = await resolveApp(store, ref)
    apps.set(app.id, app)
  }
  return [...apps.values()]
}

/** The password on stdin, without the one line break `echo` or a password manager adds. */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new CliError('--password-stdin reads the password from a pipe, e.g. `pass show tacit | tacit user add … --password-stdin`.')
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += buffer.length
    if (size > MAX_STDIN_BYTES) throw new CliError('The password on stdin is too long: at most 256 characters.')
    chunks.push(buffer)
  }
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
  if (password.length === 0) throw new CliError('No password on stdin: pipe one in, or leave out --password-stdin to get a generated one.')
  if (password.includes('\n')) throw new CliError('The password on stdin must be one line.')
  return password
}

function userJson(user: User, roles: Array<{ app: string; app_id: number; role: AppRole }>) {
  return { id: user.id, email: user.email, roles, created_at: isoTime(user.createdAt), password_changed_at: isoTime(user.passwordChangedAt) }
}

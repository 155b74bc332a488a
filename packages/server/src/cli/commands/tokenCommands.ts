import { createClientToken, resolveApp } from '../../apps/appAdmin.js'
import { tokenHint } from '../../audit/auditEntry.js'
import { systemClock } from '../../clock.js'
import { cryptoRandom } from '../../randomSource.js'
import { CliError, formatTime, writeJson, type CliCommand } from '../cliCommand.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'
import { tokenJson, writeTokens } from './appCommands.js'

export const tokenCreateCommand: CliCommand = {
  path: ['token', 'create'],
  usage: 'tacit token create <app> [--json] [--data-dir <dir>]',
  summary: 'Create another client token for an app (e.g. to rotate one).',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(tokenCreateCommand, positionals, ['<app>'])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const token = await createClientToken({ store, clock: systemClock, random: cryptoRandom, actor: 'cli' }, app.id)
      if (values.json) {
        writeJson(io, { ...tokenJson(token), app: app.name })
        return
      }
      io.stdout.write(`Created a client token for "${app.name}" (id ${app.id}):\n${token.token}\n`)
    })
  },
}

export const tokenListCommand: CliCommand = {
  path: ['token', 'list'],
  usage: 'tacit token list <app> [--json] [--data-dir <dir>]',
  summary: 'List an app\'s client tokens, revoked ones included.',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(tokenListCommand, positionals, ['<app>'])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const tokens = await store.listTokens(app.id)
      if (values.json) writeJson(io, tokens.map(tokenJson))
      else writeTokens(io, tokens)
    })
  },
}

export const tokenRevokeCommand: CliCommand = {
  path: ['token', 'revoke'],
  usage: 'tacit token revoke <token> [--json] [--data-dir <dir>]',
  summary: 'Revoke a client token; a running server refuses it within a second.',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [token = ''] = expectPositionals(tokenRevokeCommand, positionals, ['<token>'])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const record = await store.findToken(token)
      if (!record) throw new CliError(`There is no client token "${token}": see \`tacit token list <app>\`.`)
      const app = await store.getApp(record.appId)
      const appName = app ? `"${app.name}" (id ${app.id})` : `app ${record.appId}`
      const revokedAt = systemClock.now()
      // The conditional update settles a race with another revoke: only one of them reports success.
      if (record.revokedAt !== null || !(await store.revokeToken(token, revokedAt))) {
        const when = (await store.findToken(token))?.revokedAt ?? record.revokedAt
        throw new CliError(`The client token ${token} of ${appName} was already revoked (${formatTime(when)}).`)
      }
      await store.appendAudit({ appId: record.appId, at: revokedAt, actor: 'cli', action: 'token.revoke', detail: { token: tokenHint(token) } })
      const active = (await store.listTokens(record.appId)).filter((t) => t.revokedAt === null).length
      if (values.json) {
        writeJson(io, { ...tokenJson({ ...record, revokedAt }), app: app?.name ?? null, active_tokens_left: active })
        return
      }
      io.stdout.write(`Revoked the client token ${token} of ${appName}; a running server refuses it within a second.\n`)
      if (active === 0 && app) {
        io.stdout.write(`The app has no active token left: create one with \`tacit token create ${app.name}\`.\n`)
      }
    })
  },
}

export const TOKEN_COMMANDS: readonly CliCommand[] = [tokenCreateCommand, tokenListCommand, tokenRevokeCommand]

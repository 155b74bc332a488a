import { resolveApp } from '../../apps/appAdmin.js'
import { systemClock } from '../../clock.js'
import { createSecretKey } from '../../keys/createSecretKey.js'
import { isSecretKeyKind, SECRET_KEY_KINDS, type SecretKeyKind } from '../../keys/secretKey.js'
import { cryptoRandom } from '../../randomSource.js'
import type { SecretKey } from '../../store/SecretKeyStore.js'
import type { Store } from '../../store/Store.js'
import { CliError, formatTime, writeJson, writeTable, type CliCommand } from '../cliCommand.js'
import { openCliStore } from '../openCliStore.js'
import { isoTime } from './appCommands.js'

const KINDS = SECRET_KEY_KINDS.join('|')

export const keyCreateCommand: CliCommand = {
  path: ['key', 'create'],
  usage: `tacit key create [<app>] --kind ${KINDS} [--label <text>] [--json] [--data-dir <dir>]`,
  summary: 'Create a secret key (upload: one app\'s source maps; api: the /api/v1 routes; relay: tacit relay; trackx: the TrackX client); shown once.',
  options: { kind: { type: 'string' }, label: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    if (positionals.length > 1) throw new CliError(`Unexpected argument "${positionals[1]}". Usage: ${keyCreateCommand.usage}`)
    const kind = kindOption(values.kind, keyCreateCommand.usage)
    if (!kind) throw new CliError(`Say which kind of key with --kind ${KINDS}. Usage: ${keyCreateCommand.usage}`)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = positionals[0] === undefined ? undefined : await resolveApp(store, positionals[0])
      const { key, record } = await createSecretKey(
        { store, clock: systemClock, random: cryptoRandom, actor: 'cli' },
        { kind, appId: app?.id ?? null, label: typeof values.label === 'string' ? values.label : undefined },
      )
      if (values.json) {
        writeJson(io, { ...keyJson(record), key })
        return
      }
      const scope = app ? `for "${app.name}" (id ${app.id})` : 'for every app'
      io.stdout.write(`Created ${kind === 'api' ? 'an' : 'a'} ${kind} key ${scope}, id ${record.id}. It is shown only this once; keep it secret:\n${key}\n`)
    })
  },
}

export const keyListCommand: CliCommand = {
  path: ['key', 'list'],
  usage: `tacit key list [<app>] [--kind ${KINDS}] [--json] [--data-dir <dir>]`,
  summary: 'List secret keys by id and hint (never the keys themselves), revoked ones included.',
  options: { kind: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    if (positionals.length > 1) throw new CliError(`Unexpected argument "${positionals[1]}". Usage: ${keyListCommand.usage}`)
    const kind = kindOption(values.kind, keyListCommand.usage)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = positionals[0] === undefined ? undefined : await resolveApp(store, positionals[0])
      const keys = await store.secretKeys.list({ ...(app && { appId: app.id }), ...(kind && { kind }) })
      if (values.json) {
        writeJson(io, keys.map(keyJson))
        return
      }
      if (keys.length === 0) {
        io.stdout.write(`No secret keys: create one with \`tacit key create [<app>] --kind ${KINDS}\`.\n`)
        return
      }
      const names = await appNames(store, keys)
      writeTable(
        io,
        ['ID', 'KIND', 'APP', 'HINT', 'LABEL', 'CREATED', 'REVOKED', 'LAST USED (HOUR)'],
        keys.map((k) => [k.id, k.kind, k.appId === null ? '(all)' : (names.get(k.appId) ?? String(k.appId)), k.hint, k.label ?? '-', formatTime(k.createdAt), formatTime(k.revokedAt), formatTime(k.lastUsedAt)]),
      )
    })
  },
}

export const keyRevokeCommand: CliCommand = {
  path: ['key', 'revoke'],
  usage: 'tacit key revoke <id> [--json] [--data-dir <dir>]',
  summary: 'Revoke a secret key; a running server refuses it from its next request.',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    if (positionals.length !== 1) throw new CliError(`${positionals.length === 0 ? 'Missing the argument <id>' : `Unexpected argument "${positionals[1]}"`}. Usage: ${keyRevokeCommand.usage}`)
    const ref = positionals[0]!
    if (!/^\d{1,15}$/.test(ref)) throw new CliError(`"${ref.slice(0, 80)}" is not a key id: see \`tacit key list\` (revoke by id, not by the key).`)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const id = Number(ref)
      const record = await store.secretKeys.get(id)
      if (!record) throw new CliError(`There is no secret key with id ${id}: see \`tacit key list\`.`)
      const at = systemClock.now()
      if (record.revokedAt !== null || !(await store.secretKeys.revoke(id, at))) {
        const when = (await store.secretKeys.get(id))?.revokedAt ?? record.revokedAt
        throw new CliError(`The ${record.kind} key ${id} (${record.hint}) was already revoked at ${formatTime(when)}.`)
      }
      await store.appendAudit({ appId: record.appId, at, actor: 'cli', action: 'key.revoke', detail: { id, kind: record.kind, hint: record.hint } })
      const revoked = { ...record, revokedAt: at }
      if (values.json) writeJson(io, keyJson(revoked))
      else io.stdout.write(`Revoked the ${record.kind} key ${id} (${record.hint}).\n`)
    })
  },
}

export const KEY_COMMANDS: readonly CliCommand[] = [keyCreateCommand, keyListCommand, keyRevokeCommand]

function kindOption(value: unknown, usage: string): SecretKeyKind | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string' && isSecretKeyKind(value)) return value
  throw new CliError(`--kind must be one of ${KINDS}. Usage: ${usage}`)
}

async function appNames(store: Store, keys: readonly SecretKey[]): Promise<Map<number, string>> {
  const names = new Map<number, string>()
  for (const id of new Set(keys.flatMap((k) => (k.appId === null ? [] : [k.appId])))) {
    const app = await store.getApp(id)
    if (app) names.set(id, app.name)
  }
  return names
}

export function keyJson(key: SecretKey) {
  return {
    id: key.id,
    kind: key.kind,
    app_id: key.appId,
    hint: key.hint,
    label: key.label,
    active: key.revokedAt === null,
    created_at: isoTime(key.createdAt),
    revoked_at: key.revokedAt === null ? null : isoTime(key.revokedAt),
    last_used_at: key.lastUsedAt === null ? null : isoTime(key.lastUsedAt),
  }
}


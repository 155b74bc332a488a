import { createAppWithToken, resolveApp } from '../../apps/appAdmin.js'
import {
  applySetting,
  describeSettings,
  formatSettingValue,
  resolveSettings,
  SETTING_KEYS,
  type AppSettingsOverrides,
  type SettingLine,
} from '../../apps/appSettings.js'
import { settingChanges } from '../../audit/settingChanges.js'
import { systemClock } from '../../clock.js'
import { cryptoRandom } from '../../randomSource.js'
import type { App, ClientToken } from '../../store/Store.js'
import { CliError, formatTime, writeJson, writeTable, type CliCommand, type CliIo } from '../cliCommand.js'
import { createProgress } from '../createProgress.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'

const JSON_OPTION = { json: { type: 'boolean' } } as const

export const appCreateCommand: CliCommand = {
  path: ['app', 'create'],
  usage: 'tacit app create <name> [--origin <url>]... [--json] [--data-dir <dir>]',
  summary: 'Create an app and its first client token.',
  options: { origin: { type: 'string', multiple: true }, ...JSON_OPTION },
  async run({ values, positionals, io }) {
    const [name = ''] = expectPositionals(appCreateCommand, positionals, ['<name>'])
    const origins = (values.origin as string[] | undefined) ?? []
    // The only command that may start a database: creating the first app before the first `tacit serve` is fine.
    return openCliStore(values['data-dir'], { create: true }, async ({ store }) => {
      const { app, token } = await createAppWithToken({ store, clock: systemClock, random: cryptoRandom, actor: 'cli' }, { name, origins })
      const settings = resolveSettings(app.settings)
      if (values.json) {
        writeJson(io, { id: app.id, name: app.name, created_at: isoTime(app.createdAt), origins: settings.origins, token: token.token })
        return
      }
      io.stdout.write(
        [
          `Created the app "${app.name}" (id ${app.id}).`,
          `Client token: ${token.token}`,
          `Allowed origins: ${describeOrigins(settings.origins)}`,
          '',
        ].join('\n'),
      )
    })
  },
}

export const appListCommand: CliCommand = {
  path: ['app', 'list'],
  usage: 'tacit app list [--json] [--data-dir <dir>]',
  summary: 'List the apps with their origins and active client tokens.',
  options: { ...JSON_OPTION },
  async run({ values, positionals, io }) {
    expectPositionals(appListCommand, positionals, [])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const rows = []
      for (const app of await store.listApps()) {
        const tokens = await store.listTokens(app.id)
        rows.push({ app, origins: resolveSettings(app.settings).origins, activeTokens: tokens.filter((t) => t.revokedAt === null).length })
      }
      if (values.json) {
        writeJson(
          io,
          rows.map(({ app, origins, activeTokens }) => ({
            id: app.id,
            name: app.name,
            created_at: isoTime(app.createdAt),
            origins,
            active_tokens: activeTokens,
          })),
        )
        return
      }
      if (rows.length === 0) {
        io.stdout.write('There are no apps yet: create one with `tacit app create <name>`.\n')
        return
      }
      writeTable(
        io,
        ['ID', 'NAME', 'CREATED', 'ORIGINS', 'ACTIVE TOKENS'],
        rows.map(({ app, origins, activeTokens }) => [app.id, app.name, formatTime(app.createdAt), describeOrigins(origins), activeTokens]),
      )
    })
  },
}

export const appSetCommand: CliCommand = {
  path: ['app', 'set'],
  usage: `tacit app set <app> <key=value>... [--json] [--data-dir <dir>]  (keys: ${SETTING_KEYS.join(', ')}; see README)`,
  summary: 'Change an app\'s settings; a running server applies them within a second.',
  options: { ...JSON_OPTION },
  async run({ values, positionals, io }) {
    const [ref = '', ...assignments] = expectPositionals(appSetCommand, positionals, ['<app>', '<key=value>...'])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      // Every assignment is checked before anything is written: one bad key leaves the settings untouched.
      const settings = assignments.reduce(applySetting, app.settings)
      await store.updateAppSettings(app.id, settings)
      const changes = settingChanges(app.settings, settings)
      // Setting a value it already had changes nothing, so there is nothing to audit.
      if (Object.keys(changes).length > 0) {
        await store.appendAudit({ appId: app.id, at: systemClock.now(), actor: 'cli', action: 'app.settings', detail: { changes } })
      }
      const updated = { ...app, settings }
      if (values.json) {
        writeJson(io, { id: app.id, name: app.name, settings: settingsJson(settings) })
        return
      }
      io.stdout.write(`Updated the settings of "${app.name}" (id ${app.id}); a running server applies them within a second.\n`)
      writeSettings(io, updated)
    })
  },
}

export const appShowCommand: CliCommand = {
  path: ['app', 'show'],
  usage: 'tacit app show <app> [--url <Tacit base URL>] [--json] [--data-dir <dir>]',
  summary: 'Show an app\'s effective settings, its client tokens, and how other SDKs (Sentry, Datadog) send to it.',
  options: { url: { type: 'string' }, ...JSON_OPTION },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(appShowCommand, positionals, ['<app>'])
    // Where browsers and services reach Tacit: only then is a Sentry DSN ready to paste (the CLI cannot know it).
    const base = values.url === undefined ? undefined : parseBaseUrl(String(values.url))
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const tokens = await store.listTokens(app.id)
      const token = tokens.find((t) => t.revokedAt === null)?.token
      const sdks = token ? otherSdks(app.id, token, base) : undefined
      if (values.json) {
        writeJson(io, {
          id: app.id,
          name: app.name,
          created_at: isoTime(app.createdAt),
          settings: settingsJson(app.settings),
          tokens: tokens.map(tokenJson),
          ...(sdks && { sentry_dsn: sdks.sentryDsn, datadog_proxy: sdks.datadogProxy }),
        })
        return
      }
      io.stdout.write(`App "${app.name}" (id ${app.id}), created ${formatTime(app.createdAt)}\n\n`)
      writeSettings(io, app)
      io.stdout.write('\n')
      writeTokens(io, tokens)
      if (sdks) {
        io.stdout.write(`\nOther SDKs (docs/SDKS.md):\n  Sentry DSN:     ${sdks.sentryDsn}\n  Datadog proxy:  ${sdks.datadogProxy} (clientToken: the client token)\n`)
        io.stdout.write(`  TrackX:         tacit key create ${app.name} --kind trackx, then trackx.setup('${sdks.base}/v1/<key>')\n`)
        if (!base) io.stdout.write('  (Add --url https://<your Tacit host> to print them ready to paste.)\n')
      }
    })
  },
}

/**
 * How other vendors' SDKs address this app (issue 9): a Sentry DSN is `<scheme>://<client token>@<host>/<app id>`
 * (Sentry's SDKs take only a number as the project), Datadog's `proxy` option is Tacit's compat path.
 */
function otherSdks(appId: number, token: string, base: URL | undefined): { sentryDsn: string; datadogProxy: string; base: string } {
  const origin = base ? `${base.origin}${base.pathname.replace(/\/+$/, '')}` : 'https://<your Tacit host>'
  const [scheme, rest] = origin.split('://') as [string, string]
  return { sentryDsn: `${scheme}://${token}@${rest}/${appId}`, datadogProxy: `${origin}/api/compat/datadog`, base: origin }
}

function parseBaseUrl(value: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new CliError(`"${value.slice(0, 100)}" is not a URL like https://tacit.example.`)
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash) {
    throw new CliError('--url must be Tacit\'s base URL, http(s)://host[:port][/path], with no user, query or fragment.')
  }
  return url
}

export const appPurgeCommand: CliCommand = {
  path: ['app', 'purge'],
  usage: 'tacit app purge <app> --yes [--json] [--data-dir <dir>]',
  summary: 'Delete every stored event of an app at once; the app and its tokens remain.',
  options: { yes: { type: 'boolean' }, ...JSON_OPTION },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(appPurgeCommand, positionals, ['<app>'])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      if (!values.yes) {
        throw new CliError(`This deletes every stored event of "${app.name}" (id ${app.id}) and cannot be undone: add --yes to confirm.`)
      }
      const progress = createProgress(io)
      progress.update(`Deleting the events of "${app.name}"…`)
      const deleted = await store.purgeApp(app.id)
      progress.done()
      await store.appendAudit({ appId: app.id, at: systemClock.now(), actor: 'cli', action: 'app.purge', detail: { deleted } })
      if (values.json) {
        writeJson(io, { id: app.id, name: app.name, deleted })
        return
      }
      io.stdout.write(`Deleted ${plural(deleted, 'event')} of "${app.name}" (id ${app.id}); the app and its tokens remain.\n`)
    })
  },
}

export const APP_COMMANDS: readonly CliCommand[] = [appCreateCommand, appListCommand, appShowCommand, appSetCommand, appPurgeCommand]

/** Settings as `tacit app set` names them, so a script can read one back and set it again. */
function settingsJson(overrides: AppSettingsOverrides): Record<string, SettingLine['value']> {
  return Object.fromEntries(describeSettings(overrides).map(({ key, value }) => [key, value]))
}

function writeSettings(io: CliIo, app: App): void {
  const shown = (value: SettingLine['value']) => formatSettingValue(value) || '-'
  writeTable(
    io,
    ['SETTING', 'VALUE'],
    describeSettings(app.settings).map(({ key, value, isDefault }) => [key, `${shown(value)}${isDefault ? '  (default)' : ''}`]),
  )
}

export function writeTokens(io: CliIo, tokens: readonly ClientToken[]): void {
  if (tokens.length === 0) {
    io.stdout.write('No client tokens.\n')
    return
  }
  writeTable(
    io,
    ['TOKEN', 'CREATED', 'REVOKED', 'LAST USED (HOUR)'],
    tokens.map((t) => [t.token, formatTime(t.createdAt), formatTime(t.revokedAt), formatTime(t.lastUsedAt)]),
  )
}

export function tokenJson(token: ClientToken) {
  return {
    token: token.token,
    app_id: token.appId,
    active: token.revokedAt === null,
    created_at: isoTime(token.createdAt),
    revoked_at: token.revokedAt === null ? null : isoTime(token.revokedAt),
    last_used_at: token.lastUsedAt === null ? null : isoTime(token.lastUsedAt),
  }
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString()
}

function describeOrigins(origins: readonly string[]): string {
  return origins.length === 0 ? 'any' : origins.join(', ')
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

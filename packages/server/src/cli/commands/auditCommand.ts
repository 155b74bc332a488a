import { resolveApp } from '../../apps/appAdmin.js'
import { formatSettingValue } from '../../apps/appSettings.js'
import { AUDIT_RETENTION_DAYS, type AuditEntry } from '../../audit/auditEntry.js'
import { DAY_MS, systemClock } from '../../clock.js'
import { CliError, formatTime, writeJson, writeTable, type CliCommand } from '../cliCommand.js'
import { openCliStore } from '../openCliStore.js'
import { isoTime, plural } from './appCommands.js'

export const auditCommand: CliCommand = {
  path: ['audit'],
  usage: `tacit audit [<app>] [--days ${AUDIT_RETENTION_DAYS}] [--json] [--data-dir <dir>]`,
  summary: `Show the privacy-relevant changes of the last days (kept ${AUDIT_RETENTION_DAYS} days), newest first.`,
  options: { days: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    if (positionals.length > 1) throw new CliError(`Unexpected argument "${positionals[1]}". Usage: ${auditCommand.usage}`)
    const ref = positionals[0]
    const daysFlag = (values.days as string | undefined) ?? String(AUDIT_RETENTION_DAYS)
    if (!/^\d+$/.test(daysFlag) || Number(daysFlag) < 1 || Number(daysFlag) > AUDIT_RETENTION_DAYS) {
      throw new CliError(`--days must be a whole number from 1 to ${AUDIT_RETENTION_DAYS}: the audit log is kept ${AUDIT_RETENTION_DAYS} days.`)
    }
    const days = Number(daysFlag)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = ref === undefined ? undefined : await resolveApp(store, ref)
      const entries = await store.readAudit({ appId: app?.id, since: systemClock.now() - days * DAY_MS })
      const names = new Map((await store.listApps()).map((a) => [a.id, a.name]))
      if (values.json) {
        writeJson(
          io,
          entries.map((entry) => ({
            id: entry.id,
            at: isoTime(entry.at),
            app_id: entry.appId,
            app: entry.appId === null ? null : (names.get(entry.appId) ?? null),
            actor: entry.actor,
            action: entry.action,
            detail: entry.detail,
          })),
        )
        return
      }
      if (entries.length === 0) {
        const scope = app ? ` for "${app.name}"` : ''
        io.stdout.write(`No audit entries${scope} in the last ${plural(days, 'day')}.\n`)
        return
      }
      writeTable(
        io,
        ['TIME', 'APP', 'ACTOR', 'ACTION', 'DETAIL'],
        entries.map((entry) => [
          formatTime(entry.at),
          entry.appId === null ? '-' : (names.get(entry.appId) ?? String(entry.appId)),
          entry.actor,
          entry.action,
          describeDetail(entry),
        ]),
      )
    })
  },
}

/** One line a person can read; --json keeps the structure. */
function describeDetail(entry: AuditEntry): string {
  switch (entry.action) {
    case 'app.create': {
      const origins = entry.detail.origins.length === 0 ? 'any origin' : `origins ${entry.detail.origins.join(', ')}`
      return `"${entry.detail.name}", first token ${entry.detail.token}, ${origins}`
    }
    case 'app.settings':
      return Object.entries(entry.detail.changes)
        .map(([key, { from, to }]) => `${key}: ${shown(from)} → ${shown(to)}`)
        .join('; ')
    case 'app.purge':
      return `deleted ${plural(entry.detail.deleted, 'event')}`
    case 'token.create':
    case 'token.revoke':
      return entry.detail.token
    case 'key.create':
      return `${entry.detail.kind} key ${entry.detail.id} (${entry.detail.hint})${entry.detail.label ? `, "${entry.detail.label}"` : ''}`
    case 'key.revoke':
      return `${entry.detail.kind} key ${entry.detail.id} (${entry.detail.hint})`
    case 'alert.create':
      return `${entry.detail.on} rule ${entry.detail.id}, ${entry.detail.format} to ${entry.detail.origin}`
    case 'alert.remove':
      return `${entry.detail.on} rule ${entry.detail.id} (${entry.detail.origin})`
    case 'retention.run': {
      const kinds = Object.entries(entry.detail.deleted).map(([kind, count]) => `${kind} ${count}`)
      return `deleted ${entry.detail.total}: ${kinds.join(', ')}`
    }
    case 'user.create':
      return `user ${entry.detail.user} ${entry.detail.email} (${entry.detail.via === 'setup' ? 'first-start setup' : 'tacit user add'})`
    case 'user.remove':
      return `user ${entry.detail.user} ${entry.detail.email}`
    case 'user.password':
      return `user ${entry.detail.user} ${entry.detail.email}: ${entry.detail.reset ? 'reset by an operator' : 'changed by the user'}`
    case 'member.add':
    case 'member.remove':
      return `user ${entry.detail.user} ${entry.detail.email} as ${entry.detail.role}`
    case 'member.role':
      return `user ${entry.detail.user} ${entry.detail.email}: ${entry.detail.from} → ${entry.detail.to}`
  }
}

function shown(value: Parameters<typeof formatSettingValue>[0]): string {
  return formatSettingValue(value) || '-'
}

import { ALERT_FORMATS, ALERT_RULE_KINDS, isAlertFormat, isAlertRuleKind, MAX_THRESHOLD, MAX_WINDOW_MINUTES } from '../../alerts/alertRule.js'
import { attemptDelivery } from '../../alerts/attemptDelivery.js'
import { createAlertRule, removeAlertRule } from '../../alerts/createAlertRule.js'
import type { FetchLike } from '../../alerts/deliverWebhook.js'
import { resolveApp } from '../../apps/appAdmin.js'
import { systemClock } from '../../clock.js'
import { cryptoRandom } from '../../randomSource.js'
import type { AlertDelivery, AlertRule } from '../../store/AlertStore.js'
import type { Store } from '../../store/Store.js'
import { CliError, formatTime, writeJson, writeTable, type CliCommand } from '../cliCommand.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'
import { isoTime } from './appCommands.js'
import { alertRuleJson } from '../../alerts/alertRuleJson.js'

const KINDS = ALERT_RULE_KINDS.join('|')
const FORMATS = ALERT_FORMATS.join('|')
const DEFAULT_LOG_LIMIT = 50
const MAX_LOG_LIMIT = 1000

/** How each trigger reads in a sentence. */
const KIND_PHRASES: Record<AlertRule['kind'], (rule: AlertRule) => string> = {
  'new-issue': () => 'on new issues',
  regression: () => 'on regressions',
  'error-rate': (rule) => `when ${rule.threshold} or more error events arrive within ${rule.windowMinutes} minute${rule.windowMinutes === 1 ? '' : 's'}`,
}

export const alertAddCommand: CliCommand = {
  path: ['alert', 'add'],
  usage: `tacit alert add <app> --on ${KINDS} --url <url> [--format ${FORMATS}] [--threshold <events> --window <minutes>] [--json] [--data-dir <dir>]`,
  summary: 'Add an alert rule that POSTs signed webhooks (JSON or Slack) on new issues, regressions or error-rate spikes.',
  options: { on: { type: 'string' }, url: { type: 'string' }, format: { type: 'string' }, threshold: { type: 'string' }, window: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(alertAddCommand, positionals, ['<app>'])
    const kind = values.on
    if (typeof kind !== 'string') throw new CliError(`Say when to alert with --on ${KINDS}. Usage: ${alertAddCommand.usage}`)
    if (!isAlertRuleKind(kind)) throw new CliError(`--on must be new-issue, regression or error-rate.`)
    if (typeof values.url !== 'string') throw new CliError(`Say where to send alerts with --url <url>. Usage: ${alertAddCommand.usage}`)
    const format = values.format ?? 'json'
    if (typeof format !== 'string' || !isAlertFormat(format)) throw new CliError('--format must be json or slack.')
    const threshold = wholeNumber('--threshold', values.threshold, MAX_THRESHOLD)
    const windowMinutes = wholeNumber('--window', values.window, MAX_WINDOW_MINUTES)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const rule = await createAlertRule(
        { store, clock: systemClock, random: cryptoRandom, actor: 'cli' },
        { appId: app.id, kind, url: values.url as string, format, ...(threshold !== undefined && { threshold }), ...(windowMinutes !== undefined && { windowMinutes }) },
      )
      if (values.json) {
        writeJson(io, { ...alertRuleJson(rule), app: app.name, secret: rule.secret })
        return
      }
      io.stdout.write(
        `Created alert rule ${rule.id} for "${app.name}" (id ${app.id}): ${KIND_PHRASES[rule.kind](rule)}, POST ${rule.format} to ${rule.url}\n` +
          'Signing secret, shown only this once; give it to the receiver to verify X-Tacit-Signature (docs/ALERTS.md):\n' +
          `${rule.secret}\n` +
          `Send a test now with \`tacit alert test ${rule.id}\`.\n`,
      )
    })
  },
}

export const alertListCommand: CliCommand = {
  path: ['alert', 'list'],
  usage: 'tacit alert list <app> [--json] [--data-dir <dir>]',
  summary: "List an app's alert rules (never their signing secrets).",
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(alertListCommand, positionals, ['<app>'])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const rules = await store.alerts.listRules({ appId: app.id })
      if (values.json) {
        writeJson(io, rules.map(alertRuleJson))
        return
      }
      if (rules.length === 0) {
        io.stdout.write(`No alert rules for "${app.name}" (id ${app.id}): add one with \`tacit alert add ${app.name} --on new-issue --url <url>\`.\n`)
        return
      }
      writeTable(
        io,
        ['ID', 'ON', 'THRESHOLD', 'FORMAT', 'ENABLED', 'CREATED', 'URL'],
        rules.map((rule) => [
          rule.id,
          rule.kind,
          rule.kind === 'error-rate' ? `${rule.threshold}/${rule.windowMinutes}min${rule.firing ? ' (above)' : ''}` : '-',
          rule.format,
          rule.enabled ? 'yes' : 'no',
          formatTime(rule.createdAt),
          rule.url,
        ]),
      )
    })
  },
}

export const alertRemoveCommand: CliCommand = {
  path: ['alert', 'remove'],
  usage: 'tacit alert remove <id> [--json] [--data-dir <dir>]',
  summary: 'Remove an alert rule with its delivery log; its pending deliveries are not sent.',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const id = parseRuleId(alertRemoveCommand, positionals)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const rule = await findRule(store, id)
      if (!(await removeAlertRule({ store, clock: systemClock, actor: 'cli' }, rule))) {
        throw new CliError(`There is no alert rule ${id} any more: it was removed meanwhile.`)
      }
      if (values.json) {
        writeJson(io, { ...alertRuleJson(rule), removed: true })
        return
      }
      io.stdout.write(`Removed alert rule ${id} (${rule.kind}, ${rule.url}) with its delivery log.\n`)
    })
  },
}

export const alertTestCommand: CliCommand = {
  path: ['alert', 'test'],
  usage: 'tacit alert test <id> [--json] [--data-dir <dir>]',
  summary: 'Send a signed test payload to an alert rule\'s webhook now and say how the receiver answered.',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const id = parseRuleId(alertTestCommand, positionals)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const rule = await findRule(store, id)
      const clock = systemClock
      // Due at no time: a running server's dispatcher leaves it alone while this command sends it.
      const delivery = await store.alerts.addDelivery({ ruleId: rule.id, event: 'alert.test', issueId: null, errorCount: null, createdAt: clock.now(), dueAt: null, attempts: 1 })
      const result = await attemptDelivery({ store, clock, fetch: fetch as unknown as FetchLike }, delivery)
      if (result.ok) {
        await store.alerts.finishDelivery(delivery.id, { status: 'delivered', at: clock.now(), lastStatus: result.status })
      } else {
        const skipped = 'skipped' in result
        await store.alerts.finishDelivery(delivery.id, {
          status: skipped ? 'skipped' : 'failed',
          lastStatus: skipped ? null : result.status,
          lastError: skipped ? result.reason : result.error,
        })
      }
      const settled = (await store.alerts.getDelivery(delivery.id)) ?? delivery
      if (!result.ok) throw new CliError(`The test delivery ${delivery.id} to ${rule.url} failed: ${'skipped' in result ? result.reason : result.error}.`)
      if (values.json) {
        writeJson(io, deliveryJson(settled))
        return
      }
      io.stdout.write(`Delivered test delivery ${delivery.id} to ${rule.url}: the receiver answered HTTP ${result.status}.\n`)
    })
  },
}

export const alertLogCommand: CliCommand = {
  path: ['alert', 'log'],
  usage: `tacit alert log <app> [--rule <id>] [--limit ${DEFAULT_LOG_LIMIT}] [--json] [--data-dir <dir>]`,
  summary: "Show an app's webhook deliveries, newest first: status, attempts, the last error (kept 14 days).",
  options: { rule: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(alertLogCommand, positionals, ['<app>'])
    const limit = wholeNumber('--limit', values.limit, MAX_LOG_LIMIT) ?? DEFAULT_LOG_LIMIT
    const ruleId = values.rule === undefined ? undefined : parseRuleId(alertLogCommand, [values.rule as string])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const deliveries = await store.alerts.listDeliveries({ appId: app.id, limit, ...(ruleId !== undefined && { ruleId }) })
      if (values.json) {
        writeJson(io, deliveries.map(deliveryJson))
        return
      }
      if (deliveries.length === 0) {
        io.stdout.write(`No alert deliveries for "${app.name}" (id ${app.id}) in the last 14 days.\n`)
        return
      }
      writeTable(
        io,
        ['ID', 'RULE', 'EVENT', 'ISSUE', 'STATUS', 'ATTEMPTS', 'LAST RESULT', 'CREATED', 'NEXT ATTEMPT', 'DELIVERED'],
        deliveries.map((d) => [
          d.id,
          d.ruleId,
          d.event,
          d.issueId ?? (d.errorCount !== null ? `${d.errorCount} errors` : '-'),
          d.status,
          d.attempts,
          d.status === 'delivered' ? `HTTP ${d.lastStatus}` : (d.lastError ?? '-'),
          formatTime(d.createdAt),
          d.status === 'pending' ? formatTime(d.nextAttemptAt) : '-',
          formatTime(d.deliveredAt),
        ]),
      )
    })
  },
}

export const ALERT_COMMANDS: readonly CliCommand[] = [alertAddCommand, alertListCommand, alertRemoveCommand, alertTestCommand, alertLogCommand]


function deliveryJson(d: AlertDelivery) {
  return {
    id: d.id,
    rule_id: d.ruleId,
    event: d.event,
    issue_id: d.issueId,
    error_count: d.errorCount,
    status: d.status,
    attempts: d.attempts,
    last_status: d.lastStatus,
    last_error: d.lastError,
    created_at: isoTime(d.createdAt),
    next_attempt_at: d.nextAttemptAt === null ? null : isoTime(d.nextAttemptAt),
    delivered_at: d.deliveredAt === null ? null : isoTime(d.deliveredAt),
  }
}

function wholeNumber(flag: string, value: unknown, max: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^\d{1,7}$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new CliError(`${flag} must be a whole number from 1 to ${max}.`)
  }
  return Number(value)
}

/** Rule ids are the numbers `tacit alert list` prints; anything else is refused before the database is opened. */
function parseRuleId(command: CliCommand, positionals: string[]): number {
  const [raw = ''] = expectPositionals(command, positionals, ['<id>'])
  if (!/^\d{1,15}$/.test(raw) || Number(raw) === 0) {
    throw new CliError(`"${raw.slice(0, 40)}" is not an alert rule id: use the number \`tacit alert list <app>\` shows.`)
  }
  return Number(raw)
}

async function findRule(store: Store, id: number): Promise<AlertRule> {
  const rule = await store.alerts.getRule(id)
  if (!rule) throw new CliError(`There is no alert rule ${id}: see \`tacit alert list <app>\`.`)
  return rule
}

import type { FastifyInstance } from 'fastify'
import { ALERT_FORMATS, ALERT_RULE_KINDS, AlertRuleError, isAlertFormat, isAlertRuleKind } from '../alerts/alertRule.js'
import { createAlertRule, removeAlertRule } from '../alerts/createAlertRule.js'
import { createClientToken } from '../apps/appAdmin.js'
import { applySetting, describeSettings, SettingError, type AppSettingsOverrides } from '../apps/appSettings.js'
import { tokenHint } from '../audit/auditEntry.js'
import { settingChanges } from '../audit/settingChanges.js'
import { DAY_MS, utcDay } from '../clock.js'
import type { AlertDelivery } from '../store/AlertStore.js'
import type { ClientToken } from '../store/Store.js'
import { appInventory } from './appInventory.js'
import { authorizeApp } from './authorizeRequest.js'
import type { HttpDeps } from './createHttpServer.js'
import { assertOnlyKeys, BadRequest, badRequest, integer, isObject, isoTime, refuseBody, refuseParameters, sendBad, type Query } from './queryParameters.js'
import { alertRuleJson } from '../alerts/alertRuleJson.js'

/** Settings changes are a few hundred bytes; scrub patterns and lists make the most of them. */
const SETTINGS_BODY_LIMIT = 64 * 1024
const SMALL_BODY_LIMIT = 4 * 1024
const MAX_SETTING_KEYS = 100
const MAX_SETTING_VALUE = 8 * 1024
const MAX_LIST_ITEMS = 200
const DEFAULT_AUDIT = 100
const MAX_AUDIT = 1000
/** Daily counts are kept as long as the app's longest retention; the dashboard shows up to a quarter. */
const DEFAULT_DROP_DAYS = 30
const MAX_DROP_DAYS = 93
const DEFAULT_DELIVERIES = 50
const MAX_DELIVERIES = 500


/**
 * An app's settings page (issue 6, docs/API.md "Settings"). Reading settings, drop counters and the data
 * inventory needs the viewer role; everything else — changing settings, tokens, purge, the audit log, alert
 * rules — the owner role. Changes go through the same code as the CLI (`tacit app set`, `tacit token`,
 * `tacit app purge`, `tacit alert`) and are audited with the principal as actor.
 */
export async function settingsRoutes(scope: FastifyInstance, deps: HttpDeps): Promise<void> {
  const { random } = deps
  // Bodies here are JSON only (Fastify would also hand over text/plain as a string): anything else is a 415.
  scope.removeContentTypeParser('text/plain')
  scope.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff')
  })

  scope.get('/api/v1/apps/:app/settings', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    const refused = refuseParameters(request.query as Query, reply, [])
    if (refused) return refused
    return settingsJson(found.app.settings)
  })

  scope.patch('/api/v1/apps/:app/settings', { bodyLimit: SETTINGS_BODY_LIMIT }, async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const { app, principal } = found
    let settings: AppSettingsOverrides
    try {
      // Every assignment is checked before anything is written: one bad key leaves the settings untouched.
      settings = assignmentsOf(request.body).reduce(applySetting, app.settings)
    } catch (error) {
      if (error instanceof SettingError) return reply.code(400).send({ error: 'bad_request', message: error.message })
      return badRequest(reply, error)
    }
    const changes = settingChanges(app.settings, settings)
    await deps.store.updateAppSettings(app.id, settings)
    // Setting a value it already had changes nothing, so there is nothing to audit.
    if (Object.keys(changes).length > 0) {
      await deps.store.appendAudit({ appId: app.id, at: deps.clock.now(), actor: principal.actor, action: 'app.settings', detail: { changes } })
    }
    return { ...settingsJson(settings), changed: Object.keys(changes) }
  })

  scope.get('/api/v1/apps/:app/tokens', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const refused = refuseParameters(request.query as Query, reply, [])
    if (refused) return refused
    return { tokens: (await deps.store.listTokens(found.app.id)).map(tokenJson) }
  })

  scope.post('/api/v1/apps/:app/tokens', { bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const refused = refuseParameters(request.query as Query, reply, []) ?? refuseBody(request.body, reply, [])
    if (refused) return refused
    const token = await createClientToken({ store: deps.store, clock: deps.clock, random, actor: found.principal.actor }, found.app.id)
    return reply.code(201).send({ token: tokenJson(token) })
  })

  scope.delete('/api/v1/apps/:app/tokens/:token', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const value = (request.params as { token: string }).token
    const token = value.length <= 128 ? await deps.store.findToken(value) : undefined
    // Another app's token reads exactly like a missing one.
    if (!token || token.appId !== found.app.id) return reply.code(404).send({ error: 'not_found', message: 'There is no such client token in this app.' })
    const revokedAt = deps.clock.now()
    // The conditional update settles a race with another revoke: only one of them reports success.
    if (token.revokedAt !== null || !(await deps.store.revokeToken(token.token, revokedAt))) {
      return reply.code(409).send({ error: 'conflict', message: 'This client token was already revoked.' })
    }
    await deps.store.appendAudit({ appId: found.app.id, at: revokedAt, actor: found.principal.actor, action: 'token.revoke', detail: { token: tokenHint(token.token) } })
    const active = (await deps.store.listTokens(found.app.id)).filter((t) => t.revokedAt === null).length
    return { token: tokenJson({ ...token, revokedAt }), active_tokens_left: active }
  })

  scope.post('/api/v1/apps/:app/purge', { bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const { app } = found
    const body = request.body
    const confirm = isObject(body) && Object.keys(body).length === 1 ? body.confirm : undefined
    // Typed by a person who read what it does; the exact name, so a slip of the id or the case does not delete.
    if (confirm !== app.name) {
      return reply.code(400).send({ error: 'bad_request', message: `To delete all data of "${app.name}", send {"confirm": "${app.name}"}.` })
    }
    const deleted = await deps.store.purgeApp(app.id)
    await deps.store.appendAudit({ appId: app.id, at: deps.clock.now(), actor: found.principal.actor, action: 'app.purge', detail: { deleted } })
    return { deleted }
  })

  scope.get('/api/v1/apps/:app/audit', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    try {
      const query = request.query as Query
      assertOnlyKeys(query, ['limit'])
      const limit = integer(query, 'limit', 1, MAX_AUDIT) ?? DEFAULT_AUDIT
      const entries = await deps.store.readAudit({ appId: found.app.id, limit })
      return { entries: entries.map((entry) => ({ id: entry.id, at: isoTime(entry.at), actor: entry.actor, action: entry.action, detail: entry.detail })) }
    } catch (error) {
      return badRequest(reply, error)
    }
  })

  scope.get('/api/v1/apps/:app/drops', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    try {
      const query = request.query as Query
      assertOnlyKeys(query, ['days'])
      const days = integer(query, 'days', 1, MAX_DROP_DAYS) ?? DEFAULT_DROP_DAYS
      const today = deps.clock.now()
      const names = Array.from({ length: days }, (_, i) => utcDay(today - (days - 1 - i) * DAY_MS))
      const byDay = new Map(names.map((day) => [day, { day, accepted: {} as Record<string, number>, dropped: {} as Record<string, number>, stripped: {} as Record<string, number> }]))
      for (const count of await deps.store.readDailyCounts(found.app.id, names[0]!)) {
        const entry = byDay.get(count.day)
        if (entry) entry[count.kind][count.key] = (entry[count.kind][count.key] ?? 0) + count.count
      }
      return { days: [...byDay.values()] }
    } catch (error) {
      return badRequest(reply, error)
    }
  })

  scope.get('/api/v1/apps/:app/inventory', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    const refused = refuseParameters(request.query as Query, reply, [])
    if (refused) return refused
    return appInventory(found.app.settings)
  })

  scope.get('/api/v1/apps/:app/alerts', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const refused = refuseParameters(request.query as Query, reply, [])
    if (refused) return refused
    return { rules: (await deps.store.alerts.listRules({ appId: found.app.id })).map(alertRuleJson) }
  })

  scope.post('/api/v1/apps/:app/alerts', { bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const body = request.body
    const refused = refuseParameters(request.query as Query, reply, []) ?? refuseBody(body, reply, ['on', 'url', 'format', 'threshold', 'window_minutes'])
    if (refused) return refused
    const fields = body as Record<string, unknown>
    const kind = fields.on
    const format = fields.format ?? 'json'
    const wholeOrAbsent = (value: unknown) => value === undefined || (typeof value === 'number' && Number.isInteger(value))
    if (typeof kind !== 'string' || !isAlertRuleKind(kind)) return sendBad(reply, `"on" must be one of ${ALERT_RULE_KINDS.join(', ')}.`)
    if (typeof fields.url !== 'string') return sendBad(reply, '"url" must be the webhook URL, like https://hooks.example.com/tacit.')
    if (typeof format !== 'string' || !isAlertFormat(format)) return sendBad(reply, `"format" must be one of ${ALERT_FORMATS.join(', ')}.`)
    if (!wholeOrAbsent(fields.threshold) || !wholeOrAbsent(fields.window_minutes)) return sendBad(reply, '"threshold" and "window_minutes" must be whole numbers.')
    try {
      const rule = await createAlertRule(
        { store: deps.store, clock: deps.clock, random, actor: found.principal.actor },
        {
          appId: found.app.id,
          kind,
          url: fields.url,
          format,
          ...(fields.threshold !== undefined && { threshold: fields.threshold as number }),
          ...(fields.window_minutes !== undefined && { windowMinutes: fields.window_minutes as number }),
        },
      )
      // The signing secret, shown this once (like `tacit alert add`); listings never show it again.
      return reply.code(201).send({ rule: alertRuleJson(rule), secret: rule.secret })
    } catch (error) {
      if (error instanceof AlertRuleError) return sendBad(reply, error.message)
      throw error
    }
  })

  scope.delete('/api/v1/apps/:app/alerts/:id', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    const raw = (request.params as { id: string }).id
    const rule = /^\d{1,15}$/.test(raw) ? await deps.store.alerts.getRule(Number(raw)) : undefined
    // Another app's rule reads exactly like a missing one.
    if (!rule || rule.appId !== found.app.id || !(await removeAlertRule({ store: deps.store, clock: deps.clock, actor: found.principal.actor }, rule))) {
      return reply.code(404).send({ error: 'not_found', message: 'There is no such alert rule in this app.' })
    }
    return reply.code(204).send()
  })

  scope.get('/api/v1/apps/:app/alerts/deliveries', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'owner')
    if ('refused' in found) return found.refused
    try {
      const query = request.query as Query
      assertOnlyKeys(query, ['limit', 'rule'])
      const limit = integer(query, 'limit', 1, MAX_DELIVERIES) ?? DEFAULT_DELIVERIES
      const ruleId = integer(query, 'rule', 1, 999_999_999)
      const deliveries = await deps.store.alerts.listDeliveries({ appId: found.app.id, limit, ...(ruleId !== undefined && { ruleId }) })
      return { deliveries: deliveries.map(deliveryJson) }
    } catch (error) {
      return badRequest(reply, error)
    }
  })
}

/**
 * `{key: value}` as `tacit app set key=value` assignments: lists become comma-separated, null clears, so
 * the parsing and its messages are the CLI's.
 */
function assignmentsOf(body: unknown): string[] {
  if (!isObject(body)) throw new BadRequest('Send a JSON object of settings, e.g. {"geo": "off", "retention.error": 60}.')
  const entries = Object.entries(body)
  if (entries.length === 0 || entries.length > MAX_SETTING_KEYS) throw new BadRequest(`Send 1 to ${MAX_SETTING_KEYS} settings.`)
  return entries.map(([key, value]) => {
    if (key.length === 0 || key.length > 64 || /[=\s]/.test(key)) throw new BadRequest(`"${key.slice(0, 40)}" is not a setting name.`)
    return `${key}=${settingText(key, value)}`
  })
}

function settingText(key: string, value: unknown): string {
  const bad = () => new BadRequest(`"${key}" takes a string, a number, true or false, a list of strings, or null to clear it.`)
  if (value === null) return ''
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new BadRequest(`"${key}" must be a whole number.`)
    return String(value)
  }
  if (typeof value === 'string') {
    if (value.length > MAX_SETTING_VALUE || /[\r\n]/.test(value)) throw new BadRequest(`"${key}" takes a single line of at most ${MAX_SETTING_VALUE} characters.`)
    return value
  }
  if (Array.isArray(value)) {
    if (value.length > MAX_LIST_ITEMS) throw new BadRequest(`"${key}" may list at most ${MAX_LIST_ITEMS} values.`)
    if (!value.every((item) => typeof item === 'string' && item !== '' && !item.includes(',') && item.length <= 512)) {
      throw new BadRequest(`"${key}" takes a list of non-empty strings without commas.`)
    }
    return value.join(',')
  }
  throw bad()
}

function settingsJson(overrides: AppSettingsOverrides) {
  const lines = describeSettings(overrides)
  return {
    settings: Object.fromEntries(lines.map(({ key, value }) => [key, value])),
    defaults: lines.filter((line) => line.isDefault).map((line) => line.key),
  }
}

/** Client tokens are public and write-only (DESIGN.md P9): an owner sees them whole, to put in pages. */
export function tokenJson(token: ClientToken) {
  return {
    token: token.token,
    active: token.revokedAt === null,
    created_at: isoTime(token.createdAt),
    revoked_at: token.revokedAt === null ? null : isoTime(token.revokedAt),
    last_used_at: token.lastUsedAt === null ? null : isoTime(token.lastUsedAt),
  }
}


function deliveryJson(delivery: AlertDelivery) {
  const time = (ms: number | null) => (ms === null ? null : isoTime(ms))
  return {
    id: delivery.id,
    rule_id: delivery.ruleId,
    event: delivery.event,
    issue_id: delivery.issueId,
    error_count: delivery.errorCount,
    status: delivery.status,
    attempts: delivery.attempts,
    last_status: delivery.lastStatus,
    last_error: delivery.lastError,
    next_attempt_at: time(delivery.nextAttemptAt),
    created_at: isoTime(delivery.createdAt),
    delivered_at: time(delivery.deliveredAt),
  }
}

import type Database from 'better-sqlite3'
import type { AlertStore } from '../AlertStore.js'
import { toDelivery, toRule, type DeliveryRow, type RuleRow } from '../alertRows.js'

/** Short transactions for bulk deletes, as elsewhere, so ingest never waits long for the write lock. */
const DELETE_CHUNK = 5000

export function createSqliteAlertStore(db: Database.Database): AlertStore {
  const sql = {
    insertRule: db.prepare(
      `INSERT INTO alert_rules (app_id, kind, url, format, threshold, window_minutes, secret, created_at)
       VALUES (@appId, @kind, @url, @format, @threshold, @windowMinutes, @secret, @createdAt) RETURNING *`,
    ),
    getRule: db.prepare<[number]>('SELECT * FROM alert_rules WHERE id = ?'),
    setEnabled: db.prepare<[number, number]>('UPDATE alert_rules SET enabled = ? WHERE id = ?'),
    deleteRule: db.prepare<[number]>('DELETE FROM alert_rules WHERE id = ?'),
    deleteRuleDeliveries: db.prepare<[number]>('DELETE FROM alert_deliveries WHERE rule_id = ?'),
    setFiring: db.prepare<[number, number, number]>('UPDATE alert_rules SET firing = ? WHERE id = ? AND firing = ?'),
    insertDelivery: db.prepare(
      `INSERT INTO alert_deliveries (app_id, rule_id, event, issue_id, error_count, next_attempt_at, created_at, attempts)
       SELECT app_id, id, @event, @issueId, @errorCount, @dueAt, @createdAt, @attempts FROM alert_rules WHERE id = @ruleId RETURNING *`,
    ),
    due: db.prepare<[number, number]>(
      "SELECT id FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
    ).pluck(),
    // The `next_attempt_at <= ?` condition makes the claim a compare-and-set against another dispatcher.
    claim: db.prepare<[number, number, number]>(
      "UPDATE alert_deliveries SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at <= ? RETURNING *",
    ),
    delivered: db.prepare<[number, number, number]>(
      "UPDATE alert_deliveries SET status = 'delivered', delivered_at = ?, last_status = ?, last_error = NULL, next_attempt_at = NULL WHERE id = ?",
    ),
    retry: db.prepare<[number, number | null, string, number | null, number]>(
      "UPDATE alert_deliveries SET status = 'pending', next_attempt_at = ?, last_status = ?, last_error = ?, attempts = coalesce(?, attempts) WHERE id = ?",
    ),
    settle: db.prepare<[string, number | null, string, number]>(
      'UPDATE alert_deliveries SET status = ?, last_status = ?, last_error = ?, next_attempt_at = NULL WHERE id = ?',
    ),
    getDelivery: db.prepare<[number]>('SELECT * FROM alert_deliveries WHERE id = ?'),
    listDeliveries: db.prepare<[number, number]>('SELECT * FROM alert_deliveries WHERE app_id = ? ORDER BY id DESC LIMIT ?'),
    listRuleDeliveries: db.prepare<[number, number, number]>('SELECT * FROM alert_deliveries WHERE app_id = ? AND rule_id = ? ORDER BY id DESC LIMIT ?'),
    // The LIMIT inside stops the scan at the cap; events of no issue (none today) count.
    countErrors: db.prepare<[number, number, number, number]>(
      `SELECT count(*) FROM (
         SELECT 1 FROM events e LEFT JOIN issues i ON i.id = e.issue_id
         WHERE e.app_id = ? AND e.type = 'error' AND e.received_at >= ? AND e.received_at < ? AND (i.status IS NULL OR i.status <> 'ignored')
         LIMIT ?)`,
    ).pluck(),
    deleteBeforeChunk: db.prepare<[number, number]>(
      'DELETE FROM alert_deliveries WHERE id IN (SELECT id FROM alert_deliveries WHERE created_at < ? LIMIT ?)',
    ),
    purgeChunk: db.prepare<[number, number]>('DELETE FROM alert_deliveries WHERE id IN (SELECT id FROM alert_deliveries WHERE app_id = ? LIMIT ?)'),
  }

  const removeRule = db.transaction((id: number) => {
    sql.deleteRuleDeliveries.run(id)
    return sql.deleteRule.run(id).changes > 0
  })
  const setFiring = db.transaction((ruleId: number, firing: boolean, spike: { at: number; errorCount: number }) => {
    if (sql.setFiring.run(firing ? 1 : 0, ruleId, firing ? 0 : 1).changes === 0 || !firing) return undefined
    return sql.insertDelivery.get({ ruleId, event: 'error_rate.spike', issueId: null, errorCount: spike.errorCount, dueAt: spike.at, createdAt: spike.at, attempts: 0 }) as
      | DeliveryRow
      | undefined
  })
  const claim = db.transaction((now: number, leaseUntil: number, limit: number) => {
    const rows: DeliveryRow[] = []
    for (const id of sql.due.all(now, limit) as number[]) {
      const row = sql.claim.get(leaseUntil, id, now) as DeliveryRow | undefined
      if (row) rows.push(row)
    }
    return rows
  })

  function inChunks(statement: Database.Statement<[number, number]>, key: number): number {
    let total = 0
    for (;;) {
      const deleted = statement.run(key, DELETE_CHUNK).changes
      total += deleted
      if (deleted < DELETE_CHUNK) return total
    }
  }

  return {
    async createRule(input) {
      return toRule(sql.insertRule.get(input) as RuleRow)
    },
    async getRule(id) {
      const row = sql.getRule.get(id) as RuleRow | undefined
      return row && toRule(row)
    },
    async listRules(query = {}) {
      const clauses: string[] = []
      const params: Array<number | string> = []
      if (query.appId !== undefined) {
        clauses.push('app_id = ?')
        params.push(query.appId)
      }
      if (query.kind !== undefined) {
        clauses.push('kind = ?')
        params.push(query.kind)
      }
      if (query.enabledOnly) clauses.push('enabled = 1')
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      return (db.prepare(`SELECT * FROM alert_rules ${where} ORDER BY id`).all(...params) as RuleRow[]).map(toRule)
    },
    async setRuleEnabled(id, enabled) {
      return sql.setEnabled.run(enabled ? 1 : 0, id).changes > 0
    },
    async removeRule(id) {
      return removeRule.immediate(id)
    },
    async setRuleFiring(ruleId, firing, spike) {
      const row = setFiring.immediate(ruleId, firing, spike)
      return row && toDelivery(row)
    },
    async addDelivery(input) {
      const row = sql.insertDelivery.get({ ...input, attempts: input.attempts ?? 0 }) as DeliveryRow | undefined
      if (!row) throw new RangeError(`There is no alert rule ${input.ruleId}.`)
      return toDelivery(row)
    },
    async claimDue({ now, leaseUntil, limit }) {
      return claim.immediate(now, leaseUntil, limit).map(toDelivery)
    },
    async finishDelivery(id, outcome) {
      if (outcome.status === 'delivered') sql.delivered.run(outcome.at, outcome.lastStatus, id)
      else if (outcome.status === 'pending') sql.retry.run(outcome.nextAttemptAt, outcome.lastStatus, outcome.lastError, outcome.attempts ?? null, id)
      else sql.settle.run(outcome.status, outcome.lastStatus, outcome.lastError, id)
    },
    async getDelivery(id) {
      const row = sql.getDelivery.get(id) as DeliveryRow | undefined
      return row && toDelivery(row)
    },
    async listDeliveries({ appId, ruleId, limit }) {
      const rows = ruleId === undefined ? sql.listDeliveries.all(appId, limit) : sql.listRuleDeliveries.all(appId, ruleId, limit)
      return (rows as DeliveryRow[]).map(toDelivery)
    },
    async countErrors({ appId, since, until, cap }) {
      return sql.countErrors.get(appId, since, until, cap) as number
    },
    async deleteDeliveriesBefore(at) {
      return inChunks(sql.deleteBeforeChunk, at)
    },
    async purgeApp(appId) {
      return inChunks(sql.purgeChunk, appId)
    },
  }
}

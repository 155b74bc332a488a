import type { AlertStore } from '../AlertStore.js'
import { toDelivery, toRule, type DeliveryRow, type RuleRow } from '../alertRows.js'
import type { PgDatabase } from './openPostgresPool.js'

/** Bulk deletes go in chunks, as on SQLite, so no statement holds thousands of row locks for long. */
const DELETE_CHUNK = 5000

/**
 * store.alerts on PostgreSQL: the same contract as sqlite/createSqliteAlertStore.ts. SQLite relied on being the
 * one writer; here several nodes run the evaluator and the dispatcher at once, so each compare-and-set is a
 * single conditional UPDATE (re-checked by PostgreSQL on the row's latest version when it waited for another
 * writer) and claiming skips rows another node holds (FOR UPDATE SKIP LOCKED).
 */
export function createPostgresAlertStore(db: PgDatabase): AlertStore {
  async function deleteInChunks(where: string, key: number): Promise<number> {
    let total = 0
    for (;;) {
      const [row] = await db.query<{ deleted: number }>(
        `WITH gone AS (DELETE FROM alert_deliveries WHERE id IN (SELECT id FROM alert_deliveries WHERE ${where} LIMIT $2) RETURNING 1)
         SELECT count(*) AS deleted FROM gone`,
        [key, DELETE_CHUNK],
      )
      total += row!.deleted
      if (row!.deleted < DELETE_CHUNK) return total
    }
  }

  return {
    async createRule(input) {
      const [row] = await db.query<RuleRow>(
        `INSERT INTO alert_rules (app_id, kind, url, format, threshold, window_minutes, secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [input.appId, input.kind, input.url, input.format, input.threshold, input.windowMinutes, input.secret, input.createdAt],
      )
      return toRule(row!)
    },
    async getRule(id) {
      const [row] = await db.query<RuleRow>('SELECT * FROM alert_rules WHERE id = $1', [id])
      return row && toRule(row)
    },
    async listRules(query = {}) {
      const clauses: string[] = []
      const values: unknown[] = []
      if (query.appId !== undefined) clauses.push(`app_id = $${values.push(query.appId)}`)
      if (query.kind !== undefined) clauses.push(`kind = $${values.push(query.kind)}`)
      if (query.enabledOnly) clauses.push('enabled = 1')
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      return (await db.query<RuleRow>(`SELECT * FROM alert_rules ${where} ORDER BY id`, values)).map(toRule)
    },
    async setRuleEnabled(id, enabled) {
      return (await db.query('UPDATE alert_rules SET enabled = $1 WHERE id = $2 RETURNING id', [enabled ? 1 : 0, id])).length > 0
    },
    async removeRule(id) {
      return db.transaction(async (tx) => {
        // The rule first: its row lock waits for an addDelivery or setRuleFiring that holds it, whose delivery
        // the next statement (a fresh snapshot under READ COMMITTED) then sees and deletes.
        const deleted = await tx.query('DELETE FROM alert_rules WHERE id = $1 RETURNING id', [id])
        await tx.query('DELETE FROM alert_deliveries WHERE rule_id = $1', [id])
        return deleted.length > 0
      })
    },
    async setRuleFiring(ruleId, firing, spike) {
      // One statement, so one transaction: the UPDATE is the compare-and-set (of two nodes evaluating the same
      // rule at once, the one that waited re-checks `firing` on the row the other wrote, and changes nothing),
      // and the spike delivery is added only from the row it did change.
      const [row] = await db.query<DeliveryRow>(
        `WITH flipped AS (UPDATE alert_rules SET firing = $1 WHERE id = $2 AND firing = $3 RETURNING id, app_id)
         INSERT INTO alert_deliveries (app_id, rule_id, event, issue_id, error_count, next_attempt_at, created_at, attempts)
         SELECT app_id, id, 'error_rate.spike', NULL, $4, $5, $5, 0 FROM flipped WHERE $1 = 1
         RETURNING *`,
        [firing ? 1 : 0, ruleId, firing ? 0 : 1, spike.errorCount, spike.at],
      )
      return row && toDelivery(row)
    },
    async addDelivery(input) {
      // FOR KEY SHARE: a removeRule on another node waits for this insert, then deletes the delivery with the rule.
      const [row] = await db.query<DeliveryRow>(
        `WITH rule AS (SELECT id, app_id FROM alert_rules WHERE id = $1 FOR KEY SHARE)
         INSERT INTO alert_deliveries (app_id, rule_id, event, issue_id, error_count, next_attempt_at, created_at, attempts)
         SELECT app_id, id, $2, $3, $4, $5, $6, $7 FROM rule RETURNING *`,
        [input.ruleId, input.event, input.issueId, input.errorCount, input.dueAt, input.createdAt, input.attempts ?? 0],
      )
      if (!row) throw new RangeError(`There is no alert rule ${input.ruleId}.`)
      return toDelivery(row)
    },
    async claimDue({ now, leaseUntil, limit }) {
      // SQLite claims one row at a time under its write lock. Here dispatchers on several nodes claim at once:
      // SKIP LOCKED passes over rows another node is claiming (it takes the next due ones instead of waiting),
      // and the UPDATE's own conditions re-check a row that changed since this statement's snapshot.
      const rows = await db.query<DeliveryRow & { due_at: number }>(
        `WITH due AS (
           SELECT id, next_attempt_at AS due_at FROM alert_deliveries
           WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
         UPDATE alert_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $2
         FROM due WHERE d.id = due.id AND d.status = 'pending' AND d.next_attempt_at <= $1
         RETURNING d.*, due.due_at`,
        [now, leaseUntil, limit],
      )
      // RETURNING has no order: earliest due first, then in the order they were added.
      return rows.sort((a, b) => a.due_at - b.due_at || a.id - b.id).map(toDelivery)
    },
    async finishDelivery(id, outcome) {
      if (outcome.status === 'delivered') {
        await db.query("UPDATE alert_deliveries SET status = 'delivered', delivered_at = $1, last_status = $2, last_error = NULL, next_attempt_at = NULL WHERE id = $3", [
          outcome.at,
          outcome.lastStatus,
          id,
        ])
      } else if (outcome.status === 'pending') {
        await db.query(
          "UPDATE alert_deliveries SET status = 'pending', next_attempt_at = $1, last_status = $2, last_error = $3, attempts = coalesce($4, attempts) WHERE id = $5",
          [outcome.nextAttemptAt, outcome.lastStatus, outcome.lastError, outcome.attempts ?? null, id],
        )
      } else {
        await db.query('UPDATE alert_deliveries SET status = $1, last_status = $2, last_error = $3, next_attempt_at = NULL WHERE id = $4', [
          outcome.status,
          outcome.lastStatus,
          outcome.lastError,
          id,
        ])
      }
    },
    async getDelivery(id) {
      const [row] = await db.query<DeliveryRow>('SELECT * FROM alert_deliveries WHERE id = $1', [id])
      return row && toDelivery(row)
    },
    async listDeliveries({ appId, ruleId, limit }) {
      const rows =
        ruleId === undefined
          ? await db.query<DeliveryRow>('SELECT * FROM alert_deliveries WHERE app_id = $1 ORDER BY id DESC LIMIT $2', [appId, limit])
          : await db.query<DeliveryRow>('SELECT * FROM alert_deliveries WHERE app_id = $1 AND rule_id = $2 ORDER BY id DESC LIMIT $3', [appId, ruleId, limit])
      return rows.map(toDelivery)
    },
    async countErrors({ appId, since, until, cap }) {
      // The LIMIT inside stops the scan at the cap; events of no issue (none today) count.
      const [row] = await db.query<{ count: number }>(
        `SELECT count(*) AS count FROM (
           SELECT 1 FROM events e LEFT JOIN issues i ON i.app_id = e.app_id AND i.id = e.issue_id
           WHERE e.app_id = $1 AND e.type = 'error' AND e.received_at >= $2 AND e.received_at < $3 AND (i.status IS NULL OR i.status <> 'ignored')
           LIMIT $4) counted`,
        [appId, since, until, cap],
      )
      return row!.count
    },
    async deleteDeliveriesBefore(at) {
      return deleteInChunks('created_at < $1', at)
    },
    async purgeApp(appId) {
      return deleteInChunks('app_id = $1', appId)
    },
  }
}

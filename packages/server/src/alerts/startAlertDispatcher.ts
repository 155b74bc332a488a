import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { AlertDelivery } from '../store/AlertStore.js'
import type { Store } from '../store/Store.js'
import { errorCountCap } from './alertRule.js'
import { attemptDelivery, type AttemptResult } from './attemptDelivery.js'
import { DEFAULT_TIMEOUT_MS, type FetchLike } from './deliverWebhook.js'

/**
 * Waits after failed attempts 1 to 5; the 6th failure marks the delivery `failed`. About 7 h 43 min in all,
 * long enough to ride out a receiver's deploy or outage, short enough that a stale alert is not news.
 */
export const RETRY_DELAYS_MS = [30_000, 120_000, 600_000, 3_600_000, 21_600_000] as const
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1
export const EVALUATE_EVERY_MS = 60_000
/** How often the server looks for due deliveries: a new issue is announced within a few seconds. */
const DEFAULT_POLL_MS = 5_000
const CLAIM_LIMIT = 20
/** Claims per run at most, so a flood of deliveries cannot keep one run going forever. */
const MAX_ROUNDS = 10
/** A claimed delivery whose attempt never finished (the process died) is retried this long after its timeout. */
const LEASE_MARGIN_MS = 60_000

export interface DispatchReport {
  /** Error-rate rules that crossed their threshold in this run. */
  spikes: number
  delivered: number
  failed: number
  retrying: number
  skipped: number
}

export interface AlertDispatcher {
  /**
   * Evaluates the error-rate rules if EVALUATE_EVERY_MS has passed on the clock since the last evaluation,
   * then sends every delivery that is due. Runs one at a time; the server's timer calls it, tests call it
   * directly after moving their clock.
   */
  runOnce(): Promise<DispatchReport>
  stop(): Promise<void>
}

export interface AlertDispatcherDeps {
  store: Store
  clock: Clock
  logger: Pick<Logger, 'info' | 'warn' | 'error'>
  /** The global fetch unless given. */
  fetch?: FetchLike
  timeoutMs?: number
  /** 0: no timer (tests drive runOnce). */
  pollMs?: number
}

/** Delivers alert webhooks from the outbox and evaluates error-rate rules (docs/ALERTS.md). */
export function startAlertDispatcher(deps: AlertDispatcherDeps): AlertDispatcher {
  const fetchImpl = deps.fetch ?? (fetch as unknown as FetchLike)
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const stopping = new AbortController()
  let nextEvaluation = deps.clock.now()
  let queue: Promise<unknown> = Promise.resolve()

  async function run(): Promise<DispatchReport> {
    const report: DispatchReport = { spikes: 0, delivered: 0, failed: 0, retrying: 0, skipped: 0 }
    if (stopping.signal.aborted) return report
    const now = deps.clock.now()
    if (now >= nextEvaluation) {
      nextEvaluation = now + EVALUATE_EVERY_MS
      report.spikes = await evaluateErrorRates(now)
    }
    for (let round = 0; round < MAX_ROUNDS && !stopping.signal.aborted; round++) {
      const claimNow = deps.clock.now()
      const claimed = await deps.store.alerts.claimDue({ now: claimNow, leaseUntil: claimNow + timeoutMs + LEASE_MARGIN_MS, limit: CLAIM_LIMIT })
      // In parallel: one receiver that hangs until its timeout does not hold up the others.
      const outcomes = await Promise.all(claimed.map(async (delivery) => settle(delivery, await attempt(delivery))))
      for (const outcome of outcomes) report[outcome]++
      if (claimed.length < CLAIM_LIMIT) break
    }
    return report
  }

  async function attempt(delivery: AlertDelivery): Promise<AttemptResult> {
    try {
      return await attemptDelivery({ store: deps.store, clock: deps.clock, fetch: fetchImpl, timeoutMs, signal: stopping.signal }, delivery)
    } catch (error) {
      deps.logger.error({ err: error, delivery: delivery.id }, 'alert delivery failed unexpectedly')
      return { ok: false, status: null, error: 'internal error' }
    }
  }

  /** Records an attempt's outcome and says which count of the report it adds to. */
  async function settle(delivery: AlertDelivery, result: AttemptResult): Promise<Exclude<keyof DispatchReport, 'spikes'>> {
    const ids = { delivery: delivery.id, rule: delivery.ruleId, event: delivery.event, attempt: delivery.attempts }
    const now = deps.clock.now()
    if (result.ok) {
      await deps.store.alerts.finishDelivery(delivery.id, { status: 'delivered', at: now, lastStatus: result.status })
      deps.logger.info({ ...ids, status: result.status }, 'alert delivered')
      return 'delivered'
    }
    if ('skipped' in result) {
      await deps.store.alerts.finishDelivery(delivery.id, { status: 'skipped', lastStatus: null, lastError: result.reason })
      deps.logger.info({ ...ids, reason: result.reason }, 'alert skipped')
      return 'skipped'
    }
    if (stopping.signal.aborted) {
      // Cut short by the shutdown, not the receiver's fault: due again at once after a restart, attempt not counted.
      await deps.store.alerts.finishDelivery(delivery.id, { status: 'pending', nextAttemptAt: now, lastStatus: null, lastError: result.error, attempts: delivery.attempts - 1 })
      return 'retrying'
    }
    if (delivery.attempts >= MAX_ATTEMPTS) {
      await deps.store.alerts.finishDelivery(delivery.id, { status: 'failed', lastStatus: result.status, lastError: result.error })
      deps.logger.warn({ ...ids, error: result.error }, 'alert delivery failed for good')
      return 'failed'
    }
    const nextAttemptAt = now + RETRY_DELAYS_MS[delivery.attempts - 1]!
    await deps.store.alerts.finishDelivery(delivery.id, { status: 'pending', nextAttemptAt, lastStatus: result.status, lastError: result.error })
    deps.logger.warn({ ...ids, error: result.error, retryInMs: nextAttemptAt - now }, 'alert delivery failed, will retry')
    return 'retrying'
  }

  /**
   * Each enabled error-rate rule: counts the app's error events received in the last window (events of
   * ignored issues do not count) and fires once when the count reaches the threshold; the rule's `firing`
   * flag, kept in the database so a restart does not fire again, re-arms it once the count is below.
   */
  async function evaluateErrorRates(now: number): Promise<number> {
    let spikes = 0
    for (const rule of await deps.store.alerts.listRules({ kind: 'error-rate', enabledOnly: true })) {
      if (rule.threshold === null || rule.windowMinutes === null) continue
      const errorCount = await deps.store.alerts.countErrors({ appId: rule.appId, since: now - rule.windowMinutes * 60_000, until: now + 1, cap: errorCountCap(rule.threshold) })
      const above = errorCount >= rule.threshold
      if (above === rule.firing) continue
      const delivery = await deps.store.alerts.setRuleFiring(rule.id, above, { at: now, errorCount })
      if (delivery) {
        spikes++
        deps.logger.info({ rule: rule.id, delivery: delivery.id, errorCount }, 'error rate above threshold')
      }
    }
    return spikes
  }

  let queued = 0
  function runOnce(): Promise<DispatchReport> {
    queued++
    const next = queue.then(run).finally(() => queued--)
    queue = next.catch(() => undefined)
    return next
  }

  const timer =
    deps.pollMs === 0
      ? undefined
      : setInterval(() => {
          // A run still busy with slow receivers is not queued up behind: the next tick will do.
          if (queued > 0) return
          runOnce().catch((error: unknown) => deps.logger.error({ err: error }, 'alert dispatch failed'))
        }, deps.pollMs ?? DEFAULT_POLL_MS)
  timer?.unref()

  return {
    runOnce,
    async stop() {
      if (timer) clearInterval(timer)
      stopping.abort()
      await queue
    },
  }
}

import { AdminError } from '../apps/appAdmin.js'
import type { RandomSource } from '../randomSource.js'

/**
 * Alert rules (issue 5): per app, what to watch and which webhook to call.
 * - `new-issue`: an issue (of errors or of browser reports) is created;
 * - `regression`: a resolved issue re-opens (store/issues/regressionAt.ts);
 * - `error-rate`: the app's error events in the last `windowMinutes` reach `threshold` (events of ignored
 *   issues do not count); it fires once on crossing and again only after the count has dropped below.
 */
export const ALERT_RULE_KINDS = ['new-issue', 'regression', 'error-rate'] as const
export type AlertRuleKind = (typeof ALERT_RULE_KINDS)[number]

/** `json`: Tacit's own payload (docs/ALERTS.md); `slack`: `{ text, blocks }` for a Slack incoming webhook. */
export const ALERT_FORMATS = ['json', 'slack'] as const
export type AlertFormat = (typeof ALERT_FORMATS)[number]

/** What a delivery announces; `alert.test` comes only from `tacit alert test`. */
export const ALERT_EVENT_TYPES = ['issue.new', 'issue.regressed', 'error_rate.spike', 'alert.test'] as const
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number]

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'skipped'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

/** Bounds of an error-rate rule: a day's window at most, and a count the evaluation can afford to reach. */
export const MAX_THRESHOLD = 100_000
export const MAX_WINDOW_MINUTES = 1440
/**
 * An evaluation counts error events up to 10 × the rule's threshold and no further: enough to tell a spike
 * from a flood, and it bounds the work of a count that runs on the ingest connection (100,000 rows ≈ 30 ms
 * on the reference machine, 1,000 rows ≈ 0.2 ms).
 */
export const ERROR_COUNT_CAP = MAX_THRESHOLD

export function errorCountCap(threshold: number): number {
  return Math.min(threshold * 10, ERROR_COUNT_CAP)
}
const MAX_URL_CHARS = 2048

/** The delivery log is kept this long, like the audit log (DESIGN.md P7), whatever the apps' settings. */
export const ALERT_LOG_RETENTION_DAYS = 14

/** A refused rule: an operator's mistake, so the CLI prints it as one sentence (an AdminError). */
export class AlertRuleError extends AdminError {}

export function isAlertRuleKind(value: string): value is AlertRuleKind {
  return (ALERT_RULE_KINDS as readonly string[]).includes(value)
}

export function isAlertFormat(value: string): value is AlertFormat {
  return (ALERT_FORMATS as readonly string[]).includes(value)
}

/**
 * A webhook URL as an operator configures it: http or https, a host, no credentials (they would sit in the
 * database and in `tacit alert list`; put a token in the path or query instead, as Slack does). Loopback and
 * private addresses are allowed on purpose: only an operator can add a rule, and a receiver on the same host
 * or network is a normal setup (docs/ALERTS.md discusses SSRF).
 */
export function validateWebhookUrl(raw: string): URL {
  if (raw.length > MAX_URL_CHARS) throw new AlertRuleError(`A webhook URL is at most ${MAX_URL_CHARS} characters.`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new AlertRuleError('The webhook URL is not a valid absolute URL like https://hooks.example.com/tacit.')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AlertRuleError('A webhook URL must start with https:// or http://.')
  if (url.hostname === '') throw new AlertRuleError('The webhook URL has no host.')
  if (url.username !== '' || url.password !== '') {
    throw new AlertRuleError('A webhook URL must not hold a user name or password: put a token in its path or query instead.')
  }
  return url
}

/** What logs, the audit log and tables show of a webhook URL: Slack's (and many others') paths are secrets. */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '(invalid URL)'
  }
}

/**
 * The HMAC key shared with the receiver: 32 random bytes, shown once when the rule is created. It is stored
 * readable because the server signs with it (like Stripe's and GitHub's webhook secrets); it grants nothing
 * on the Tacit server. The prefix lets secret scanners recognise a leak.
 */
export const WEBHOOK_SECRET_PATTERN = /^tacit_whsec_[A-Za-z0-9_-]{43}$/

export function generateWebhookSecret(random: RandomSource): string {
  return `tacit_whsec_${random.bytes(32).toString('base64url')}`
}

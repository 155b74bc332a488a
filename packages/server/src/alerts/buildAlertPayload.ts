import type { AlertDelivery, AlertRule } from '../store/AlertStore.js'
import type { Issue } from '../store/issues/issue.js'
import { errorCountCap, type AlertEventType } from './alertRule.js'

/**
 * What a webhook receives (docs/ALERTS.md). Only issue-level fields, all derived from already-scrubbed events
 * (the issue's title, culprit, counts, times and release names) and the app's id and name: never an event,
 * a stack trace, an IP address, a User-Agent or a session id.
 */
export interface AlertContext {
  delivery: Pick<AlertDelivery, 'id' | 'event' | 'createdAt' | 'errorCount'>
  app: { id: number; name: string }
  rule: Pick<AlertRule, 'id' | 'kind' | 'threshold' | 'windowMinutes'>
  /** For `issue.*` events: the issue as it is when the alert is sent. */
  issue?: Issue
}

export interface JsonAlertPayload {
  type: AlertEventType
  delivery_id: number
  created_at: string
  app: { id: number; name: string }
  rule: { id: number; on: string }
  issue?: ReturnType<typeof issueJson>
  /** `count` stops at `counted_up_to` (10 × the threshold, at most 100,000). */
  error_rate?: { count: number; counted_up_to: number; threshold: number; window_minutes: number; since: string; until: string }
  test?: true
}

export function buildJsonPayload(context: AlertContext): JsonAlertPayload {
  const { delivery, app, rule, issue } = context
  const payload: JsonAlertPayload = {
    type: delivery.event,
    delivery_id: delivery.id,
    created_at: iso(delivery.createdAt),
    app: { id: app.id, name: app.name },
    rule: { id: rule.id, on: rule.kind },
  }
  if (issue) payload.issue = issueJson(issue)
  if (delivery.event === 'error_rate.spike') {
    const windowMinutes = rule.windowMinutes ?? 0
    payload.error_rate = {
      count: delivery.errorCount ?? 0,
      counted_up_to: errorCountCap(rule.threshold ?? 0),
      threshold: rule.threshold ?? 0,
      window_minutes: windowMinutes,
      since: iso(delivery.createdAt - windowMinutes * 60_000),
      until: iso(delivery.createdAt),
    }
  }
  if (delivery.event === 'alert.test') payload.test = true
  return payload
}

function issueJson(issue: Issue) {
  return {
    id: issue.id,
    kind: issue.kind,
    title: issue.title,
    culprit: issue.culprit,
    type: issue.type,
    status: issue.status,
    count: issue.count,
    sessions: issue.sessions,
    first_seen: iso(issue.firstSeen),
    last_seen: iso(issue.lastSeen),
    regressed_at: issue.regressedAt === null ? null : iso(issue.regressedAt),
    first_release: issue.firstRelease,
    last_release: issue.lastRelease,
  }
}

/** A Slack incoming-webhook message (https://api.slack.com/messaging/webhooks): `text` for notifications, `blocks` to show. */
export interface SlackPayload {
  text: string
  blocks: Array<{ type: 'section'; text: { type: 'mrkdwn'; text: string } } | { type: 'context'; elements: Array<{ type: 'mrkdwn'; text: string }> }>
}

/** Slack's limit on a section's text is 3000 characters; titles are at most 200 already. */
const SLACK_TEXT_CHARS = 300

export function buildSlackPayload(context: AlertContext): SlackPayload {
  const { delivery, app, rule, issue } = context
  const appName = slackEscape(cut(app.name))
  let headline: string
  let detail: string
  const facts: string[] = []
  if (delivery.event === 'error_rate.spike') {
    const count = delivery.errorCount ?? 0
    headline = `Error rate spike in ${appName}`
    detail = `${count}${count >= errorCountCap(rule.threshold ?? 0) ? '+' : ''} error events in the last ${plural(rule.windowMinutes ?? 0, 'minute')} (threshold ${rule.threshold ?? 0})`
  } else if (delivery.event === 'alert.test') {
    headline = `Test alert for ${appName}`
    detail = `Alert rule ${rule.id} (${rule.kind}) reaches this channel.`
  } else {
    const what = issue?.kind === 'report' ? 'browser report issue' : 'issue'
    headline = `${delivery.event === 'issue.new' ? 'New' : 'Regressed'} ${what} in ${appName}`
    detail = issue ? slackEscape(cut(issue.title)) : '(the issue is no longer stored)'
    if (issue) {
      if (issue.culprit) facts.push(slackEscape(cut(issue.culprit)))
      facts.push(plural(issue.count, 'event'), plural(issue.sessions, 'session'))
      if (issue.lastRelease) facts.push(`release ${slackEscape(cut(issue.lastRelease))}`)
      facts.push(`issue ${issue.id}`)
    }
  }
  const blocks: SlackPayload['blocks'] = [{ type: 'section', text: { type: 'mrkdwn', text: `*${headline}*\n${detail}` } }]
  if (facts.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: facts.join(' · ') }] })
  return { text: `${headline}: ${detail}`, blocks }
}

/**
 * `&`, `<` and `>` are Slack's control characters (https://api.slack.com/reference/surfaces/formatting#escaping):
 * unescaped, an error title a visitor controls could write `<!channel>` to ping everyone or `<https://evil|docs>`
 * to forge a link.
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function cut(text: string): string {
  return text.length <= SLACK_TEXT_CHARS ? text : `${text.slice(0, SLACK_TEXT_CHARS - 1)}…`
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

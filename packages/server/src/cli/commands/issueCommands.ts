import { resolveApp } from '../../apps/appAdmin.js'
import { systemClock } from '../../clock.js'
import type { StackFrame } from '../../errors/parseStack.js'
import { errorEventJson, issueJson, isRegressed, readIssueJson, reportEventJson } from '../../issues/issueJson.js'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import { createStackResolver, type ResolvedFrame } from '../../sourcemaps/createStackResolver.js'
import { ISSUE_FILTERS, ISSUE_KINDS, ISSUE_SORTS, type Issue, type IssueEnvironment, type IssueRelease, type IssueStatus } from '../../store/issues/issue.js'
import type { Store } from '../../store/Store.js'
import { CliError, formatTime, writeJson, writeTable, type CliCommand, type CliIo } from '../cliCommand.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'
import { printable } from '../printable.js'
import { plural } from './appCommands.js'

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 1000
/** Titles are cut in the table so a row stays on one line; --json and `tacit issue <id>` give them whole. */
const TABLE_TITLE_CHARS = 80

export const issuesCommand: CliCommand = {
  path: ['issues'],
  usage: `tacit issues <app> [--kind ${ISSUE_KINDS.join('|')}] [--status ${ISSUE_FILTERS.join('|')}] [--release <r>] [--env <environment>] [--search <text>] [--sort ${ISSUE_SORTS.join('|')}] [--limit ${DEFAULT_LIMIT}] [--json] [--data-dir <dir>]`,
  summary: "List an app's issues (errors and browser reports), most recently seen first.",
  options: {
    kind: { type: 'string' },
    status: { type: 'string' },
    release: { type: 'string' },
    env: { type: 'string' },
    search: { type: 'string' },
    sort: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(issuesCommand, positionals, ['<app>'])
    const kind = oneOf('--kind', values.kind, ISSUE_KINDS)
    const status = oneOf('--status', values.status, ISSUE_FILTERS)
    const sort = oneOf('--sort', values.sort, ISSUE_SORTS) ?? 'last_seen'
    const limit = parseLimit(values.limit)
    const release = textOption('--release', values.release)
    const environment = textOption('--env', values.env)
    const search = textOption('--search', values.search)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const issues = await store.listIssues({ appId: app.id, status, sort, limit, ...(kind && { kind }), ...(release && { release }), ...(environment && { environment }), ...(search && { search }) })
      if (values.json) {
        const rows = []
        for (const issue of issues) rows.push(await readIssueJson(store, issue))
        writeJson(io, rows)
        return
      }
      if (issues.length === 0) {
        const matching = release || environment || search ? ' matching the filters' : ''
        io.stdout.write(`No ${status ? `${status} ` : ''}${kind ? `${kind} ` : ''}issues${matching} for "${app.name}" (id ${app.id}).\n`)
        return
      }
      writeTable(
        io,
        ['ID', 'STATUS', 'EVENTS', 'SESSIONS', 'FIRST SEEN', 'LAST SEEN', 'TITLE'],
        issues.map((issue) => [
          issue.id,
          shownStatus(issue),
          issue.count,
          issue.sessions,
          formatTime(issue.firstSeen),
          formatTime(issue.lastSeen),
          cut(printable(issue.title), TABLE_TITLE_CHARS),
        ]),
      )
    })
  },
}

export const issueShowCommand: CliCommand = {
  path: ['issue'],
  usage: 'tacit issue <id> [--json] [--data-dir <dir>]  (to change its status: tacit issue resolve|ignore|reopen <id>)',
  summary: 'Show an issue: counts, releases, and its latest event (an error with its stack trace, or a browser report).',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const id = parseIssueId(issueShowCommand, positionals)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const issue = await findIssue(store, id)
      const app = await store.getApp(issue.appId)
      const [releases, environments] = await Promise.all([store.issueReleases(issue.id), store.issueEnvironments(issue.id)])
      const [latest] = await store.readIssueEvents({ appId: issue.appId, issueId: issue.id, limit: 1 })
      const error = latest?.type === 'error' ? latest : undefined
      const report = latest?.type === 'report' ? latest : undefined
      // Minified frames are shown as the app's uploaded source maps resolve them (tacit sourcemaps upload).
      const frames = error?.error.stack ? await createStackResolver({ store, clock: systemClock }).resolveStack(issue.appId, error.release, error.error.stack) : []
      if (values.json) {
        writeJson(io, {
          ...issueJson(issue, releases, environments),
          app: app?.name ?? null,
          latest_event: error ? errorEventJson(error, frames) : report ? reportEventJson(report) : null,
        })
        return
      }
      writeIssue(io, issue, app?.name, releases, environments, error ?? report, frames)
    })
  },
}

/** `tacit issue resolve|ignore|reopen <id>`: one command per status change, so each reads as a sentence. */
function statusCommand(word: 'resolve' | 'ignore' | 'reopen', status: IssueStatus, summary: string, done: string): CliCommand {
  const command: CliCommand = {
    path: ['issue', word],
    usage: `tacit issue ${word} <id> [--json] [--data-dir <dir>]`,
    summary,
    options: { json: { type: 'boolean' } },
    async run({ values, positionals, io }) {
      const id = parseIssueId(command, positionals)
      return openCliStore(values['data-dir'], {}, async ({ store }) => {
        const before = await findIssue(store, id)
        // Resolving a resolved issue again would move its resolution time, and with it which releases count
        // as newer: say so and leave it as it is.
        const changed = before.status !== status
        if (changed && !(await store.setIssueStatus(id, status, systemClock.now()))) {
          throw new CliError(`There is no issue ${id} any more: it was deleted meanwhile (retention or a purge).`)
        }
        const after = (await store.getIssue(undefined, id)) ?? before
        if (values.json) {
          writeJson(io, { ...(await readIssueJson(store, after)), changed })
          return
        }
        const title = printable(after.title)
        if (!changed) {
          const since = before.status === 'resolved' ? ` (since ${formatTime(before.resolvedAt)})` : ''
          io.stdout.write(`Issue ${id} is already ${status}${since}: ${title}\n`)
          return
        }
        io.stdout.write(`${done} issue ${id}: ${title}\n`)
        if (status === 'resolved') {
          io.stdout.write('An event from a release first seen after now, or from no release, will open it again as regressed.\n')
        }
      })
    },
  }
  return command
}

export const issueResolveCommand = statusCommand('resolve', 'resolved', 'Mark an error issue resolved; a newer release that has it again re-opens it.', 'Resolved')
export const issueIgnoreCommand = statusCommand('ignore', 'ignored', 'Ignore an error issue: it keeps counting but never re-opens.', 'Ignored')
export const issueReopenCommand = statusCommand('reopen', 'open', 'Open a resolved or ignored error issue again.', 'Reopened')

/** The status changes come before `tacit issue <id>`, which would otherwise take `resolve` for an id. */
export const ISSUE_COMMANDS: readonly CliCommand[] = [issuesCommand, issueResolveCommand, issueIgnoreCommand, issueReopenCommand, issueShowCommand]

function oneOf<const T extends readonly string[]>(flag: string, value: unknown, allowed: T): T[number] | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new CliError(`${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}.`)
  }
  return value as T[number]
}

/** Release names and search text: up to 200 characters, as release names are stored. */
function textOption(flag: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '' || value.length > 200) throw new CliError(`${flag} takes a text of 1 to 200 characters.`)
  return value
}

function parseLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIMIT
  if (typeof value !== 'string' || !/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > MAX_LIMIT) {
    throw new CliError(`--limit must be a whole number from 1 to ${MAX_LIMIT}.`)
  }
  return Number(value)
}

/** Issue ids are the numbers `tacit issues` prints; anything else is refused before the database is opened. */
function parseIssueId(command: CliCommand, positionals: string[]): number {
  const [raw = ''] = expectPositionals(command, positionals.slice(0, 1), ['<id>'])
  if (!/^\d{1,15}$/.test(raw) || Number(raw) === 0) {
    throw new CliError(`"${printable(cut(raw, 40))}" is not an issue id: use the number \`tacit issues <app>\` shows.`)
  }
  expectPositionals(command, positionals, ['<id>'])
  return Number(raw)
}

async function findIssue(store: Store, id: number): Promise<Issue> {
  const issue = await store.getIssue(undefined, id)
  if (!issue) throw new CliError(`There is no issue ${id}: see \`tacit issues <app>\`.`)
  return issue
}

function shownStatus(issue: Issue): string {
  return isRegressed(issue) ? 'regressed' : issue.status
}

function writeIssue(
  io: CliIo,
  issue: Issue,
  appName: string | undefined,
  releases: readonly IssueRelease[],
  environments: readonly IssueEnvironment[],
  latest: Extract<StoredEvent, { type: 'error' | 'report' }> | undefined,
  frames: readonly ResolvedFrame[],
): void {
  const app = appName === undefined ? `app ${issue.appId}` : `"${appName}" (id ${issue.appId})`
  const status =
    shownStatus(issue) === 'regressed'
      ? `open, regressed ${formatTime(issue.regressedAt)}`
      : issue.status === 'resolved'
        ? `resolved ${formatTime(issue.resolvedAt)}`
        : issue.status
  const inRelease = (release: string | null) => (release === null ? '' : ` (release ${printable(release)})`)
  const lines = [
    `Issue ${issue.id} of ${app}: ${printable(issue.title)}`,
    `Status:      ${status}`,
    `Culprit:     ${issue.culprit === null ? '-' : printable(issue.culprit)}`,
    `Events:      ${issue.count} in ${plural(issue.sessions, 'session')}`,
    ...(environments.length > 0 ? [`Environment: ${environments.map((e) => `${printable(e.environment)} (${e.count})`).join(', ')}`] : []),
    `First seen:  ${formatTime(issue.firstSeen)}${inRelease(issue.firstRelease)}`,
    `Last seen:   ${formatTime(issue.lastSeen)}${inRelease(issue.lastRelease)}`,
    `Fingerprint: ${issue.fingerprint}`,
    '',
  ]
  io.stdout.write(lines.join('\n'))
  if (releases.length > 0) {
    io.stdout.write('\n')
    writeTable(
      io,
      ['RELEASE', 'EVENTS', 'FIRST SEEN', 'LAST SEEN'],
      releases.map((r) => [printable(r.release), r.count, formatTime(r.firstSeen), formatTime(r.lastSeen)]),
    )
  }
  io.stdout.write('\n')
  if (!latest) {
    io.stdout.write('No event of this issue is stored any more (retention).\n')
    return
  }
  io.stdout.write(`Latest event, ${formatTime(latest.ts)}${inRelease(latest.release ?? null)}:\n`)
  if (latest.type === 'report') {
    // The body holds only the allow-listed fields of its report type (protocol/decodeReports.ts).
    io.stdout.write(`${printable(latest.report.type)} report\n`)
    for (const [key, value] of Object.entries(latest.report.body)) io.stdout.write(`  ${printable(key)}: ${printable(typeof value === 'string' ? value : JSON.stringify(value))}\n`)
    return
  }
  io.stdout.write(`${printable(latest.error.type ? `${latest.error.type}: ${latest.error.message}` : latest.error.message)}\n`)
  if (frames.length > 0) {
    for (const frame of frames) writeFrame(io, frame)
    const unresolved = frames.find((frame) => frame.reason === 'no_source_maps' || frame.reason === 'no_release')
    if (unresolved && frames.some((frame) => frame.inApp)) {
      io.stdout.write(
        unresolved.reason === 'no_release'
          ? '(The event names no release, so no source map applies: set `release` in the SDK.)\n'
          : `(No source maps uploaded for release ${printable(latest.release ?? '')}: see \`tacit sourcemaps upload\`.)\n`,
      )
    }
  } else if (latest.error.stack) {
    for (const line of latest.error.stack.split('\n')) io.stdout.write(`    ${printable(line)}\n`)
  } else {
    io.stdout.write('  (no stack trace)\n')
  }
}

/** One frame: the original position when a map resolved it (with the minified one and the source around it). */
function writeFrame(io: CliIo, frame: ResolvedFrame): void {
  io.stdout.write(`  ${frame.inApp ? '>' : ' '} at ${printable(describeFrame(frame))}\n`)
  if (!frame.resolved) return
  io.stdout.write(`        (minified: ${printable(describeFrame(frame.minified))})\n`)
  if (!frame.context || frame.line === undefined) return
  const first = frame.line - frame.context.pre.length
  const lines = [...frame.context.pre, frame.context.line, ...frame.context.post]
  const width = String(first + lines.length - 1).length
  lines.forEach((text, i) => {
    const number = first + i
    io.stdout.write(`      ${number === frame.line ? '>' : ' '} ${String(number).padStart(width)} | ${printable(text)}\n`)
  })
}

function describeFrame(frame: StackFrame): string {
  const position = [frame.file ?? '?', frame.line, frame.column].filter((part) => part !== undefined).join(':')
  return frame.function ? `${frame.function} (${position})` : position
}

function cut(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`
}

import { resolveApp } from '../../apps/appAdmin.js'
import type { StoredEvent } from '../../pipeline/storedEvent.js'
import type { SessionSummary } from '../../store/Store.js'
import { WIRE_TYPES, type WireType } from '../../protocol/wireSchema.js'
import { CliError, type CliCommand, type CliIo } from '../cliCommand.js'
import { createProgress, type Progress } from '../createProgress.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'
import { plural } from './appCommands.js'

/** Lines are gathered into chunks of about this size: one write per event would dominate a large export. */
const CHUNK_CHARS = 64 * 1024

export const exportCommand: CliCommand = {
  path: ['export'],
  usage:
    'tacit export <app> [--type <type>]... [--since <time>] [--until <time>] [--data-dir <dir>]  (NDJSON on stdout; <type> is a wire type, or session for the session summaries; times are ISO 8601, UTC unless an offset is given; --since is inclusive, --until exclusive)',
  summary: 'Write an app\'s stored events to stdout as NDJSON, one event per line.',
  options: { type: { type: 'string', multiple: true }, since: { type: 'string' }, until: { type: 'string' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(exportCommand, positionals, ['<app>'])
    const { types, sessions } = parseTypes(values.type as string[] | undefined)
    const since = values.since === undefined ? undefined : parseIsoTime('--since', values.since as string)
    const until = values.until === undefined ? undefined : parseIsoTime('--until', values.until as string)
    if (since !== undefined && until !== undefined && since >= until) throw new CliError('--since must be earlier than --until.')
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      // When stdout is the terminal too, a status line would garble the events printed on it.
      const progress = createProgress(io, { enabled: Boolean(io.stderr.isTTY && !io.stdout.isTTY) })
      const events = types?.length === 0 ? emptyStream() : store.readEvents({ appId: app.id, types, since, until })
      const exported = await writeNdjson(io, events, progress)
      let summaries = { count: 0, closed: false }
      if (sessions && !exported.closed) summaries = await writeNdjson(io, sessionLines(store.readSessions({ appId: app.id, since, until })), progress)
      const what = sessions ? `${plural(exported.count, 'event')} and ${plural(summaries.count, 'session summary')}` : plural(exported.count, 'event')
      progress.done(exported.closed || summaries.closed ? undefined : `Exported ${what} of "${app.name}".`)
    })
  },
}

/**
 * Writes events as NDJSON, waiting for 'drain' when the reader is slower than the database. A reader that
 * goes away early (`tacit export demo | head -1`) is not an error: the export stops quietly.
 */
async function writeNdjson(io: CliIo, events: AsyncIterable<object>, progress: Progress): Promise<{ count: number; closed: boolean }> {
  const out = io.stdout
  let closed = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  // Stays attached: an EPIPE can still be reported after the last write's callback.
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') closed = true
    else failure ??= error
    wake?.()
  })
  const write = async (chunk: string): Promise<void> => {
    if (out.write(chunk)) return
    await new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done)
        out.off('close', done)
        wake = undefined
        resolve()
      }
      wake = done
      out.on('drain', done)
      out.on('close', done)
    })
  }

  let count = 0
  let chunk = ''
  for await (const event of events) {
    if (closed || failure) break
    chunk += `${JSON.stringify(event)}\n`
    count += 1
    if (chunk.length >= CHUNK_CHARS) {
      await write(chunk)
      chunk = ''
      progress.update(`Exported ${count} events…`)
    }
  }
  if (chunk && !closed && !failure) await write(chunk)
  if (failure) throw failure
  return { count, closed }
}

/** Wire types to export (undefined: all), and whether to add the session summaries (`--type session`). */
function parseTypes(flags: readonly string[] | undefined): { types: WireType[] | undefined; sessions: boolean } {
  if (!flags?.length) return { types: undefined, sessions: false }
  const types = new Set<WireType>()
  let sessions = false
  for (const name of flags.flatMap((flag) => flag.split(',')).map((name) => name.trim())) {
    if (name === 'session') {
      sessions = true
      continue
    }
    if (!(WIRE_TYPES as readonly string[]).includes(name)) {
      throw new CliError(`"${name}" is not an event type: use ${WIRE_TYPES.join(', ')} or session.`)
    }
    types.add(name as WireType)
  }
  return { types: [...types], sessions }
}

async function* emptyStream(): AsyncIterable<StoredEvent> {}

/** Session summaries as NDJSON lines, in the same vocabulary as the events (docs/PRIVACY.md, table sessions). */
async function* sessionLines(summaries: AsyncIterable<SessionSummary>): AsyncIterable<object> {
  for await (const s of summaries) {
    yield {
      type: 'session',
      session: { id: s.sessionId },
      start: s.start,
      end: s.end,
      views: s.views,
      actions: s.actions,
      errors: s.errors,
      has_error: s.hasError,
      ...(s.country ? { geo: { country: s.country } } : {}),
      device: { type: s.deviceType, browser: s.browser, os: s.os },
      ...(s.release === undefined ? {} : { release: s.release }),
      received_at: s.receivedAt,
    }
  }
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i

/**
 * Parses an ISO 8601 date or date-time into ms since the epoch. Times without an offset are UTC, like every
 * time Tacit stores and prints, so the same command means the same range on every machine. Strict on purpose:
 * Date.parse would accept "March 7" or "2024-02-31" and quietly export the wrong range.
 */
export function parseIsoTime(flag: string, value: string): number {
  const match = ISO_TIME.exec(value.trim())
  const invalid = () =>
    new CliError(`${flag} "${value}" is not an ISO 8601 date or time: write it like 2024-05-31 or 2024-05-31T14:30:00Z.`)
  if (!match) throw invalid()
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '0', zone = 'Z'] = match
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const
  const utc = Date.UTC(...parts, Math.floor(Number(`0.${fraction}`) * 1000))
  const date = new Date(utc)
  const roundTrips =
    date.getUTCFullYear() === parts[0] &&
    date.getUTCMonth() === parts[1] &&
    date.getUTCDate() === parts[2] &&
    date.getUTCHours() === parts[3] &&
    date.getUTCMinutes() === parts[4] &&
    date.getUTCSeconds() === parts[5]
  if (!roundTrips) throw invalid()
  if (zone.toUpperCase() === 'Z') return utc
  const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)
  const sign = offset?.[1] === '-' ? -1 : 1
  const hours = Number(offset?.[2])
  const minutes = Number(offset?.[3])
  if (hours > 23 || minutes > 59) throw invalid()
  return utc - sign * (hours * 60 + minutes) * 60_000
}

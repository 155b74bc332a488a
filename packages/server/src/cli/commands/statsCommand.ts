import { resolveApp } from '../../apps/appAdmin.js'
import { MAX_RETENTION_DAYS } from '../../apps/appSettings.js'
import { DAY_MS, systemClock, utcDay } from '../../clock.js'
import type { DailyCount } from '../../store/Store.js'
import { CliError, writeJson, writeTable, type CliCommand } from '../cliCommand.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'

interface DayStats {
  day: string
  accepted_total: number
  dropped_total: number
  /** By event type. */
  accepted: Record<string, number>
  /** By drop reason. */
  dropped: Record<string, number>
  /** Events stored with data removed (e.g. `usr` without the app's consent), by reason. */
  stripped: Record<string, number>
}

export const statsCommand: CliCommand = {
  path: ['stats'],
  usage: 'tacit stats <app> [--days 7] [--json] [--data-dir <dir>]',
  summary: 'Show per day (UTC) how many events an app had accepted by type, dropped by reason, and stored with data removed.',
  options: { days: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(statsCommand, positionals, ['<app>'])
    const daysFlag = (values.days as string | undefined) ?? '7'
    if (!/^\d+$/.test(daysFlag) || Number(daysFlag) < 1 || Number(daysFlag) > MAX_RETENTION_DAYS) {
      throw new CliError(`--days must be a whole number from 1 to ${MAX_RETENTION_DAYS}.`)
    }
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const now = systemClock.now()
      const days = Array.from({ length: Number(daysFlag) }, (_, i) => utcDay(now - (Number(daysFlag) - 1 - i) * DAY_MS))
      const stats = summarize(days, await store.readDailyCounts(app.id, days[0] ?? utcDay(now)))
      if (values.json) {
        writeJson(io, { id: app.id, name: app.name, days: stats })
        return
      }
      io.stdout.write(`Events of "${app.name}" (id ${app.id}) per UTC day:\n`)
      writeTable(
        io,
        ['DAY', 'ACCEPTED', 'DROPPED', 'ACCEPTED BY TYPE', 'DROPPED BY REASON', 'STRIPPED'],
        stats.map((s) => [s.day, s.accepted_total, s.dropped_total, describeCounts(s.accepted), describeCounts(s.dropped), describeCounts(s.stripped)]),
      )
    })
  },
}

/** One entry per day of the range, days without events included, so a gap in traffic shows as a zero. */
function summarize(days: readonly string[], counts: readonly DailyCount[]): DayStats[] {
  const byDay = new Map<string, DayStats>(
    days.map((day) => [day, { day, accepted_total: 0, dropped_total: 0, accepted: {}, dropped: {}, stripped: {} }]),
  )
  for (const { day, kind, key, count } of counts) {
    const stats = byDay.get(day)
    if (!stats) continue
    stats[kind][key] = (stats[kind][key] ?? 0) + count
    if (kind === 'accepted') stats.accepted_total += count
    if (kind === 'dropped') stats.dropped_total += count
  }
  return [...byDay.values()]
}

function describeCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts)
  return entries.length === 0 ? '-' : entries.map(([key, n]) => `${key} ${n}`).join(', ')
}

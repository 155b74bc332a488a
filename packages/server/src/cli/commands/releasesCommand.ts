import { resolveApp } from '../../apps/appAdmin.js'
import { releaseJson } from '../../issues/issueJson.js'
import { writeJson, writeTable, formatTime, type CliCommand } from '../cliCommand.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'
import { printable } from '../printable.js'

export const releasesCommand: CliCommand = {
  path: ['releases'],
  usage: 'tacit releases <app> [--json] [--data-dir <dir>]',
  summary: "List an app's releases with their errors, new issues and crash-free session rate, newest first.",
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(releasesCommand, positionals, ['<app>'])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const [summaries, health] = await Promise.all([store.listReleases(app.id), store.crashFreeSessions({ appId: app.id })])
      const byRelease = new Map(health.map((h) => [h.release, h]))
      const rows = summaries.map((summary) => releaseJson(summary, byRelease.get(summary.release)))
      if (values.json) {
        writeJson(io, rows)
        return
      }
      if (rows.length === 0) {
        io.stdout.write(`No releases for "${app.name}" (id ${app.id}) yet: events name theirs in \`release\` (the SDKs' \`release\` option).\n`)
        return
      }
      writeTable(
        io,
        ['RELEASE', 'FIRST SEEN', 'LAST SEEN', 'ERRORS', 'ISSUES', 'NEW ISSUES', 'SESSIONS', 'CRASH-FREE'],
        rows.map((r, i) => [
          printable(summaries[i]!.release),
          formatTime(summaries[i]!.firstSeen),
          formatTime(summaries[i]!.lastSeen),
          r.errors,
          r.issues,
          r.new_issues,
          r.sessions,
          r.crash_free_rate === null ? '-' : `${(Math.floor(r.crash_free_rate * 1000) / 10).toFixed(1)} %`,
        ]),
      )
    })
  },
}

import { systemClock } from '../../clock.js'
import { runRetention } from '../../retention/runRetention.js'
import { writeJson, writeTable, type CliCommand } from '../cliCommand.js'
import { createProgress } from '../createProgress.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'
import { plural } from './appCommands.js'

export const retentionRunCommand: CliCommand = {
  path: ['retention', 'run'],
  usage: 'tacit retention run [--json] [--data-dir <dir>]',
  summary: 'Apply every app\'s retention now (the server also does it every hour).',
  options: { json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    expectPositionals(retentionRunCommand, positionals, [])
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const progress = createProgress(io)
      progress.update('Applying retention…')
      const report = await runRetention({ store, clock: systemClock, actor: 'cli' })
      progress.done()
      const names = new Map((await store.listApps()).map((app) => [app.id, app.name]))
      const deleted = report.deleted.map((entry) => ({ app_id: entry.appId, app: names.get(entry.appId) ?? null, type: entry.type, count: entry.count }))
      if (values.json) {
        writeJson(io, { total: report.total, deleted })
        return
      }
      if (report.total === 0) {
        io.stdout.write('Nothing was past its retention: no event deleted.\n')
        return
      }
      writeTable(
        io,
        ['APP', 'TYPE', 'DELETED'],
        deleted.map((entry) => [entry.app ?? String(entry.app_id), entry.type, entry.count]),
      )
      io.stdout.write(`Deleted ${plural(report.total, 'event')} past their retention.\n`)
    })
  },
}

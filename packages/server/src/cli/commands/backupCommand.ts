import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { CliError, writeJson, type CliCommand } from '../cliCommand.js'
import { createProgress } from '../createProgress.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'

export const backupCommand: CliCommand = {
  path: ['backup'],
  usage: 'tacit backup <file> [--force] [--json] [--data-dir <dir>]',
  summary: 'Copy the database to a file, consistently, while the server keeps running.',
  options: { force: { type: 'boolean' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [file = ''] = expectPositionals(backupCommand, positionals, ['<file>'])
    const destination = resolve(file)
    return openCliStore(values['data-dir'], {}, async ({ store, databasePath, database }) => {
      const existing = statSync(destination, { throwIfNoEntry: false })
      if (existing?.isDirectory()) throw new CliError(`${destination} is a directory: give the path of the backup file, e.g. ${destination}/tacit-backup.db.`)
      // On PostgreSQL there is no live file to overwrite: the backup is a pg_dump archive (docs/SCALING.md).
      const live = databasePath === undefined ? undefined : statSync(databasePath)
      if (live && (destination === databasePath || (existing && existing.ino === live.ino && existing.dev === live.dev))) {
        throw new CliError(`${destination} is the live database itself: back up to another file.`)
      }
      if (existing && !values.force) throw new CliError(`${destination} already exists: choose another file or add --force to overwrite it.`)
      try {
        mkdirSync(dirname(destination), { recursive: true })
      } catch (error) {
        throw new CliError(`Cannot create the directory ${dirname(destination)} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`)
      }

      // Copy next to the target, then rename: an interrupted backup never leaves a half file under the real name.
      const partial = `${destination}.partial-${process.pid}`
      const removePartial = () => {
        for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true })
      }
      // Ctrl-C during a long backup: clean up, then let the signal end the process as it would have.
      const onSignal = (signal: NodeJS.Signals) => {
        removePartial()
        process.kill(process.pid, signal)
      }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      const progress = createProgress(io)
      try {
        await store.backup(partial, (fraction) => progress.update(`Backing up… ${Math.floor(fraction * 100)}%`))
        renameSync(partial, destination)
      } catch (error) {
        removePartial()
        throw error
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        progress.done()
      }
      const bytes = statSync(destination).size
      if (values.json) {
        writeJson(io, { path: destination, bytes })
        return
      }
      io.stdout.write(`Backed up ${database} to ${destination} (${formatBytes(bytes)}).\n`)
    })
  },
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

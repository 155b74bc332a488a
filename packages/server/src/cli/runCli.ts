import { ConfigError } from '../config.js'
import { AdminError } from '../apps/appAdmin.js'
import { SettingError } from '../apps/appSettings.js'
import { GeoDatabaseError } from '../privacy/geo/createGeoLookup.js'
import { NewerSchemaError } from '../store/sqlite/createSqliteStore.js'
import { CliError, parseCommandArgs, type CliCommand, type CliIo } from './cliCommand.js'
import { COMMANDS } from './commands/index.js'

const USER_ERRORS = [CliError, ConfigError, AdminError, SettingError, NewerSchemaError, GeoDatabaseError]

/** Runs one CLI invocation and returns its exit code. Errors become one sentence on stderr. */
export async function runCli(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const command = findCommand(argv)
  if (!command) {
    const groups = new Set(COMMANDS.filter((c) => c.path.length > 1).map((c) => c.path[0]))
    const words = argv[0] !== undefined && groups.has(argv[0]) ? argv.slice(0, 2) : argv.slice(0, 1)
    const asked = words.filter((word) => !word.startsWith('-')).join(' ')
    if (argv[0] !== undefined && groups.has(argv[0]) && (argv[1] === undefined || argv[1].startsWith('-'))) {
      io.stdout.write(helpText(argv[0]))
      return argv[1] === '--help' || argv[1] === '-h' ? 0 : 1
    }
    if (asked && asked !== 'help') {
      io.stderr.write(`tacit: unknown command "${asked}". Run \`tacit help\` to see the commands.\n`)
      return 1
    }
    io.stdout.write(helpText())
    return 0
  }
  try {
    const { values, positionals } = parseCommandArgs(command, argv.slice(command.path.length))
    if (values.help) {
      io.stdout.write(`${command.summary}\nUsage: ${command.usage}\n`)
      return 0
    }
    return (await command.run({ values, positionals, io })) ?? 0
  } catch (error) {
    if (USER_ERRORS.some((kind) => error instanceof kind)) {
      io.stderr.write(`tacit: ${(error as Error).message}\n`)
      return 1
    }
    const code = (error as { code?: string }).code
    io.stderr.write(`tacit: ${describeSystemError(error as Error, code)}\n`)
    return 1
  }
}

function findCommand(argv: string[]): CliCommand | undefined {
  return COMMANDS.find((command) => command.path.every((word, i) => argv[i] === word))
}

/** Turns an unexpected error into a sentence a person can act on, without a stack trace. */
function describeSystemError(error: Error, code: string | undefined): string {
  if (code === 'EADDRINUSE') return 'The port is already in use: choose another with --port or TACIT_PORT.'
  if (code === 'EACCES') return 'Permission denied: check the data directory and port.'
  if (code === 'SQLITE_BUSY') return 'The database stayed locked by another process; try again.'
  if (code?.startsWith('SQLITE_')) return `The database failed (${code}): ${error.message}`
  return `Unexpected error: ${error.message}`
}

function helpText(group?: string): string {
  const listed = group ? COMMANDS.filter((command) => command.path[0] === group) : COMMANDS
  const lines = listed.map((command) => `  ${command.path.join(' ').padEnd(18)} ${command.summary}`)
  return ['Tacit — privacy-first real user monitoring and error tracking', '', 'Commands:', ...lines, '', 'Run `tacit <command> --help` for its options.', ''].join('\n')
}

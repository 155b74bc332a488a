import type { CliCommand } from '../cliCommand.js'
import { APP_COMMANDS } from './appCommands.js'
import { auditCommand } from './auditCommand.js'
import { backupCommand } from './backupCommand.js'
import { exportCommand } from './exportCommand.js'
import { ISSUE_COMMANDS } from './issueCommands.js'
import { retentionRunCommand } from './retentionCommand.js'
import { serveCommand } from './serveCommand.js'
import { statsCommand } from './statsCommand.js'
import { TOKEN_COMMANDS } from './tokenCommands.js'

/** Every CLI command, in the order `tacit help` lists them. */
export const COMMANDS: readonly CliCommand[] = [
  serveCommand,
  ...APP_COMMANDS,
  ...TOKEN_COMMANDS,
  exportCommand,
  statsCommand,
  ...ISSUE_COMMANDS,
  retentionRunCommand,
  auditCommand,
  backupCommand,
]

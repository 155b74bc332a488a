import type { CliCommand } from '../cliCommand.js'
import { ALERT_COMMANDS } from './alertCommands.js'
import { APP_COMMANDS } from './appCommands.js'
import { auditCommand } from './auditCommand.js'
import { backupCommand } from './backupCommand.js'
import { exportCommand } from './exportCommand.js'
import { ISSUE_COMMANDS } from './issueCommands.js'
import { KEY_COMMANDS } from './keyCommands.js'
import { relayCommand } from './relayCommand.js'
import { releasesCommand } from './releasesCommand.js'
import { retentionRunCommand } from './retentionCommand.js'
import { serveCommand } from './serveCommand.js'
import { SOURCE_MAP_COMMANDS } from './sourceMapCommands.js'
import { statsCommand } from './statsCommand.js'
import { TOKEN_COMMANDS } from './tokenCommands.js'
import { USER_COMMANDS } from './userCommands.js'

/** Every CLI command, in the order `tacit help` lists them. */
export const COMMANDS: readonly CliCommand[] = [
  serveCommand,
  relayCommand,
  ...APP_COMMANDS,
  ...TOKEN_COMMANDS,
  ...KEY_COMMANDS,
  ...USER_COMMANDS,
  exportCommand,
  statsCommand,
  ...ISSUE_COMMANDS,
  releasesCommand,
  ...SOURCE_MAP_COMMANDS,
  ...ALERT_COMMANDS,
  retentionRunCommand,
  auditCommand,
  backupCommand,
]

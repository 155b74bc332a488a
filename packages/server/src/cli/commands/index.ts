import type { CliCommand } from '../cliCommand.js'
import { serveCommand } from './serveCommand.js'

/** Every CLI command, in the order `tacit help` lists them. */
export const COMMANDS: readonly CliCommand[] = [serveCommand]

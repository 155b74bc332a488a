import { CliError, type CliCommand } from './cliCommand.js'

/**
 * Checks a command's positional arguments against the names it expects, e.g. ['<app>', '<key=value>...'];
 * a trailing "..." takes one or more. Returns them in order; the repeated one last, as an array.
 */
export function expectPositionals(command: CliCommand, positionals: string[], names: readonly string[]): string[] {
  const repeated = names.at(-1)?.endsWith('...') ?? false
  const missing = names[positionals.length]
  if (missing !== undefined) throw new CliError(`Missing the argument ${missing.replace(/\.\.\.$/, '')}. Usage: ${command.usage}`)
  if (!repeated && positionals.length > names.length) {
    throw new CliError(`Unexpected argument "${positionals[names.length]}". Usage: ${command.usage}`)
  }
  return positionals
}

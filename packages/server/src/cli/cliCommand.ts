import { parseArgs, type ParseArgsConfig } from 'node:util'

/** A user-facing failure: printed as one sentence, exit code 1, no stack trace (DESIGN.md §3.11). */
export class CliError extends Error {}

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
}

export interface CliCommand {
  /** Words that select it, e.g. ['app', 'create']. */
  path: readonly string[]
  usage: string
  summary: string
  options: NonNullable<ParseArgsConfig['options']>
  run(input: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[]; io: CliIo }): Promise<number | void>
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

export function parseCommandArgs(command: CliCommand, args: string[]) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true })
  } catch (error) {
    // Node's messages here are short and quote only the flag, e.g. "Unknown option '--colour'".
    // Keep only the first line: some of Node's messages here go on with hints over several lines.
    const first = (error as Error).message.split('\n')[0]!.replace(/\.$/, '')
    throw new CliError(`${first}. Usage: ${command.usage}`)
  }
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`)
}

/** Renders rows as aligned columns for people; scripts use --json. */
export function writeTable(io: CliIo, headers: string[], rows: Array<Array<string | number>>): void {
  const cells = [headers, ...rows.map((row) => row.map(String))]
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)))
  for (const row of cells) io.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`)
}

export function formatTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z')
}

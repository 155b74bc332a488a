import type { CliIo } from '../../src/cli/cliCommand.js'
import { runCli } from '../../src/cli/runCli.js'
import type { CliResult } from './tacitProcess.js'

/** Runs one CLI invocation in this process, as bin/tacit.js would, and collects what it printed. */
export async function runCliInProcess(args: string[], dataDir: string): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const stream = (append: (chunk: string) => void) =>
    ({ write: (chunk: string) => (append(String(chunk)), true), on: () => undefined, off: () => undefined }) as unknown as CliIo['stdout']
  const io: CliIo = { stdout: stream((c) => (stdout += c)), stderr: stream((c) => (stderr += c)) }
  const code = await runCli([...args, '--data-dir', dataDir], io)
  return { code, stdout, stderr }
}

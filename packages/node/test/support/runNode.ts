import { spawn } from 'node:child_process'

export interface NodeRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Wall time from spawn to exit. */
  ms: number
}

/** Runs a Node script in a child process to its end (killed after `killAfterMs`, which then fails the test). */
export function runNode(args: string[], options: { env?: Record<string, string>; cwd?: string; killAfterMs?: number } = {}): Promise<NodeRun> {
  const started = Date.now()
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000)
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started })
    })
  })
}

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** Real processes for integration tests: the built CLI, exactly as a user runs it. */

export const TACIT_BIN = resolve(import.meta.dirname, '../../bin/tacit.js')

export function makeTempDir(prefix = 'tacit-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

export interface ServerProcess {
  url: string
  port: number
  dataDir: string
  /** The demo app's client token, printed on first start (undefined on later starts). */
  demoToken: string | undefined
  child: ChildProcess
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>
}

export async function startServerProcess(options: {
  dataDir: string
  args?: string[]
  env?: Record<string, string>
  /** Leave out --port 0 and --data-dir, so TACIT_PORT and TACIT_DATA_DIR (or the defaults) apply. */
  configFromEnv?: boolean
}): Promise<ServerProcess> {
  const placement = options.configFromEnv ? [] : ['--port', '0', '--data-dir', options.dataDir]
  const child = spawn(
    process.execPath,
    [TACIT_BIN, 'serve', ...placement, '--log-format', 'json', ...(options.args ?? [])],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const { port, exited, output } = await waitForListening(child, 'Tacit listening')
  child.stdout!.on('data', () => undefined)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir: options.dataDir,
    demoToken: /client token (tc_[A-Za-z0-9]+)/.exec(output())?.[1],
    child,
    output,
    async stop() {
      child.kill('SIGTERM')
      return exited
    },
    async kill() {
      child.kill('SIGKILL')
      await exited
    },
  }
}

/**
 * Waits until a `tacit` process logs `message` (JSON logs) with its port; rejects with everything it wrote if it
 * exits first or takes over 20 s. Its output keeps being collected.
 */
export async function waitForListening(child: ChildProcess, message: string): Promise<{ port: number; exited: Promise<number | null>; output(): string }> {
  let output = ''
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)))
  const pattern = new RegExp(`"port":(\\d+)[^\\n]*"msg":"${message}"`)
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${message} did not come in time:\n${output}`)), 20_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = pattern.exec(output)
      if (match) {
        clearTimeout(timer)
        resolvePort(Number(match[1]))
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the process exited with ${code} before "${message}":\n${output}`))
    })
  })
  return { port, exited, output: () => output }
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export async function runTacit(args: string[], options: { dataDir?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const fullArgs = options.dataDir ? [...args, '--data-dir', options.dataDir] : args
  const child = spawn(process.execPath, [TACIT_BIN, ...fullArgs], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', (exitCode) => resolveExit(exitCode)))
  return { code, stdout, stderr }
}

/** POSTs a body to the ingest endpoint. */
export async function ingest(
  url: string,
  token: string | undefined,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'text/plain' },
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const target = token === undefined ? `${url}/api/v1/ingest` : `${url}/api/v1/ingest?token=${token}`
  // A Uint8Array view, not the Buffer: the DOM typings (browser tests import this file) reject Buffer bodies.
  const response = await fetch(target, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers })
  const text = await response.text()
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers }
}

/** A loopback port free at the time of asking, for a server a test starts on a port of its choosing. */
export async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise((resolve) => probe.close(resolve))
  return port
}

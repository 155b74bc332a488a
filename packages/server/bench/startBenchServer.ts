import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

export interface BenchServer {
  url: string
  pid: number
  /** The demo app's client token, printed on the first start (or the one given for a node on a shared database). */
  token: string
  /** Log lines at warn level or above, and anything the server wrote to stderr. */
  problems: string[]
  /** Resident memory now and its peak so far (VmRSS, VmHWM), in MiB. */
  memory(): { rssMb: number; peakRssMb: number }
  /** SIGTERM, then waits for the graceful shutdown; resolves with the exit code. */
  stop(): Promise<number | null>
}

const START_TIMEOUT_MS = 20_000

/**
 * Runs the built server as its own process, as an operator would (`tacit serve`), on a free port.
 * The port comes from the JSON "Tacit listening" log line (info level, so the server runs at info: the
 * hot path logs only at debug, so this costs nothing per request); the token from the first-start banner.
 */
export async function startBenchServer(options: {
  binPath: string
  dataDir: string
  extraArgs?: string[]
  nodeArgs?: string[]
  /** Added to the benchmark's own environment: TACIT_DATABASE_URL, TACIT_REDIS_URL, TACIT_CLUSTER. */
  env?: Record<string, string>
  /**
   * The demo app's token when it exists already: a second node on a shared database prints no first-start
   * banner, so the server is ready once it listens.
   */
  token?: string
}): Promise<BenchServer> {
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      options.binPath,
      'serve',
      '--port',
      '0',
      '--data-dir',
      options.dataDir,
      '--log-format',
      'json',
      '--log-level',
      'info',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  )
  const problems: string[] = []
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  const ready = new Promise<{ port: number; token: string }>((resolve, reject) => {
    let port: number | undefined
    let token = options.token
    const timer = setTimeout(() => reject(new Error(`the server did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS)
    const check = () => {
      if (port !== undefined && token !== undefined) {
        clearTimeout(timer)
        resolve({ port, token })
      }
    }
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) {
        try {
          const entry = JSON.parse(line) as { level?: number; msg?: string; port?: number }
          if (entry.msg === 'Tacit listening' && typeof entry.port === 'number') port = entry.port
          if ((entry.level ?? 0) >= 40) problems.push(line)
        } catch {
          problems.push(line)
        }
      } else {
        const found = /client token (tc_[A-Za-z0-9_-]+)/.exec(line)
        if (found) token = found[1]
      }
      check()
    })
    createInterface({ input: child.stderr! }).on('line', (line) => problems.push(`stderr: ${line}`))
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited with code ${code} before it was ready${problems.length ? `: ${problems.join(' | ')}` : ''}`))
    })
  })

  let started: { port: number; token: string }
  try {
    started = await ready
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  const pid = child.pid!

  return {
    url: `http://127.0.0.1:${started.port}`,
    pid,
    token: started.token,
    problems,
    memory: () => readMemory(pid),
    async stop() {
      if (child.exitCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const killer = setTimeout(() => killHard(child), 30_000)
      const code = await exited
      clearTimeout(killer)
      return code
    },
  }
}

function killHard(child: ChildProcess): void {
  if (child.exitCode === null) child.kill('SIGKILL')
}

function readMemory(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 }
}

/** Reads until two reads 250 ms apart agree (a commit may still be on its way), at most 40 times. */
export async function settled<T>(read: () => Promise<T>): Promise<T> {
  let previous: T | undefined
  for (let attempt = 0; attempt < 40; attempt++) {
    const value = await read()
    if (previous !== undefined && JSON.stringify(previous) === JSON.stringify(value)) return value
    previous = value
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return previous as T
}

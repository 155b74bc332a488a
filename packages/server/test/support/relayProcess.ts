import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { TACIT_BIN, waitForListening, type CliResult } from './tacitProcess.js'

export interface RelayProcess {
  url: string
  port: number
  child: ChildProcess
  output(): string
  stop(): Promise<number | null>
}

/** `tacit relay` as an operator runs it, on a free loopback port; its key in TACIT_RELAY_KEY. */
export async function startRelayProcess(options: { upstream: string; relayKey: string; spoolDir: string; args?: string[]; env?: Record<string, string> }): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    [TACIT_BIN, 'relay', '--upstream', options.upstream, '--listen', '127.0.0.1:0', '--spool-dir', options.spoolDir, '--log-format', 'json', ...(options.args ?? [])],
    { env: { ...process.env, TACIT_RELAY_KEY: options.relayKey, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const { port, exited, output } = await waitForListening(child, 'Tacit relay listening')
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output,
    async stop() {
      child.kill('SIGTERM')
      return exited
    },
  }
}

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface RecordingProxy {
  url: string
  /** Every request that came through, as it arrived: what the upstream server sees on the wire. */
  recorded: RecordedRequest[]
  /** Where requests go now; undefined answers 502 (the server is down). */
  setTarget(url: string | undefined): void
  close(): Promise<void>
}

/**
 * Sits between the relay and the Tacit server in the tests: records each request whole (headers and body) and
 * passes it on. Its own port stays while the server behind it stops and starts, as a load balancer's would.
 */
export async function startRecordingProxy(target: string | undefined): Promise<RecordingProxy> {
  const recorded: RecordedRequest[] = []
  let upstream = target
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = []
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
    incoming.on('end', () => {
      const body = Buffer.concat(chunks)
      recorded.push({ method: incoming.method ?? '', path: incoming.url ?? '', headers: incoming.headers, body })
      if (!upstream) {
        response.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"bad_gateway"}')
        return
      }
      const target = new URL(incoming.url ?? '/', upstream)
      const outgoing = httpRequest(target, { method: incoming.method, headers: incoming.headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      })
      outgoing.on('error', () => {
        if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' })
        response.end('{"error":"bad_gateway"}')
      })
      outgoing.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    recorded,
    setTarget(url) {
      upstream = url
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * `tacit relay` run where it is expected to refuse its configuration and exit, as runTacit runs it; killed
 * (code null) if it is still running after `timeoutMs`, so a relay that starts by mistake cannot outlive the test.
 */
export async function runRelayCommand(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [TACIT_BIN, 'relay', ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10_000)
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', (exitCode) => resolveExit(exitCode)))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

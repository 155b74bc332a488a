/**
 * Relay overhead (issue 8): events/s and latency of SDK-shaped batches sent straight to `tacit serve`, and
 * through `tacit relay` in front of it (plain, and with --scrub), in one run on one machine, as ratios.
 *
 *   npm run bench:relay [-- --seconds 10 --rounds 3 --connections 8]
 *
 * Every process (server, relay, load generator) shares this machine's cores, so the relay's cost shows as
 * throughput lost to its own CPU use; on separate machines the ratio would be closer to 1 (docs/BENCHMARKS.md).
 * Rounds alternate direct and relayed runs so drift on a shared machine hits both alike.
 */
import autocannon from 'autocannon'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { BROWSER_USER_AGENT, batchEvents, ID_PLACEHOLDER, ndjson } from './createBenchPayloads.js'
import { startBenchServer } from './startBenchServer.js'

const BIN = resolve(import.meta.dirname, '../bin/tacit.js')
const { values } = parseArgs({ options: { seconds: { type: 'string' }, rounds: { type: 'string' }, connections: { type: 'string' } } })
const SECONDS = Number(values.seconds ?? 10)
const ROUNDS = Number(values.rounds ?? 3)
const CONNECTIONS = Number(values.connections ?? 8)
const EVENTS_PER_REQUEST = batchEvents(0).length

interface Run {
  eventsPerSecond: number
  /** CPU time the relay process used per event it forwarded, in microseconds (0 for direct runs). */
  relayCpuPerEventUs: number
  /** The same for the server process. */
  serverCpuPerEventUs: number
  p50: number
  p99: number
  non2xx: number
  errors: number
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-relay-bench-'))
  const server = await startBenchServer({ binPath: BIN, dataDir: join(dir, 'data'), extraArgs: ['--ip-rate-limit', '0', '--token-rate-limit', '0'] })
  const stops: Array<() => Promise<unknown>> = [() => server.stop()]
  try {
    const created = spawnSync(process.execPath, [BIN, 'key', 'create', '--kind', 'relay', '--json', '--data-dir', join(dir, 'data')], { encoding: 'utf8' })
    if (created.status !== 0) throw new Error(`tacit key create failed: ${created.stderr}`)
    const relayKey = (JSON.parse(created.stdout) as { key: string }).key
    const relay = await startRelay(server.url, relayKey, join(dir, 'spool'), [])
    stops.push(relay.stop)
    const scrubbing = await startRelay(server.url, relayKey, join(dir, 'spool-scrub'), ['--scrub'])
    stops.push(scrubbing.stop)

    console.log(`BENCH relay on ${describeMachine()}; ${EVENTS_PER_REQUEST} events per request, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} round(s)`)
    const targets = { direct: { url: server.url, pid: undefined }, relay, 'relay --scrub': scrubbing } as const
    const results: Record<keyof typeof targets, Run[]> = { direct: [], relay: [], 'relay --scrub': [] }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, target] of Object.entries(targets) as Array<[keyof typeof targets, { url: string; pid: number | undefined }]>) {
        const run = await load(target.url, server.token, name, { server: server.pid, relay: target.pid })
        results[name].push(run)
        console.log(
          `  round ${round} ${name.padEnd(13)} ${fmt(run.eventsPerSecond)} events/s  p50 ${run.p50.toFixed(1)} ms  p99 ${run.p99.toFixed(1)} ms  ` +
            `CPU per event: server ${run.serverCpuPerEventUs.toFixed(1)} µs, relay ${run.relayCpuPerEventUs.toFixed(1)} µs  non-2xx ${run.non2xx}  errors ${run.errors}`,
        )
      }
    }
    const mean = (runs: Run[], key: keyof Run) => runs.reduce((sum, run) => sum + run[key], 0) / runs.length
    const direct = mean(results.direct, 'eventsPerSecond')
    for (const name of Object.keys(targets) as Array<keyof typeof targets>) {
      const eps = mean(results[name], 'eventsPerSecond')
      console.log(
        `BENCH relay ${name}: ${fmt(eps)} events/s (${(eps / direct).toFixed(2)} × direct), p50 ${mean(results[name], 'p50').toFixed(1)} ms, ` +
          `p99 ${mean(results[name], 'p99').toFixed(1)} ms, relay CPU ${mean(results[name], 'relayCpuPerEventUs').toFixed(1)} µs/event, ` +
          `server CPU ${mean(results[name], 'serverCpuPerEventUs').toFixed(1)} µs/event`,
      )
    }
  } finally {
    for (const stop of stops.reverse()) await stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function startRelay(upstream: string, relayKey: string, spoolDir: string, args: string[]): Promise<{ url: string; pid: number; stop(): Promise<unknown> }> {
  const child = spawn(process.execPath, [BIN, 'relay', '--upstream', upstream, '--listen', '127.0.0.1:0', '--spool-dir', spoolDir, '--ip-rate-limit', '0', '--log-format', 'json', ...args], {
    env: { ...process.env, TACIT_RELAY_KEY: relayKey },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit))
  const port = await new Promise<number>((resolvePort, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /"port":(\d+)[^\n]*"msg":"Tacit relay listening"/.exec(line)
      if (match) resolvePort(Number(match[1]))
    })
    void exited.then(() => reject(new Error('the relay exited before listening')))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** User and system CPU time a process has used so far, in seconds (/proc/<pid>/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function load(url: string, token: string, label: string, pids: { server: number; relay: number | undefined }): Promise<Run> {
  const cpuBefore = { server: cpuSeconds(pids.server), relay: cpuSeconds(pids.relay) }
  const body = ndjson(batchEvents(Date.now()))
  const parts = body.split(ID_PLACEHOLDER)
  const prefix = `${label.replace(/\W/g, '')}-${Date.now().toString(36)}-`
  let sequence = 0
  const latencies: number[] = []
  return new Promise((resolveRun, reject) => {
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: SECONDS,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: `/api/v1/ingest?token=${token}`,
            headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': BROWSER_USER_AGENT, origin: 'https://shop.example.com' },
            body,
            setupRequest: (request) => ({ ...request, body: parts.join(`${prefix}${(sequence++).toString(36)}`) }),
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)))
        latencies.sort((a, b) => a - b)
        const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN
        const events = Math.max(1, result['2xx'] * EVENTS_PER_REQUEST)
        resolveRun({
          eventsPerSecond: (result['2xx'] * EVENTS_PER_REQUEST) / result.duration,
          relayCpuPerEventUs: ((cpuSeconds(pids.relay) - cpuBefore.relay) / events) * 1e6,
          serverCpuPerEventUs: ((cpuSeconds(pids.server) - cpuBefore.server) / events) * 1e6,
          p50: at(0.5),
          p99: at(0.99),
          non2xx: result.non2xx,
          errors: result.errors,
        })
      },
    )
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime))
  })
}

function describeMachine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

await main()

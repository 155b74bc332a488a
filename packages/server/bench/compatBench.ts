/**
 * Translation cost of the foreign intakes (issue 9, "Benchmark"): events/s stored, latency and server CPU per
 * event for what unmodified Datadog and Sentry browser SDKs post, next to Tacit's own protocol, through the full
 * pipeline of one real `tacit serve` (translation, Tacit's decoder, the privacy pipeline, commit before answer).
 *
 *   npm run bench:compat [-- --seconds 10 --rounds 3 --connections 8 --warmup 2]
 *
 * Five targets, alternating in every round so drift on a shared machine hits all alike:
 * - native: `/api/v1/ingest`, the ingest benchmark's 25-event batch (createBenchPayloads.ts);
 * - datadog: one `@datadog/browser-rum` 7.16 batch of the same mix (views, resources, actions, long tasks, errors,
 *   a custom duration vital; the ended view brings its Web Vitals), built from the captured lines in
 *   test/fixtures/datadog/, posted as the SDK posts through its `proxy` option (`?ddforward=…`, text/plain);
 * - datadog deflate: the same batch as `compressIntakeRequests: true` sends it (`dd-evp-encoding=deflate`),
 *   compressed before the run so the load generator spends nothing on it;
 * - native 1 error: one error event per request to `/api/v1/ingest` (the ingest benchmark's `single` event), the
 *   reference for Sentry: what one event per request costs without any translation;
 * - sentry: the `@sentry/browser` 11 envelope of an uncaught error (test/fixtures/sentry/browser-06-event), one
 *   event per request, as the SDK sends it.
 * Every request gets ids of its own (views, Datadog event ids, Sentry event ids) and current timestamps.
 *
 * The server, the load generator and anything else share this machine's cores. Server CPU per event, read from
 * /proc, is the steadier figure. After each run, the server's /metrics must show that every acknowledged event
 * was stored and none dropped.
 */
import autocannon from 'autocannon'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { deflateSync } from 'node:zlib'
import { translateDatadogEvent } from '../src/compat/datadog/translateDatadogEvent.js'
import { BROWSER_USER_AGENT, batchEvents, ID_PLACEHOLDER, ndjson, singleErrorEvent } from './createBenchPayloads.js'
import { settled, startBenchServer } from './startBenchServer.js'

const BIN = resolve(import.meta.dirname, '../bin/tacit.js')
const FIXTURES = resolve(import.meta.dirname, '../test/fixtures')
const { values } = parseArgs({ options: { seconds: { type: 'string' }, rounds: { type: 'string' }, connections: { type: 'string' }, warmup: { type: 'string' } } })
const SECONDS = Number(values.seconds ?? 10)
/** Seconds of each target before the first round, not measured: JIT and caches warm for all alike. */
const WARMUP_SECONDS = Number(values.warmup ?? 2)
const ROUNDS = Number(values.rounds ?? 3)
const CONNECTIONS = Number(values.connections ?? 8)
/** The Sentry DSN's project: the demo app, the one the token belongs to. */
const APP_ID = 1
const ORIGIN = 'https://shop.example.com'

type Json = Record<string, unknown>

/** One kind of traffic: how to make each request, and what the server should store for it. */
interface Target {
  name: TargetName
  /** The route pattern /metrics counts its answers under. */
  route: string
  eventsPerRequest: number
  contentType: string
  /** Called once before each run: a fresh request maker (current timestamps, a new id prefix). */
  prepare(expectedRequests: number): () => { path: string; body: string | Buffer }
}

const TARGET_NAMES = ['native', 'datadog', 'datadog deflate', 'native 1 error', 'sentry'] as const
type TargetName = (typeof TARGET_NAMES)[number]

interface Run {
  eventsPerSecond: number
  requestsPerSecond: number
  serverCpuPerEventUs: number
  /** This process's CPU (autocannon, building the requests) per event sent. */
  loadCpuPerEventUs: number
  /** CPU used by every other process of the machine during the run, in % of one core. */
  otherCpuPercent: number
  p50: number
  p99: number
  responses2xx: number
  non2xx: number
  errors: number
  /** Requests sent but not answered when the run ended: the server may still have stored them. */
  inFlightAtStop: number
}

interface Counts {
  accepted: number
  dropped: number
  /** tacit_http_requests_total by `<route> <status>`. */
  requests: Record<string, number>
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-compat-bench-'))
  const server = await startBenchServer({ binPath: BIN, dataDir: join(dir, 'data'), extraArgs: ['--ip-rate-limit', '0', '--token-rate-limit', '0'] })
  const failures: string[] = []
  try {
    const targets = createTargets(server.token)
    console.log(
      `BENCH compat on ${describeMachine()}; ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} round(s); events per request: ` +
        TARGET_NAMES.map((name) => `${name} ${targets[name].eventsPerRequest}`).join(', '),
    )
    const sample = (name: TargetName) => targets[name].prepare(1)().body
    console.log(
      `  request bodies: native ${kb(sample('native'))}, datadog ${kb(sample('datadog'))} (${datadogBatchLines().length} NDJSON lines), ` +
        `deflated ${kb(sample('datadog deflate'))}, native 1 error ${kb(sample('native 1 error'))}, sentry ${kb(sample('sentry'))}`,
    )

    // One request of each first: the server must store exactly what the bench expects, and drop nothing.
    for (const name of TARGET_NAMES) {
      const before = await settledCounts(server.url)
      const { path, body } = targets[name].prepare(1)()
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': targets[name].contentType, 'user-agent': BROWSER_USER_AGENT, origin: ORIGIN },
        body,
      })
      const after = await settledCounts(server.url)
      const accepted = after.accepted - before.accepted
      const dropped = after.dropped - before.dropped
      if (!response.ok || accepted !== targets[name].eventsPerRequest || dropped !== 0) {
        throw new Error(`${name}: one request was answered ${response.status} (${await response.text()}), ${accepted} events stored and ${dropped} dropped; expected ${targets[name].eventsPerRequest} stored`)
      }
    }

    for (const name of WARMUP_SECONDS > 0 ? TARGET_NAMES : []) {
      await load(server.url, server.pid, targets[name], targets[name].prepare(4000), WARMUP_SECONDS)
    }

    const results = Object.fromEntries(TARGET_NAMES.map((name) => [name, [] as Run[]])) as Record<TargetName, Run[]>
    const start = await settledCounts(server.url)
    for (let round = 1; round <= ROUNDS; round++) {
      for (const name of TARGET_NAMES) {
        const target = targets[name]
        // Deflated bodies are made before the run: enough for the plain Datadog rate, with room to spare.
        const plain = results.datadog.at(-1)
        const expectedRequests = Math.ceil((plain ? plain.requestsPerSecond : 2000) * SECONDS * 1.5) + 100
        const before = await settledCounts(server.url)
        const run = await load(server.url, server.pid, target, target.prepare(expectedRequests), SECONDS)
        const after = await settledCounts(server.url)
        results[name].push(run)
        const runFailures = checkRun(target, run, before, after)
        failures.push(...runFailures.map((failure) => `round ${round} ${name}: ${failure}`))
        console.log(
          `  round ${round} ${name.padEnd(15)} ${fmt(run.eventsPerSecond).padStart(7)} events/s ${fmt(run.requestsPerSecond).padStart(6)} req/s  ` +
            `p50 ${run.p50.toFixed(1)} ms  p99 ${run.p99.toFixed(1)} ms  CPU per event: server ${run.serverCpuPerEventUs.toFixed(1)} µs, ` +
            `load generator ${run.loadCpuPerEventUs.toFixed(1)} µs  other processes ${Math.round(run.otherCpuPercent)} %  ` +
            `non-2xx ${run.non2xx}  errors ${run.errors}${runFailures.length ? '  FAILED' : ''}`,
        )
      }
    }

    // The whole run: what the load generator saw acknowledged against the server's own count of stored events.
    const end = await settledCounts(server.url)
    const acknowledged = TARGET_NAMES.reduce((sum, name) => sum + results[name].reduce((s, r) => s + r.responses2xx * targets[name].eventsPerRequest, 0), 0)
    const inFlight = TARGET_NAMES.reduce((sum, name) => sum + results[name].reduce((s, r) => s + r.inFlightAtStop * targets[name].eventsPerRequest, 0), 0)
    const stored = end.accepted - start.accepted
    const dropped = end.dropped - start.dropped
    if (stored < acknowledged || stored > acknowledged + inFlight) failures.push(`${fmt(acknowledged)} events acknowledged, ${fmt(stored)} stored (${fmt(inFlight)} in flight at the deadlines)`)
    if (dropped > 0) failures.push(`${fmt(dropped)} events dropped`)
    if (server.problems.length > 0) failures.push(`the server logged: ${server.problems.slice(0, 3).join(' | ')}`)

    const mean = (runs: Run[], key: keyof Run) => runs.reduce((sum, run) => sum + run[key], 0) / runs.length
    const nativeEps = mean(results.native, 'eventsPerSecond')
    const nativeCpu = mean(results.native, 'serverCpuPerEventUs')
    for (const name of TARGET_NAMES) {
      const runs = results[name]
      const eps = mean(runs, 'eventsPerSecond')
      const cpu = mean(runs, 'serverCpuPerEventUs')
      const spread = Math.max(...runs.map((r) => Math.abs(r.eventsPerSecond / eps - 1)))
      console.log(
        `BENCH compat ${name}: ${fmt(eps)} events/s (${(eps / nativeEps).toFixed(2)} × native, ±${Math.round(spread * 100)} % over rounds), ` +
          `${fmt(mean(runs, 'requestsPerSecond'))} requests/s, p50 ${mean(runs, 'p50').toFixed(1)} ms, p99 ${mean(runs, 'p99').toFixed(1)} ms, ` +
          `server CPU ${cpu.toFixed(1)} µs/event (${(cpu / nativeCpu).toFixed(2)} × native), load generator CPU ${mean(runs, 'loadCpuPerEventUs').toFixed(1)} µs/event`,
      )
    }
    console.log(
      `BENCH compat integrity: ${fmt(acknowledged)} events acknowledged with 2xx, ${fmt(stored)} stored by the server's count ` +
        `(tacit_events_accepted_total; ${fmt(inFlight)} in flight at the deadlines), ${fmt(dropped)} dropped: ` +
        (failures.length === 0 ? 'ok' : `${failures.length} FAILURES`),
    )
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
    for (const failure of failures) console.error(`  FAILED ${failure}`)
    if (failures.length > 0) process.exitCode = 1
  }
}

function createTargets(token: string): Record<TargetName, Target> {
  const nativeEvents = batchEvents(0).length
  const datadogLines = datadogBatchLines()
  const datadogEvents = datadogLines.reduce((sum, line) => sum + translateDatadogEvent(line, { tags: {} }).filter((t) => 'event' in t).length, 0)
  return {
    native: {
      name: 'native',
      route: '/api/v1/ingest',
      eventsPerRequest: nativeEvents,
      contentType: 'text/plain;charset=UTF-8',
      prepare() {
        const next = uniqueIds('native')
        const parts = ndjson(batchEvents(Date.now())).split(ID_PLACEHOLDER)
        return () => ({ path: `/api/v1/ingest?token=${token}`, body: parts.join(next()) })
      },
    },
    datadog: {
      name: 'datadog',
      route: '/api/compat/datadog',
      eventsPerRequest: datadogEvents,
      contentType: 'text/plain;charset=UTF-8',
      prepare() {
        const next = uniqueIds('dd')
        const parts = datadogNdjson(datadogLines, Date.now()).split(ID_PLACEHOLDER)
        return () => ({ path: datadogPath(token, false), body: parts.join(next()) })
      },
    },
    'datadog deflate': {
      name: 'datadog deflate',
      route: '/api/compat/datadog',
      eventsPerRequest: datadogEvents,
      // What the SDK's compression worker posts: a Blob without charset.
      contentType: 'text/plain',
      prepare(expectedRequests) {
        const next = uniqueIds('ddz')
        const parts = datadogNdjson(datadogLines, Date.now()).split(ID_PLACEHOLDER)
        const pool = Array.from({ length: expectedRequests }, () => deflateSync(parts.join(next())))
        let used = 0
        return () => {
          // Past the pool (a faster run than the estimate), bodies are compressed here, on the load generator's CPU.
          if (used === pool.length) console.log(`  note: the ${pool.length} deflated bodies made ahead ran out; the rest are compressed on the load generator`)
          const body = used < pool.length ? pool[used]! : deflateSync(parts.join(next()))
          pool[used++] = Buffer.alloc(0)
          return { path: datadogPath(token, true), body }
        }
      },
    },
    'native 1 error': {
      name: 'native 1 error',
      route: '/api/v1/ingest',
      eventsPerRequest: singleErrorEvent(0).length,
      contentType: 'text/plain;charset=UTF-8',
      prepare() {
        const next = uniqueIds('native1')
        const parts = ndjson(singleErrorEvent(Date.now())).split(ID_PLACEHOLDER)
        return () => ({ path: `/api/v1/ingest?token=${token}`, body: parts.join(next()) })
      },
    },
    sentry: {
      name: 'sentry',
      route: '/api/:project/envelope/',
      eventsPerRequest: 1,
      contentType: 'text/plain;charset=UTF-8',
      prepare() {
        const prefix = randomBytes(8).toString('hex')
        let sequence = 0
        const parts = sentryEnvelope(token, Date.now()).split(ID_PLACEHOLDER)
        const path = `/api/${APP_ID}/envelope/?sentry_version=7&sentry_key=${token}&sentry_client=sentry.javascript.browser%2F11.12.0`
        return () => ({ path, body: parts.join(`${prefix}${(sequence++).toString(16).padStart(16, '0')}`) })
      },
    },
  }
}

/** Ids unique to each request (and run), as the ingest benchmark makes them. */
function uniqueIds(label: string): () => string {
  const prefix = `${label}-${Date.now().toString(36)}-`
  let sequence = 0
  return () => `${prefix}${(sequence++).toString(36)}`
}

/** The intake query as @datadog/browser-rum 7.16 builds it (rum-fetch.requests.ndjson), with a fresh request id. */
function datadogPath(token: string, deflate: boolean): string {
  const forward =
    `/api/v2/rum?ddsource=browser&dd-api-key=${token}&dd-evp-origin-version=7.16.2&dd-evp-origin=browser&dd-request-id=${randomUUID()}` +
    `${deflate ? '&dd-evp-encoding=deflate' : ''}&batch_time=${Date.now()}&_dd.api=fetch`
  return `/api/compat/datadog?ddforward=${encodeURIComponent(forward)}`
}

/**
 * The native batch's mix in Datadog's own events, picked from the lines the real SDK sent (README of
 * test/fixtures/datadog/): 7 resources, 2 long tasks, 6 actions (clicks and a custom one), 2 errors, a duration
 * vital, the `/cart` view the route change ended (with its 5 Web Vitals) and the still-active `/checkout` view.
 * Repeated lines (two clicks) are separate events: every view and event id is replaced per request.
 */
function datadogBatchLines(): Json[] {
  const lines = ['rum-fetch', 'rum-beacon'].flatMap((file) =>
    readFileSync(join(FIXTURES, 'datadog', `${file}.requests.ndjson`), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((request) => (JSON.parse(request) as { body: string }).body.split('\n'))
      .map((line) => JSON.parse(line) as Json),
  )
  const cart = lines.find((e) => e.type === 'view' && (e.view as Json).is_active === false)
  const cartViewId = (cart?.view as Json | undefined)?.id
  const checkout = lines.find((e) => e.type === 'view' && (e.view as Json).id !== cartViewId)
  if (!cart || !checkout) throw new Error('the Datadog fixtures no longer hold an ended view and a second view')
  const checkoutViewId = (checkout.view as Json).id
  const on = (viewId: unknown, test: (e: Json) => boolean) => lines.filter((e) => (e.view as Json).id === viewId && test(e))
  const ofType = (type: string) => (e: Json) => e.type === type
  const clicks = on(cartViewId, (e) => e.type === 'action' && (e.action as Json).type === 'click')
  const picked = [
    ...on(cartViewId, ofType('resource')).slice(0, 6),
    ...on(cartViewId, ofType('long_task')).slice(0, 2),
    ...clicks,
    ...clicks,
    ...on(cartViewId, (e) => e.type === 'action' && (e.action as Json).type === 'custom'),
    ...on(cartViewId, ofType('error')).slice(0, 2),
    ...on(cartViewId, (e) => e.type === 'vital' && (e.vital as Json).type === 'duration'),
    cart,
    ...on(checkoutViewId, ofType('resource')).slice(0, 1),
    ...on(checkoutViewId, (e) => e.type === 'action').slice(0, 1),
    checkout,
  ]
  return picked.map((event, index) => {
    const copy = structuredClone(event)
    const view = copy.view as Json
    view.id = `${ID_PLACEHOLDER}-v${view.id === cartViewId ? 0 : 1}`
    const own = copy[String(copy.type)] as Json | undefined
    if (own && typeof own.id === 'string') own.id = `${ID_PLACEHOLDER}-e${index}`
    return copy
  })
}

/** The batch's NDJSON with its dates moved to the last minute, and the capture's page origin made the shop's. */
function datadogNdjson(lines: readonly Json[], now: number): string {
  const first = Math.min(...lines.map((e) => e.date as number))
  return lines
    .map((e) => JSON.stringify({ ...e, date: now - 60_000 + ((e.date as number) - first) }))
    .join('\n')
    .replaceAll(/http:\/\/localhost:\d+/g, ORIGIN)
}

/** The browser SDK's envelope of an uncaught TypeError, with the bench's key, a current time and `[<id>]` for its event id. */
function sentryEnvelope(token: string, now: number): string {
  const [header, itemHeader, payload] = readFileSync(join(FIXTURES, 'sentry', 'browser-06-event.envelope'), 'utf8').split('\n') as [string, string, string]
  const envelope = JSON.parse(header) as Json & { trace: Json }
  const event = JSON.parse(payload) as Json & { breadcrumbs?: Array<Json> }
  const shift = now / 1000 - (event.timestamp as number)
  for (const crumb of event.breadcrumbs ?? []) if (typeof crumb.timestamp === 'number') crumb.timestamp += shift
  const text = [
    JSON.stringify({ ...envelope, event_id: ID_PLACEHOLDER, sent_at: new Date(now).toISOString(), trace: { ...envelope.trace, public_key: token } }),
    itemHeader,
    JSON.stringify({ ...event, event_id: ID_PLACEHOLDER, timestamp: now / 1000 }),
  ].join('\n')
  return text.replaceAll(/http:\/\/localhost:\d+/g, ORIGIN)
}

/** User and system CPU time a process has used so far, in seconds (/proc/<pid>/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Busy CPU time of the whole machine so far, in seconds (/proc/stat: every state but idle and iowait). */
function machineCpuSeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks
  return (user + nice + system + irq + softirq + steal) / 100
}

function load(url: string, serverPid: number, target: Target, next: () => { path: string; body: string | Buffer }, seconds: number): Promise<Run> {
  const first = next()
  const latencies: number[] = []
  const cpuBefore = cpuSeconds(serverPid)
  const loadCpuBefore = process.cpuUsage()
  const machineBefore = machineCpuSeconds()
  return new Promise((resolveRun, reject) => {
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: first.path,
            headers: { 'content-type': target.contentType, 'user-agent': BROWSER_USER_AGENT, origin: ORIGIN },
            body: first.body,
            setupRequest: (request) => ({ ...request, ...next() }),
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)))
        const serverCpu = cpuSeconds(serverPid) - cpuBefore
        const loadCpu = process.cpuUsage(loadCpuBefore)
        const otherCpu = machineCpuSeconds() - machineBefore - serverCpu - (loadCpu.user + loadCpu.system) / 1e6
        latencies.sort((a, b) => a - b)
        const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN
        const stored = result['2xx'] * target.eventsPerRequest
        const events = Math.max(1, stored)
        resolveRun({
          eventsPerSecond: stored / result.duration,
          requestsPerSecond: result['2xx'] / result.duration,
          serverCpuPerEventUs: (serverCpu / events) * 1e6,
          loadCpuPerEventUs: (loadCpu.user + loadCpu.system) / events,
          otherCpuPercent: Math.max(0, (otherCpu / result.duration) * 100),
          p50: at(0.5),
          p99: at(0.99),
          responses2xx: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          inFlightAtStop: Math.max(0, result.requests.sent - latencies.length - result.errors),
        })
      },
    )
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime))
  })
}

/** This run's answers against the server's own counters: every 2xx stored in full, nothing refused or dropped. */
function checkRun(target: Target, run: Run, before: Counts, after: Counts): string[] {
  const failures: string[] = []
  const n = target.eventsPerRequest
  const delta = (key: string) => (after.requests[key] ?? 0) - (before.requests[key] ?? 0)
  const statuses = new Set(Object.keys(after.requests).filter((key) => key.startsWith(`${target.route} `)))
  let served2xx = 0
  for (const key of statuses) {
    const count = delta(key)
    if (/ 2\d\d$/.test(key)) served2xx += count
    else if (count > 0) failures.push(`the server answered ${count} × ${key.slice(target.route.length + 1)}`)
  }
  if (run.non2xx > 0 || run.errors > 0) failures.push(`${run.non2xx} answers were not 2xx, ${run.errors} connection errors`)
  if (run.responses2xx === 0) failures.push('no request was answered with 2xx')
  if (served2xx < run.responses2xx || served2xx > run.responses2xx + run.inFlightAtStop) {
    failures.push(`the server sent ${served2xx} × 2xx, the load generator received ${run.responses2xx} with ${run.inFlightAtStop} in flight at its deadline`)
  }
  // A request abandoned at the deadline may still be committed after its connection is gone (no answer is
  // counted for it then): stored without an answer is allowed, up to the requests in flight.
  const accepted = after.accepted - before.accepted
  const unanswered = accepted - served2xx * n
  if (unanswered < 0 || unanswered > run.inFlightAtStop * n) {
    failures.push(`the server answered ${served2xx} × 2xx × ${n} events and counted ${accepted} stored (${run.inFlightAtStop} requests in flight at the deadline)`)
  }
  if (after.dropped > before.dropped) failures.push(`${after.dropped - before.dropped} events dropped`)
  return failures
}

/** The server's counters once settled. */
function settledCounts(url: string): Promise<Counts> {
  return settled(async () => parseMetrics(await (await fetch(`${url}/metrics`)).text()))
}

function parseMetrics(text: string): Counts {
  const counts: Counts = { accepted: 0, dropped: 0, requests: {} }
  for (const line of text.split('\n')) {
    const match = /^(tacit_\w+)\{([^}]*)\} (\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/.exec(line)
    if (!match) continue
    const [, name, rawLabels, rawValue] = match as unknown as [string, string, string, string]
    const labels = Object.fromEntries([...rawLabels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    const value = Number(rawValue)
    if (name === 'tacit_events_accepted_total') counts.accepted += value
    if (name === 'tacit_events_dropped_total') counts.dropped += value
    if (name === 'tacit_http_requests_total' && labels.route !== '/metrics') counts.requests[`${labels.route} ${labels.status}`] = value
  }
  return counts
}

function describeMachine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

function kb(body: string | Buffer): string {
  return `${(Buffer.byteLength(body) / 1024).toFixed(1)} KB`
}

await main()

/**
 * Browser SDK benchmark (issue 4's size and overhead budgets), against the peers a site would otherwise
 * install, in one run:
 *
 * 1. sizes: each SDK bundled from the tiny entry a site writes (benchVariants.ts) with esbuild (minified,
 *    ESM, ES2020; Tacit from its published `dist`), gzip -9; the ratio is to Tacit's full bundle;
 * 2. main-thread cost in Chromium: a page with one handled and one uncaught error, loaded BENCH_LOADS
 *    times per variant (interleaved), CDP `Performance.getMetrics` after load + settle + forced GC;
 *    medians, and the difference to the same page without an SDK;
 * 3. timers fired while the page sits idle (no periodic work while idle).
 *
 * The last line is stable for scripts: `BENCH browser {"sizes":{…},"main_thread":{…},"idle_timers":{…},…}`.
 * The enforcing size check is `npm run size`; this one reports.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { cpus, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { env } from 'node:process'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext } from 'playwright-core'
import { BENCH_VARIANTS, type BenchVariant } from './benchVariants.js'
import { buildBundle, type Bundle } from './buildBundle.js'
import { countIdleTimers, type IdleTimers } from './countIdleTimers.js'
import { measurePageLoad, type PageMetrics } from './measurePageLoad.js'
import { startPageServer } from './startPageServer.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')
const CHROMIUM = '/usr/bin/chromium'
const LOADS = numberFromEnv('BENCH_LOADS', 7, 1)
const SETTLE_MS = numberFromEnv('BENCH_SETTLE_MS', 500, 0)
const IDLE_SECONDS = numberFromEnv('BENCH_IDLE_SECONDS', 12, 1)
const QUIET_WAIT_SECONDS = numberFromEnv('BENCH_QUIET_WAIT_SECONDS', 60, 0)
const BUSY_PERCENT = 10
const BUDGET = { fullGzip: 8192, errorsGzip: 3072, scriptMs: 5, heapMb: 0.2 }

interface Row {
  variant: BenchVariant
  version: string
  bundle?: Bundle
  /** Why the bundle could not be built (Tacit while its sources are being written). */
  buildError?: string
}

async function main(): Promise<void> {
  const machine = describeMachine()
  const workDir = mkdtempSync(join(tmpdir(), 'tacit-bench-browser-'))
  try {
    const rows = await buildAll(workDir)
    const tacit = rows.find((r) => r.variant.key === 'tacit')?.bundle

    const served = rows.filter((r) => r.variant.inPage && (r.bundle || !r.variant.entry))
    const server = await startPageServer(
      new Map(served.map((r) => [r.variant.key, r.bundle ? { dir: join(workDir, r.variant.key), entryFile: r.bundle.entryFile } : undefined])),
      new Map(served.flatMap((r) => (r.variant.sinkStatus ? [[r.variant.key, r.variant.sinkStatus]] : []))),
    )
    const profileDir = mkdtempSync(join(tmpdir(), 'tacit-bench-chromium-'))
    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    try {
      const chromiumVersion = context.browser()?.version() ?? 'unknown'
      console.log(`Tacit browser SDK benchmark — ${machine}, Chromium ${chromiumVersion}, commit ${gitCommit()}`)
      printSizes(rows, tacit)

      const busy = await waitForQuietMachine()
      console.log(`\nMain-thread cost: ${LOADS} loads per variant, interleaved, after 1 warm-up each; load + ${SETTLE_MS} ms + GC (machine ${busy} % busy before the run)`)
      const loads = await measureAll(context, server.origin, served)
      const mainThread = summarize(served, loads)
      printMainThread(mainThread)

      console.log(`\nIdle timers: each page loaded, ${SETTLE_MS} ms settle, then ${IDLE_SECONDS} s idle, timer callbacks counted`)
      const idleSpecs = served
        .filter((r) => r.variant.entry)
        .flatMap((r) => [
          { key: r.variant.key, url: `${server.origin}/v/${r.variant.key}/`, flushFirst: false },
          ...(r.variant.key.startsWith('tacit') ? [{ key: `${r.variant.key}_flushed`, url: `${server.origin}/v/${r.variant.key}/`, flushFirst: true }] : []),
        ])
      const idle = await countIdleTimers(context, idleSpecs, SETTLE_MS, IDLE_SECONDS)
      printIdle(idle)

      // Each page load has its own SDK instance, so a request carrying the uncaught error is one page that
      // reported it. Tabs are closed, not navigated away from, and a beacon sent on close may be lost.
      console.log('\nSent to the loopback sink over the whole run:')
      console.log('  variant        pages  requests        bytes   requests with the uncaught error')
      for (const [key, sent] of [...server.sent].sort()) {
        const pages = LOADS + 1 + idleSpecs.filter((spec) => spec.url.endsWith(`/v/${key}/`)).length
        console.log(`  ${key.padEnd(14)} ${String(pages).padStart(5)} ${String(sent.requests).padStart(9)} ${fmt(sent.bytes).padStart(12)}   ${sent.uncaught}`)
      }

      const verdicts = budgets(rows, mainThread, idle)
      console.log('\nBudgets (issue 4; the enforcing size check is `npm run size`):')
      for (const v of verdicts) console.log(`  ${v.verdict.padEnd(4)}  ${v.text}`)

      const json = {
        date: new Date().toISOString().slice(0, 10),
        machine,
        chromium: chromiumVersion,
        commit: gitCommit(),
        loads: LOADS,
        settle_ms: SETTLE_MS,
        idle_s: IDLE_SECONDS,
        busy_pct_before: busy,
        sizes: Object.fromEntries(
          rows
            .filter((r) => r.variant.entry)
            .map((r) => [
              r.variant.key,
              r.bundle
                ? { pkg: r.variant.pkg, version: r.version, min: r.bundle.min, gzip: r.bundle.gzip, total_min: r.bundle.totalMin, total_gzip: r.bundle.totalGzip, ratio: tacit ? round(r.bundle.gzip / tacit.gzip, 2) : null }
                : { pkg: r.variant.pkg, version: r.version, error: r.buildError },
            ]),
        ),
        main_thread: Object.fromEntries(
          mainThread.map((m) => [
            m.key,
            {
              script_ms: round(m.scriptMs, 2),
              task_ms: round(m.taskMs, 2),
              heap_mb: round(m.heapMb, 3),
              ...(m.key === 'baseline'
                ? {}
                : { added_script_ms: round(m.addedScriptMs, 2), added_task_ms: round(m.addedTaskMs, 2), added_heap_mb: round(m.addedHeapMb, 3), ratio_script: m.ratioScript, ratio_heap: m.ratioHeap }),
              ...(m.invalid ? { invalid: m.invalid } : {}),
            },
          ]),
        ),
        idle_timers: Object.fromEntries([...idle].map(([key, t]) => [key, t.count])),
        sent: Object.fromEntries(server.sent),
        budgets: Object.fromEntries(verdicts.map((v) => [v.key, v.verdict])),
      }
      console.log(`BENCH browser ${JSON.stringify(json)}`)
    } finally {
      await context.close()
      await server.close()
      rmSync(profileDir, { recursive: true, force: true })
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
}

async function buildAll(workDir: string): Promise<Row[]> {
  const rows: Row[] = []
  for (const variant of BENCH_VARIANTS) {
    const version = variant.pkg ? packageVersion(variant.pkg) : ''
    if (!variant.entry) {
      rows.push({ variant, version })
      continue
    }
    try {
      rows.push({ variant, version, bundle: await buildBundle(variant.entry, ROOT, join(workDir, variant.key)) })
    } catch (error) {
      rows.push({ variant, version, buildError: String((error as Error).message ?? error).split('\n').slice(0, 3).join(' ') })
    }
  }
  return rows
}

function printSizes(rows: Row[], tacit: Bundle | undefined): void {
  console.log('\nSizes: esbuild bundle + minify, ESM, browser, ES2020 (Tacit: its published dist bundles); gzip -9; "start" = what loads at init, "all" adds chunks loaded later with import()')
  console.log('  package                    version     min start   gzip start    gzip all   ratio to Tacit (gzip start)')
  for (const row of rows) {
    if (!row.variant.entry) continue
    const name = row.variant.pkg.padEnd(26)
    if (!row.bundle) {
      console.log(`  ${name} ${row.version.padEnd(9)}   not built: ${row.buildError}`)
      continue
    }
    const b = row.bundle
    const ratio = tacit ? `${(b.gzip / tacit.gzip).toFixed(2)} ×` : '—'
    console.log(`  ${name} ${row.version.padEnd(9)} ${fmt(b.min).padStart(9)} B ${fmt(b.gzip).padStart(9)} B ${fmt(b.totalGzip).padStart(9)} B   ${ratio}`)
  }
}

/**
 * One warm-up load per variant (Chromium's own first-use costs, discarded), then LOADS rounds; each round
 * loads every variant once, starting from a different one, so drift on the machine spreads over all.
 */
async function measureAll(context: BrowserContext, origin: string, rows: Row[]): Promise<Map<string, PageMetrics[]>> {
  const loads = new Map<string, PageMetrics[]>(rows.map((r) => [r.variant.key, []]))
  for (const row of rows) await measurePageLoad(context, `${origin}/v/${row.variant.key}/`, SETTLE_MS)
  for (let round = 0; round < LOADS; round++) {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[(round + i) % rows.length] as Row
      loads.get(row.variant.key)?.push(await measurePageLoad(context, `${origin}/v/${row.variant.key}/`, SETTLE_MS))
    }
  }
  return loads
}

interface MainThreadRow {
  key: string
  scriptMs: number
  taskMs: number
  heapMb: number
  scriptRange: [number, number]
  addedScriptMs: number
  addedTaskMs: number
  addedHeapMb: number
  ratioScript: number | null
  ratioHeap: number | null
  invalid?: string
}

function summarize(rows: Row[], loads: Map<string, PageMetrics[]>): MainThreadRow[] {
  const med = (key: string, pick: (m: PageMetrics) => number) => median((loads.get(key) ?? []).map(pick))
  const base = { script: med('baseline', (m) => m.scriptMs), task: med('baseline', (m) => m.taskMs), heap: med('baseline', (m) => m.heapMb) }
  const added = (key: string) => ({ script: med(key, (m) => m.scriptMs) - base.script, heap: med(key, (m) => m.heapMb) - base.heap })
  const tacitAdded = loads.has('tacit') ? added('tacit') : undefined
  // A ratio to an overhead that is itself within the noise would be meaningless.
  const ratio = (value: number, of: number | undefined, floor: number) => (of !== undefined && of >= floor ? round(value / of, 1) : null)
  return rows.map((row) => {
    const key = row.variant.key
    const ms = loads.get(key) ?? []
    const scripts = ms.map((m) => m.scriptMs)
    const problems = [
      ...(row.variant.entry && ms.some((m) => !m.sdkReady) ? ['the SDK entry did not run'] : []),
      ...new Set(ms.flatMap((m) => m.unexpectedErrors)),
    ]
    const a = added(key)
    return {
      key,
      scriptMs: med(key, (m) => m.scriptMs),
      taskMs: med(key, (m) => m.taskMs),
      heapMb: med(key, (m) => m.heapMb),
      scriptRange: [Math.min(...scripts), Math.max(...scripts)],
      addedScriptMs: a.script,
      addedTaskMs: med(key, (m) => m.taskMs) - base.task,
      addedHeapMb: a.heap,
      ratioScript: ratio(a.script, tacitAdded?.script, 0.5),
      ratioHeap: ratio(a.heap, tacitAdded?.heap, 0.02),
      ...(problems.length > 0 ? { invalid: problems.join('; ') } : {}),
    }
  })
}

function printMainThread(rows: MainThreadRow[]): void {
  console.log('  variant          script ms (min–max)     task ms   heap MB   added: script ms   task ms   heap MB   × Tacit (script, heap)')
  for (const r of rows) {
    const range = `(${r.scriptRange[0].toFixed(1)}–${r.scriptRange[1].toFixed(1)})`
    const head = `  ${r.key.padEnd(14)} ${r.scriptMs.toFixed(2).padStart(8)} ${range.padEnd(14)} ${r.taskMs.toFixed(1).padStart(9)} ${r.heapMb.toFixed(3).padStart(9)}`
    const tail =
      r.key === 'baseline'
        ? ''
        : `   ${signed(r.addedScriptMs, 2).padStart(16)} ${signed(r.addedTaskMs, 1).padStart(9)} ${signed(r.addedHeapMb, 3).padStart(9)}   ${r.ratioScript ?? '—'} ×, ${r.ratioHeap ?? '—'} ×`
    console.log(head + tail + (r.invalid ? `   INVALID: ${r.invalid}` : ''))
  }
}

function printIdle(idle: Map<string, IdleTimers>): void {
  for (const [key, t] of idle) {
    const kinds = Object.entries(t.byKind).map(([kind, n]) => `${kind} ms × ${n}`).join(', ')
    console.log(`  ${key.padEnd(22)} ${String(t.count).padStart(5)}${kinds ? `   (${kinds})` : ''}${t.visible ? '' : '   WARNING: the page was hidden'}`)
  }
}

function budgets(_rows: Row[], mainThread: MainThreadRow[], idle: Map<string, IdleTimers>): Array<{ key: string; verdict: 'PASS' | 'MISS' | 'N/A'; text: string }> {
  // The budgets are on the bundles Tacit publishes (what `npm run size` checks), not on a site's rebuild of them.
  const published = (file: string) => {
    try {
      return gzipSync(readFileSync(join(ROOT, 'packages/browser/dist', file)), { level: 9 }).length
    } catch {
      return undefined
    }
  }
  const tacit = mainThread.find((m) => m.key === 'tacit')
  const full = published('index.js')
  const errors = published('errors.js')
  const flushed = idle.get('tacit_flushed')?.count
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'N/A' : ok ? 'PASS' : 'MISS')
  return [
    { key: 'full_gzip_8kb', verdict: verdict(full === undefined ? undefined : full <= BUDGET.fullGzip), text: `full bundle ≤ ${fmt(BUDGET.fullGzip)} B gzip: ${full === undefined ? 'not built' : `${fmt(full)} B`}` },
    { key: 'errors_gzip_3kb', verdict: verdict(errors === undefined ? undefined : errors <= BUDGET.errorsGzip), text: `errors-only ≤ ${fmt(BUDGET.errorsGzip)} B gzip: ${errors === undefined ? 'not built' : `${fmt(errors)} B`}` },
    { key: 'script_5ms', verdict: verdict(tacit && !tacit.invalid ? tacit.addedScriptMs <= BUDGET.scriptMs : undefined), text: `≤ ${BUDGET.scriptMs} ms script added by the full SDK: ${tacit ? `${signed(tacit.addedScriptMs, 2)} ms` : 'not served'}` },
    { key: 'heap_0_2mb', verdict: verdict(tacit && !tacit.invalid ? tacit.addedHeapMb <= BUDGET.heapMb : undefined), text: `≤ ${BUDGET.heapMb} MB JS heap added by the full SDK: ${tacit ? `${signed(tacit.addedHeapMb, 3)} MB` : 'not served'}` },
    { key: 'idle_timers', verdict: verdict(flushed === undefined ? undefined : flushed === 0), text: `no timers while idle (full SDK, queue flushed): ${flushed ?? 'not served'}` },
  ]
}

/**
 * Chromium's timings are wall-clock time on a main thread that shares two cores with everything else, so
 * a busy machine inflates them: wait (up to BENCH_QUIET_WAIT_SECONDS) for one quiet second, and report
 * how busy the last second served was.
 */
async function waitForQuietMachine(): Promise<number> {
  const deadline = Date.now() + QUIET_WAIT_SECONDS * 1000
  for (;;) {
    const before = machineCpuSeconds()
    await new Promise((r) => setTimeout(r, 1000))
    const busy = Math.round(((machineCpuSeconds() - before) * 100) / cpus().length)
    if (busy <= BUSY_PERCENT || Date.now() > deadline) return busy
  }
}

/** Busy time of all CPUs (everything but idle and iowait), from /proc/stat, in seconds. */
function machineCpuSeconds(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields
  return (user + nice + system + irq + softirq + steal) / 100
}

function packageVersion(pkg: string): string {
  const dir = pkg.startsWith('@tacit/browser') ? join(ROOT, 'packages/browser') : join(ROOT, 'node_modules', pkg)
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
}

/** The commit served, with "+changes" when the SDK's or the bench's sources differ from it. */
function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'packages/browser/src', 'packages/browser/bench'], { cwd: ROOT, encoding: 'utf8' }).trim()
    return changed ? `${head}+changes` : head
  } catch {
    return 'unknown'
  }
}

function describeMachine(): string {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown CPU'
  return `${cpus().length} × ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
}

function median(values: number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function numberFromEnv(name: string, fallback: number, min: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, not "${raw}".`)
  return value
}

function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

function signed(value: number, digits: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

await main()

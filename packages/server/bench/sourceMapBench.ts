/**
 * Source map resolution benchmark (issue 5 budget: ≥ 20,000 frames/s against a cached map).
 *
 * Bundles @sentry/browser with esbuild (--minify --sourcemap) into a temp directory at run time — a realistic
 * few-hundred-KB production bundle with a multi-MB map including sources content — stores the map in a real
 * SQLite store as an upload would, then resolves stacks of 10 frames at mapped positions of the bundle:
 * - `frames_per_s`: resolveFrames on parsed frames, map cached (what the budget is about);
 * - `stack_frames_per_s`: resolveStack on stack strings (parsing included), map cached;
 * - `cold_ms`: the first resolution, which reads, decompresses, parses and indexes the map.
 * Each resolved frame includes its function name and 5+5 lines of source context.
 *
 * The last line is stable for scripts: `BENCH sourcemaps {"frames_per_s":…,…}`.
 * BENCH_SECONDS (default 3) sets the measured time of each scenario.
 */
import { eachMapping, TraceMap } from '@jridgewell/trace-mapping'
import { buildSync } from 'esbuild'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StackFrame } from '../src/errors/parseStack.js'
import { createStackResolver } from '../src/sourcemaps/createStackResolver.js'
import { storeSourceFile } from '../src/sourcemaps/storeSourceFile.js'
import { createSqliteStore } from '../src/store/sqlite/createSqliteStore.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const FRAMES_PER_STACK = 10
const STACKS = 2000
const URL = 'https://cdn.example.com/assets/vendor.8c1f2e.js'

const dir = mkdtempSync(join(tmpdir(), 'tacit-sourcemap-bench-'))
try {
  const entry = join(dir, 'entry.js')
  writeFileSync(entry, "export * from '@sentry/browser'\n")
  const outfile = join(dir, 'assets/vendor.8c1f2e.js')
  buildSync({ entryPoints: [entry], bundle: true, minify: true, sourcemap: true, outfile, format: 'esm', logLevel: 'error', nodePaths: [join(import.meta.dirname, '../../../node_modules')] })
  const bundle = readFileSync(outfile)
  const map = readFileSync(`${outfile}.map`)

  const store = createSqliteStore({ path: join(dir, 'tacit.db') })
  const clock = { now: () => Date.now() }
  const appId = (await store.createApp({ name: 'bench', createdAt: clock.now(), settings: {} })).id
  const release = '1.0.0'
  for (const [name, content] of [['assets/vendor.8c1f2e.js.map', map], ['assets/vendor.8c1f2e.js', bundle]] as const) {
    const stored = await storeSourceFile({ sourceMaps: store.sourceMaps, clock }, { appId, release, name, content })
    if (!stored.ok) throw new Error(stored.message)
  }

  // Generated positions that have a mapping, spread over the bundle, as frames of real errors would be.
  const positions: Array<{ line: number; column: number }> = []
  eachMapping(new TraceMap(map.toString('utf8')), (mapping) => {
    if (mapping.source !== null) positions.push({ line: mapping.generatedLine, column: mapping.generatedColumn + 1 })
  })
  let seed = 42
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const stacks: StackFrame[][] = Array.from({ length: STACKS }, () =>
    Array.from({ length: FRAMES_PER_STACK }, () => ({ function: 'e', file: URL, ...positions[Math.floor(random() * positions.length)]!, inApp: true })),
  )
  const stackStrings = stacks.map((frames) => `TypeError: x is undefined\n${frames.map((f) => `    at ${f.function} (${f.file}:${f.line}:${f.column})`).join('\n')}`)

  const resolver = createStackResolver({ store, clock })
  const coldStart = performance.now()
  const first = await resolver.resolveFrames(appId, release, stacks[0]!)
  const coldMs = performance.now() - coldStart
  const resolvedShare = first.filter((frame) => frame.resolved).length / first.length
  if (resolvedShare < 1) throw new Error(`only ${resolvedShare * 100}% of the frames resolved: ${JSON.stringify(first.find((f) => !f.resolved))}`)

  async function measure(pass: (i: number) => Promise<number>): Promise<number> {
    for (let i = 0; i < 200; i++) await pass(i)
    let frames = 0
    let i = 0
    const start = performance.now()
    const deadline = start + seconds * 1000
    while (performance.now() < deadline) {
      for (let j = 0; j < 100; j++) frames += await pass(i++)
    }
    return frames / ((performance.now() - start) / 1000)
  }

  const framesPerSecond = await measure(async (i) => (await resolver.resolveFrames(appId, release, stacks[i % STACKS]!)).length)
  const stackFramesPerSecond = await measure(async (i) => (await resolver.resolveStack(appId, release, stackStrings[i % STACKS]!)).length)
  await store.close()

  const result = {
    frames_per_s: Math.round(framesPerSecond),
    stack_frames_per_s: Math.round(stackFramesPerSecond),
    cold_ms: Math.round(coldMs * 10) / 10,
    bundle_bytes: bundle.length,
    map_bytes: map.length,
    mapped_positions: positions.length,
    budget_frames_per_s: 20_000,
  }
  console.log(`bundle ${(bundle.length / 1024).toFixed(0)} KB, map ${(map.length / 1024 / 1024).toFixed(1)} MB, ${positions.length} mappings`)
  console.log(`cold: first stack resolved in ${result.cold_ms} ms (read, gunzip, parse, index the map)`)
  console.log(`cached: ${result.frames_per_s} frames/s (resolveFrames), ${result.stack_frames_per_s} frames/s (resolveStack, parsing included); budget ≥ 20000`)
  console.log(`BENCH sourcemaps ${JSON.stringify(result)}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}

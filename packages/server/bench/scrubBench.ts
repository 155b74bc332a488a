/**
 * Scrubbing benchmark: strings/s and MB/s of the default scrubber over the PII corpus (tuning half), a mix
 * of clean strings (most ingest traffic) and planted personal data. The last line is stable for scripts:
 * `BENCH scrub {"strings_per_s":…,"mb_per_s":…,…}`. BENCH_SECONDS (default 3) sets the measured time.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_SCRUB } from '../src/apps/appSettings.js'
import { createScrubber } from '../src/privacy/scrub/createScrubber.js'

const corpusFile = join(dirname(fileURLToPath(import.meta.url)), '../test/fixtures/pii/tuning.jsonl')
const entries = readFileSync(corpusFile, 'utf8')
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => JSON.parse(line) as { field: 'text' | 'url'; text: string })
const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const scrubber = createScrubber({ ...DEFAULT_SCRUB })
const bytesPerPass = entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.text), 0)

function pass(): number {
  let sink = 0
  for (const entry of entries) sink += (entry.field === 'url' ? scrubber.url(entry.text) : scrubber.text(entry.text)).length
  return sink
}

for (let i = 0; i < 20; i++) pass()
let passes = 0
let sink = 0
const start = process.hrtime.bigint()
const deadline = start + BigInt(Math.round(seconds * 1e9))
while (process.hrtime.bigint() < deadline) {
  sink += pass()
  passes++
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e9
const result = {
  strings_per_s: Math.round((passes * entries.length) / elapsed),
  mb_per_s: Number(((passes * bytesPerPass) / elapsed / 1e6).toFixed(1)),
  strings: entries.length,
  avg_bytes: Math.round(bytesPerPass / entries.length),
  seconds: Number(elapsed.toFixed(2)),
  node: process.version,
}
if (sink === 0) console.log('unexpected empty output')
console.log(`BENCH scrub ${JSON.stringify(result)}`)

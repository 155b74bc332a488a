/**
 * Scrubbing benchmark, two scenarios:
 *
 * - strings: strings/s and MB/s of the default scrubber over the PII corpus (tuning half), a mix of clean
 *   strings (most ingest traffic) and planted personal data;
 * - events: µs per event of the `scrubPii` stage over realistic events (an error with a 6-frame stack, a
 *   view with URL and referrer, a resource URL with a query string, an action), as the ingest path runs it.
 *   Events vary (view ids, product ids, query values, line numbers) so repeated identical strings are no
 *   more common than in real traffic, and about one in 16 carries personal data.
 *
 * The last line is stable for scripts: `BENCH scrub {"strings_per_s":…,"mb_per_s":…,"event_us":…,…}`.
 * BENCH_SECONDS (default 3) sets the measured time of each scenario.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_SCRUB, resolveSettings } from '../src/apps/appSettings.js'
import type { RequestContext } from '../src/pipeline/runPipeline.js'
import { scrubPii } from '../src/pipeline/stages/scrubPii.js'
import type { StoredEvent } from '../src/pipeline/storedEvent.js'
import { createScrubber } from '../src/privacy/scrub/createScrubber.js'

const corpusFile = join(dirname(fileURLToPath(import.meta.url)), '../test/fixtures/pii/tuning.jsonl')
const entries = readFileSync(corpusFile, 'utf8')
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => JSON.parse(line) as { field: 'text' | 'url'; text: string })
const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const scrubber = createScrubber({ ...DEFAULT_SCRUB })
const bytesPerPass = entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.text), 0)

/**
 * Runs `pass` for `seconds` after a warm-up and returns how many passes ran and how long they took;
 * `prepare` runs before each pass, untimed.
 */
function measure(pass: () => number, prepare = () => {}): { passes: number; elapsed: number; sink: number } {
  let sink = 0
  for (let i = 0; i < 20; i++) {
    prepare()
    sink += pass()
  }
  let passes = 0
  let elapsed = 0
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
  while (process.hrtime.bigint() < deadline) {
    prepare()
    const start = process.hrtime.bigint()
    sink += pass()
    elapsed += Number(process.hrtime.bigint() - start) / 1e9
    passes++
  }
  return { passes, elapsed, sink }
}

// Scenario 1: corpus strings.
const strings = measure(() => {
  let sink = 0
  for (const entry of entries) sink += (entry.field === 'url' ? scrubber.url(entry.text) : scrubber.text(entry.text)).length
  return sink
})

// Scenario 2: realistic events through the stage. Events are built before each timed pass (the stage
// changes them in place), so only the stage is timed.
const request: RequestContext = {
  appId: 1,
  settings: resolveSettings({}),
  receivedAt: Date.UTC(2026, 0, 5, 12),
  ip: '203.0.113.9',
  userAgent: undefined,
  optOut: false,
  derived: {},
}
const SERVICE = { service: 'shop-web', env: 'production', release: '2026.11.3+b7c91e2' }
const VARIANTS = 256
const hex = (i: number, width: number) => ((i * 2654435761) >>> 0).toString(16).padStart(8, '0').slice(0, width)
const slugs = ['trail-running-shoes-aurora', 'merino-wool-socks', 'rain-shell-jacket', 'hydration-vest', 'headlamp-400']
/** Every 16th variant carries personal data somewhere, as a small share of real traffic does. */
const planted = (i: number) => i % 16 === 15
const pageUrl = (i: number) =>
  `https://shop.example.com/products/${slugs[i % slugs.length]}-${i % 48}?utm_source=newsletter&utm_medium=email` +
  (planted(i) ? `&email=jane.doe${i}%40example.com` : '')

function frames(i: number): string[] {
  return [
    `TypeError: Cannot read properties of undefined (reading '${planted(i) ? `user-${i}@example.org` : 'price'}')`,
    `    at formatCartLine (https://shop.example.com/assets/cart-${hex(i % 7, 6)}.js:2:${18_000 + i})`,
    '    at Array.map (<anonymous>)',
    `    at renderCart (https://shop.example.com/assets/cart-${hex(i % 7, 6)}.js:2:${19_000 + i * 3})`,
    `    at HTMLButtonElement.onAddToCart (https://shop.example.com/assets/product-${hex(i % 5, 6)}.js:1:${7000 + i})`,
    `    at dispatch (https://shop.example.com/assets/vendor-${hex(3, 6)}.js:12:${40_000 + (i % 9)})`,
    `    at HTMLDocument.handle (https://shop.example.com/assets/vendor-${hex(3, 6)}.js:12:${41_200 + (i % 11)})`,
  ]
}

const resourceUrls = (i: number) =>
  [
    `https://shop.example.com/api/recommendations?product=${slugs[i % slugs.length]}-${i % 48}&limit=8`,
    `https://shop.example.com/api/cart?include=lines,totals&v=${hex(i, 8)}`,
    `https://cdn.example.net/images/products/${slugs[i % slugs.length]}-side@2x.webp?w=${320 + (i % 4) * 160}&q=80`,
    `https://shop.example.com/api/search?q=${planted(i) ? `%2B1%20415%20555%20${String(1000 + i).slice(-4)}` : 'trail+shoes'}&page=${1 + (i % 3)}`,
  ][i % 4]!

const actionNames = ['Add to cart', 'Select size 42', 'Open reviews', 'Checkout', 'Apply coupon', 'Close dialog']

function viewRef(i: number) {
  return { id: `b1f4c2d8-${hex(i, 4)}-4a1e-9c3b-${hex(i + 1, 8)}${hex(i + 2, 4)}`, url: pageUrl(i), name: '/products/:slug' }
}

const EVENT_KINDS = {
  error: (i: number) => ({
    type: 'error',
    ts: 0,
    received_at: 0,
    ...SERVICE,
    view: viewRef(i),
    error: { message: frames(i)[0]!.slice('TypeError: '.length), type: 'TypeError', stack: frames(i).join('\n'), handled: false, source: 'source' },
  }),
  view: (i: number) => ({
    type: 'view',
    ts: 0,
    received_at: 0,
    ...SERVICE,
    view: { ...viewRef(i), referrer: i % 3 === 0 ? 'https://www.google.com/' : `https://shop.example.com/collections/running?page=${i % 5}` },
    context: { ab_bucket: 'checkout-v2', plan: 'guest' },
  }),
  resource: (i: number) => ({
    type: 'resource',
    ts: 0,
    received_at: 0,
    ...SERVICE,
    view: viewRef(i),
    resource: { url: resourceUrls(i), type: 'fetch', method: 'GET', duration: 84.3, size: 2314, status_code: 200 },
  }),
  action: (i: number) => ({
    type: 'action',
    ts: 0,
    received_at: 0,
    ...SERVICE,
    view: viewRef(i),
    action: { type: 'click', name: actionNames[i % actionNames.length], duration: 48.2 },
    context: { component: 'ProductDetail', variant: 'aurora' },
  }),
} as const

type Kind = keyof typeof EVENT_KINDS
const eventResults: Record<string, number> = {}
for (const kind of Object.keys(EVENT_KINDS) as Kind[]) {
  const make = EVENT_KINDS[kind]
  // Strings are built once, so building a batch only copies references (as the decoder hands the stage fresh objects).
  const templates = Array.from({ length: VARIANTS }, (_, i) => JSON.stringify(make(i)))
  const parsed = templates.map((template) => JSON.parse(template) as StoredEvent)
  let batch: StoredEvent[] = []
  const result = measure(
    () => {
      let sink = 0
      for (const event of batch) {
        scrubPii.run(event, request)
        sink += event.type.length
      }
      return sink
    },
    () => {
      batch = parsed.map((event) => structuredCloneShallowStrings(event))
    },
  )
  eventResults[kind] = (result.elapsed * 1e6) / (result.passes * VARIANTS)
}

/** A deep copy that keeps the string instances: only objects and arrays are copied. */
function structuredCloneShallowStrings<T>(value: T): T {
  if (Array.isArray(value)) return value.map(structuredCloneShallowStrings) as T
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {}
    for (const key of Object.keys(value)) copy[key] = structuredCloneShallowStrings((value as Record<string, unknown>)[key])
    return copy as T
  }
  return value
}

const eventUs = Object.values(eventResults).reduce((sum, us) => sum + us, 0) / Object.keys(eventResults).length
const format = (us: number) => Number(us.toFixed(2))
console.log(`scrubPii stage, µs per event: ${Object.entries(eventResults).map(([kind, us]) => `${kind} ${format(us)}`).join(', ')}; mean ${format(eventUs)}`)

const result = {
  strings_per_s: Math.round((strings.passes * entries.length) / strings.elapsed),
  mb_per_s: Number(((strings.passes * bytesPerPass) / strings.elapsed / 1e6).toFixed(1)),
  strings: entries.length,
  avg_bytes: Math.round(bytesPerPass / entries.length),
  event_us: format(eventUs),
  event_us_by_type: Object.fromEntries(Object.entries(eventResults).map(([kind, us]) => [kind, format(us)])),
  seconds: Number(strings.elapsed.toFixed(2)),
  node: process.version,
}
if (strings.sink === 0) console.log('unexpected empty output')
console.log(`BENCH scrub ${JSON.stringify(result)}`)

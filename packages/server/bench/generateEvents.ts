import { createHash } from 'node:crypto'
import { utcDay } from '../src/clock.js'
import type { StoredEvent } from '../src/pipeline/storedEvent.js'
import type { IngestBatch } from '../src/store/Store.js'

/**
 * Deterministic synthetic RUM data for the query benchmark and the analytics tests: sessions of several views
 * spread over `days` (busier in the daytime), power-law pages, countries, browsers and resources, vitals and
 * timings from lognormals around realistic medians, actions, long tasks, and errors (about 3 % of events) of a
 * few dozen kinds grouped into issues. Events are already in their stored shape (as after the privacy pipeline),
 * one batch per session. The same seed gives the same events.
 */
export const GENERATOR_VERSION = 1

export interface GenerateOptions {
  appId: number
  seed: number
  /** Stop after about this many events (the last session is completed). */
  events: number
  /** Sessions start within [end − days, end). */
  end: number
  days: number
}

const HOST = 'https://shop.example.com'
const COUNTRIES: Array<[string, number]> = [
  ['US', 30], ['DE', 12], ['GB', 9], ['FR', 8], ['IN', 6], ['CA', 5], ['NL', 4], ['BR', 4], ['JP', 3], ['ES', 3], ['IT', 3], ['AU', 2], ['SE', 2],
  ['PL', 2], ['MX', 2], ['CH', 1], ['BE', 1], ['AT', 1], ['DK', 1], ['NO', 1], ['IE', 1], ['PT', 1], ['SG', 1], ['KR', 1],
]
const DESKTOP: Array<[[string, string], number]> = [[['Chrome', 'Windows'], 40], [['Edge', 'Windows'], 12], [['Chrome', 'macOS'], 18], [['Safari', 'macOS'], 14], [['Firefox', 'Windows'], 8], [['Firefox', 'Linux'], 3], [['Chrome', 'Linux'], 5]]
const MOBILE: Array<[[string, string], number]> = [[['Safari', 'iOS'], 45], [['Chrome', 'Android'], 45], [['Samsung Internet', 'Android'], 7], [['Firefox', 'Android'], 3]]
const DEVICES: Array<['desktop' | 'mobile' | 'tablet', number]> = [['desktop', 55], ['mobile', 40], ['tablet', 5]]
const REFERRERS: Array<[string, number]> = [['', 45], ['https://www.google.com/', 30], ['https://duckduckgo.com/', 4], ['https://www.bing.com/', 4], ['https://news.ycombinator.com/', 3], ['https://t.co/', 3], ['https://www.reddit.com/r/running/', 3], ['https://www.facebook.com/', 4], ['https://mail.example.org/', 4]]
const CAMPAIGNS = ['black-friday', 'newsletter-nov', 'spring-sale', 'retargeting', 'launch-aurora']
const ERROR_KINDS = Array.from({ length: 40 }, (_, i) => ({
  fingerprint: createHash('sha256').update(`kind ${i}`).digest('hex').slice(0, 32),
  title: `${['TypeError', 'ReferenceError', 'Error', 'RangeError'][i % 4]}: synthetic failure ${i} in ${['cart', 'checkout', 'search', 'product', 'account'][i % 5]}`,
}))
const RESOURCE_KINDS: Array<{ type: 'js' | 'css' | 'image' | 'font' | 'fetch' | 'xhr'; median: number }> = [
  { type: 'js', median: 180 }, { type: 'css', median: 90 }, { type: 'image', median: 140 }, { type: 'font', median: 60 }, { type: 'fetch', median: 220 }, { type: 'xhr', median: 260 },
]

/** mulberry32: small, fast and good enough for synthetic data. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function* generateBatches(options: GenerateOptions): Generator<IngestBatch> {
  const random = createRandom(options.seed)
  const pick = <T>(table: Array<[T, number]>): T => {
    const total = table.reduce((sum, [, w]) => sum + w, 0)
    let r = random() * total
    for (const [value, weight] of table) if ((r -= weight) < 0) return value
    return table[table.length - 1]![0]
  }
  /** Zipf-like rank in [0, n): rank k has weight 1/(k+1). */
  const zipf = (n: number) => Math.min(n - 1, Math.floor(Math.exp(random() * Math.log(n + 1)) - 1))
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
  const lognormal = (median: number, sigma: number) => median * Math.exp(sigma * normal())
  const poisson = (mean: number) => {
    let k = 0
    for (let p = Math.exp(-mean), s = p, u = random(); u > s; k++) s += p *= mean / (k + 1)
    return k
  }
  const pages = buildPages()
  const resources = Array.from({ length: 60 }, (_, i) => ({ ...RESOURCE_KINDS[i % RESOURCE_KINDS.length]!, url: resourceUrlOf(i) }))
  const spanMs = options.days * 86_400_000
  const start = options.end - spanMs
  let produced = 0
  for (let session = 0; produced < options.events; session++) {
    // Rejection sampling: the afternoon (UTC) is twice as busy as the night.
    let t = start + random() * spanMs
    while (random() > 0.75 - 0.25 * Math.cos(((t % 86_400_000) / 86_400_000) * 2 * Math.PI)) t = start + random() * spanMs
    const device = pick(DEVICES)
    const [browser, os] = pick(device === 'desktop' ? DESKTOP : MOBILE)
    const common = {
      service: 'shop-web',
      env: random() < 0.95 ? 'production' : 'staging',
      // A release every five days.
      release: `2026.${1 + Math.floor((t - start) / (5 * 86_400_000))}.0`,
      device: { type: device, browser, os },
      geo: { country: pick(COUNTRIES) },
      session: { id: uuidOf(random) },
    }
    const events: StoredEvent[] = []
    const views = 1 + poisson(2.5)
    const referrer = pick(REFERRERS)
    const campaign = random() < 0.1 ? CAMPAIGNS[zipf(CAMPAIGNS.length)] : undefined
    for (let v = 0; v < views && t < options.end; v++) {
      const path = pages[zipf(pages.length)]!
      const url = `${HOST}${path}${v === 0 && campaign ? `?utm_source=mail&utm_campaign=${campaign}` : random() < 0.1 ? '?ref=nav' : ''}`
      const view = { id: `v${options.seed}-${session}-${v}`, url, ...(v === 0 && referrer ? { referrer } : {}) }
      const timeSpent = Math.min(600_000, lognormal(15_000, 1.1))
      const at = (offset: number) => ({ ts: Math.round(t + offset), received_at: Math.round(t + offset + 500) })
      const initial = v === 0
      events.push({
        type: 'view',
        ...at(0),
        ...common,
        view: {
          ...view,
          loading_type: initial ? 'initial_load' : 'route_change',
          version: 3,
          time_spent: Math.round(timeSpent),
          ...(initial
            ? { first_byte: round1(lognormal(300, 0.6)), dom_content_loaded: round1(lognormal(1200, 0.5)), load_event: round1(lognormal(2200, 0.5)) }
            : {}),
        },
      } as StoredEvent)
      const vital = (name: 'LCP' | 'INP' | 'CLS' | 'FCP' | 'TTFB', value: number, offset: number) =>
        events.push({ type: 'vital', ...at(offset), ...common, view, vital: { name, value } } as StoredEvent)
      if (initial) {
        vital('TTFB', round1(lognormal(400, 0.7)), 300)
        vital('FCP', round1(lognormal(1300, 0.55)), 1300)
        vital('LCP', round1(lognormal(2000, 0.6)), 2000)
      }
      vital('CLS', random() < 0.6 ? Math.round(random() * 50) / 1000 : Math.round(lognormal(0.08, 0.9) * 1000) / 1000, timeSpent)
      if (random() < 0.7) vital('INP', round1(lognormal(150, 0.8)), timeSpent)
      for (let r = initial ? 4 + poisson(4) : poisson(2); r > 0; r--) {
        const resource = resources[zipf(resources.length)]!
        events.push({
          type: 'resource',
          ...at(random() * 3000),
          ...common,
          view,
          resource: { url: `${resource.url}${random() < 0.3 ? `?v=${Math.floor(random() * 5)}` : ''}`, type: resource.type, duration: round1(lognormal(resource.median, 0.8)) },
        } as StoredEvent)
      }
      for (let k = poisson(0.8); k > 0; k--) {
        events.push({ type: 'long_task', ...at(random() * timeSpent), ...common, view, long_task: { duration: round1(50 + lognormal(40, 1)) } } as StoredEvent)
      }
      for (let a = poisson(1.5); a > 0; a--) {
        events.push({ type: 'action', ...at(random() * timeSpent), ...common, view, action: { type: 'click', name: ['Add to cart', 'Search', 'Open menu', 'Checkout', 'Next image'][zipf(5)]! } } as StoredEvent)
      }
      if (random() < 0.22) {
        const kind = ERROR_KINDS[zipf(ERROR_KINDS.length)]!
        events.push({ type: 'error', ...at(random() * timeSpent), ...common, view, error: { message: kind.title.slice(kind.title.indexOf(': ') + 2), type: kind.title.slice(0, kind.title.indexOf(':')) }, issue: kind } as StoredEvent)
      }
      t += timeSpent + lognormal(3000, 1)
    }
    produced += events.length
    const received = Math.max(...events.map((e) => e.received_at))
    yield { appId: options.appId, day: utcDay(received), events, dropped: {} }
  }
}

function buildPages(): string[] {
  const pages = ['/', '/collections/running', '/cart', '/checkout', '/search', '/account', '/collections/trail', '/about', '/help/shipping', '/blog']
  for (let i = 0; i < 190; i++) pages.push(`/products/${['trail', 'road', 'track', 'hike'][i % 4]}-${['aurora', 'comet', 'nova', 'zephyr', 'summit'][i % 5]}-${i}`)
  return pages
}

function resourceUrlOf(i: number): string {
  const kinds = ['assets/app', 'assets/vendor', 'assets/styles', 'img/product', 'fonts/inter', 'api/cart', 'api/search']
  const kind = kinds[i % kinds.length]!
  const ext = kind.startsWith('img') ? 'webp' : kind.startsWith('fonts') ? 'woff2' : kind.startsWith('api') ? '' : kind.includes('styles') ? 'css' : 'js'
  const host = kind.startsWith('img') || kind.startsWith('fonts') ? 'https://cdn.example.net' : HOST
  return `${host}/${kind}-${i}${ext ? `.${ext}` : ''}`
}

function uuidOf(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}

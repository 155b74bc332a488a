/**
 * Request bodies for the ingest benchmark: NDJSON as the browser SDK sends it (text/plain, so a browser
 * needs no CORS preflight), with events of realistic shape and size (about 300–800 bytes each).
 *
 * Views are upserted by view id, so every view must have an id of its own or rows would be replaced and
 * the stored count could not be checked. The benchmark replaces every `[<id>]` of a request with one id
 * unique to that request, so a view's id is that id plus its position in the batch.
 */

export const ID_PLACEHOLDER = '[<id>]'

const PAGE = 'https://shop.example.com/products/trail-running-shoes-aurora-42?utm_source=newsletter&utm_medium=email'
const SERVICE = { service: 'shop-web', env: 'production', release: '2026.11.3+b7c91e2' }

export const BROWSER_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36'

const STACK = [
  "TypeError: Cannot read properties of undefined (reading 'price')",
  '    at formatCartLine (https://shop.example.com/assets/cart-8f3a1c.js:2:18433)',
  '    at Array.map (<anonymous>)',
  '    at renderCart (https://shop.example.com/assets/cart-8f3a1c.js:2:19012)',
  '    at HTMLButtonElement.onAddToCart (https://shop.example.com/assets/product-41be9d.js:1:7741)',
].join('\n')

function viewRef(suffix: string): { id: string; url: string; name: string } {
  return { id: `${ID_PLACEHOLDER}-${suffix}`, url: PAGE, name: '/products/:slug' }
}

type Event = Record<string, unknown>

function view(position: number, ts: number): Event {
  return {
    type: 'view',
    ts,
    ...SERVICE,
    view: {
      ...viewRef(`v${position}`),
      referrer: 'https://shop.example.com/collections/running',
      loading_type: position === 0 ? 'initial_load' : 'route_change',
      version: 4,
      time_spent: 18342.5,
      first_byte: 182.4,
      dom_interactive: 640.1,
      dom_content_loaded: 702.9,
      dom_complete: 1404.2,
      load_event: 1450.7,
      action_count: 6,
      error_count: 2,
      resource_count: 48,
      long_task_count: 2,
    },
    context: { ab_bucket: 'checkout-v2', plan: 'guest' },
  }
}

function action(i: number, ts: number): Event {
  const names = ['Add to cart', 'Select size 42', 'Open reviews', 'Checkout', 'Apply coupon', 'Close dialog']
  return {
    type: 'action',
    ts: ts + i * 137,
    ...SERVICE,
    view: viewRef('v0'),
    action: { type: 'click', name: names[i % names.length], duration: 48.2 + i, ...(i === 4 ? { frustration: ['dead_click'] } : {}) },
    context: { component: 'ProductDetail', variant: 'aurora' },
  }
}

function error(i: number, ts: number): Event {
  return {
    type: 'error',
    ts: ts + i * 911,
    ...SERVICE,
    view: viewRef('v0'),
    error: {
      message: "Cannot read properties of undefined (reading 'price')",
      type: 'TypeError',
      stack: STACK,
      handled: i % 2 === 0,
      source: 'source',
    },
  }
}

function resource(i: number, ts: number): Event {
  const files = [
    ['https://shop.example.com/assets/vendor-c02f7e.js', 'js', 184233],
    ['https://shop.example.com/assets/product-41be9d.js', 'js', 40211],
    ['https://shop.example.com/assets/main-77aa10.css', 'css', 61200],
    ['https://cdn.example.net/images/products/aurora-42-side@2x.webp', 'image', 94120],
    ['https://cdn.example.net/fonts/inter-var-latin.woff2', 'font', 48232],
    ['https://shop.example.com/api/cart?include=lines,totals', 'fetch', 2314],
    ['https://shop.example.com/api/recommendations?product=aurora-42&limit=8', 'fetch', 8120],
    ['https://cdn.example.net/images/products/aurora-42-top@2x.webp', 'image', 88210],
  ] as const
  const [url, type, size] = files[i % files.length] as (typeof files)[number]
  return {
    type: 'resource',
    ts: ts + i * 23,
    ...SERVICE,
    view: viewRef('v0'),
    resource: {
      url,
      type,
      duration: 84.3 + i * 11,
      size,
      transfer_size: Math.round(size * 0.31) + 300,
      status_code: 200,
      ...(type === 'fetch' ? { method: 'GET' } : { render_blocking: type === 'css' }),
    },
  }
}

function vital(i: number, ts: number): Event {
  const vitals = [
    { name: 'LCP', value: 1843.2, rating: 'good' },
    { name: 'FCP', value: 702.9, rating: 'good' },
    { name: 'CLS', value: 0.043, rating: 'good' },
    { name: 'INP', value: 248, rating: 'needs-improvement' },
    { name: 'TTFB', value: 182.4, rating: 'good' },
  ] as const
  return { type: 'vital', ts: ts + 2000 + i, ...SERVICE, view: viewRef('v0'), vital: vitals[i % vitals.length], context: { connection: '4g' } }
}

function longTask(i: number, ts: number): Event {
  return { type: 'long_task', ts: ts + 1200 + i * 400, ...SERVICE, view: viewRef('v0'), long_task: { duration: 87.5 + i * 31 }, context: { attribution: 'script' } }
}

function custom(ts: number): Event {
  return {
    type: 'custom',
    ts: ts + 5000,
    ...SERVICE,
    view: viewRef('v0'),
    custom: { name: 'checkout_step_viewed' },
    context: { step: 2, cart_items: 3, currency: 'EUR', experiment: 'free-shipping-banner' },
  }
}

/** 25 events, as one page's SDK flushes them: 2 views, 6 actions, 2 errors, 8 resources, 4 vitals, 2 long tasks, 1 custom. */
export function batchEvents(ts: number): Event[] {
  return [
    view(0, ts),
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => resource(i, ts)),
    ...[0, 1, 2, 3].map((i) => vital(i, ts)),
    ...[0, 1, 2, 3, 4, 5].map((i) => action(i, ts)),
    ...[0, 1].map((i) => longTask(i, ts)),
    ...[0, 1].map((i) => error(i, ts)),
    view(1, ts),
    custom(ts),
  ]
}

export function ndjson(events: readonly Event[]): string {
  return events.map((event) => JSON.stringify(event)).join('\n')
}

/** Bytes per event type once the placeholder is replaced by a request id (about 20 characters). */
export function eventSizes(events: readonly Event[]): Record<string, { min: number; max: number }> {
  const sizes: Record<string, { min: number; max: number }> = {}
  for (const event of events) {
    const bytes = Buffer.byteLength(JSON.stringify(event).replaceAll(ID_PLACEHOLDER, 'x'.repeat(20)))
    const type = String(event.type)
    const entry = (sizes[type] ??= { min: bytes, max: bytes })
    entry.min = Math.min(entry.min, bytes)
    entry.max = Math.max(entry.max, bytes)
  }
  return sizes
}

/**
 * 25 error events (the 100 %-errors case issue 5 asks to measure): five different bugs, five events each, so
 * each commit group upserts five issues; messages carry numbers, as real ones do, which grouping parameterises.
 */
export function errorBatchEvents(ts: number): Event[] {
  const bugs = ['formatCartLine', 'renderPrice', 'applyCoupon', 'loadReviews', 'trackImpression']
  return Array.from({ length: 25 }, (_, i) => {
    const bug = bugs[i % bugs.length]!
    const base = error(i, ts) as { error: Record<string, unknown> }
    return {
      ...base,
      error: {
        ...base.error,
        message: `Cannot read properties of undefined (reading 'item ${i}')`,
        stack: STACK.replace('formatCartLine', bug).replace(':2:18433', `:2:${18433 + i}`),
      },
    }
  })
}

/** One error event, as an SDK sends an uncaught error at once. */
export function singleErrorEvent(ts: number): Event[] {
  return [error(1, ts)]
}

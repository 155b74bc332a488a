/**
 * Captures what the unmodified @datadog/browser-rum sends through a `proxy`, as raw requests, into
 * packages/server/test/fixtures/datadog/. Not a test: rerun only to refresh the fixtures after an SDK upgrade.
 *
 *   cd /work/main && npx tsx packages/server/test/compat/captureDatadogPayloads.ts
 *
 * Two loopback servers, so the cross-origin behaviour shows as it would in production: the "site"
 * (http://localhost:<port>: the page, the SDK bundle, app.js, an image and a JSON endpoint) and the "intake"
 * (http://127.0.0.1:<port>, the `proxy`), which records method, URL, a few headers and the body exactly as
 * received. It takes about 75 s: the SDK flushes a batch with fetch when it reaches 16 KiB or 50 events, or
 * 30 s after its first event; every other flush happens when the page may exit, with sendBeacon.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { REGULAR_USER_AGENT } from '../../../browser/test/support/launchChromium.js'
import { makeTempDir } from '../support/tacitProcess.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = join(HERE, '../../../..')
const OUT = join(ROOT, 'packages/server/test/fixtures/datadog')
const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-agent=${REGULAR_USER_AGENT}`]
/** A Tacit-shaped client token: a Tacit token used as the Datadog clientToken is the documented setup. */
const CLIENT_TOKEN = 'tc_DatadogFixture0123456789abcdefgh'
if (!/^tc_[A-Za-z0-9]{32}$/.test(CLIENT_TOKEN)) throw new Error('bad token')

const sdkVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules/@datadog/browser-rum/package.json'), 'utf8')) as { version: string }).version

interface Captured {
  run: string
  method: string
  url: string
  headers: Record<string, string>
  body?: string
  bodyBase64?: string
}

const KEPT_HEADERS = ['content-type', 'content-encoding', 'origin', 'access-control-request-method', 'access-control-request-headers']

async function main(): Promise<void> {
  const bundle = await build({
    stdin: { contents: "import { datadogRum } from '@datadog/browser-rum'; window.DD_RUM = datadogRum", resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'iife',
    write: false,
    target: 'es2020',
  })
  const sdkJs = bundle.outputFiles[0]!.text

  const captured: Captured[] = []
  let currentRun = ''
  const intake = await listen((req, res, body) => {
    res.setHeader('Access-Control-Allow-Origin', '*')
    const headers: Record<string, string> = {}
    for (const name of KEPT_HEADERS) {
      const value = req.headers[name]
      if (typeof value === 'string') headers[name] = value
    }
    const url = req.url ?? ''
    const deflated = url.includes('dd-evp-encoding%3Ddeflate')
    captured.push({ run: currentRun, method: req.method ?? '', url, headers, ...(deflated ? { bodyBase64: body.toString('base64') } : { body: body.toString('utf8') }) })
    res.statusCode = req.method === 'OPTIONS' ? 204 : 202
    res.end()
  }, '127.0.0.1')
  const intakeUrl = `http://127.0.0.1:${intake.port}`

  const site = await listen((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/datadog-rum.js') return send(res, 'text/javascript', sdkJs)
    if (path === '/app.js') return send(res, 'text/javascript', APP_JS)
    if (path === '/hero.svg') return send(res, 'image/svg+xml', HERO_SVG)
    if (path === '/api/cart') return send(res, 'application/json', JSON.stringify({ sku: 42, items: 3, total: 59.7 }))
    if (path === '/bye') return send(res, 'text/html', '<!doctype html><title>Bye</title><p>Thanks for shopping.</p>')
    if (path === '/' || path === '/cart') return send(res, 'text/html', pageHtml(initOptions(intakeUrl, currentRun === 'deflate')))
    res.statusCode = 404
    res.end()
  }, 'localhost')
  const siteUrl = `http://localhost:${site.port}`

  mkdirSync(OUT, { recursive: true })
  const storage: Record<string, unknown> = {}
  try {
    currentRun = 'main'
    storage.main = await withBrowser(async (context, page) => {
      await page.goto(`${siteUrl}/cart`)
      await page.waitForLoadState('load')
      await page.waitForTimeout(1500) // the layout shift (app.js, 300 ms after load) and the LCP settle
      await page.click('#buy')
      await page.waitForTimeout(500)
      await page.click('#recalculate') // blocks the main thread for 160 ms: a long task (LoAF) and a slow INP
      await page.waitForTimeout(300)
      await page.evaluate('shop.uncaught()')
      await page.waitForTimeout(100)
      await page.evaluate('shop.handled()')
      await page.evaluate('shop.consoleError()')
      await page.evaluate('shop.customAction()')
      await page.evaluate('shop.durationVital()')
      await page.evaluate('shop.operation()')
      // A batch under 16 KiB and 50 events waits 30 s, unless the page may exit: this one goes by fetch.
      await page.waitForTimeout(32_000)
      // A route change ends the first view (is_active: false, its final values) and starts a second one.
      await page.evaluate("history.pushState({}, '', '/checkout')")
      await page.waitForTimeout(500)
      await page.click('#buy')
      await page.waitForTimeout(3500) // past the view update throttle (3 s)
      const observed = await observeStorage(context, page)
      await page.goto(`${siteUrl}/bye`) // the page exits: the last batch goes by sendBeacon
      await page.waitForTimeout(2000)
      return observed
    })

    currentRun = 'deflate'
    storage.deflate = await withBrowser(async (context, page) => {
      await page.goto(`${siteUrl}/cart`)
      await page.waitForLoadState('load')
      await page.waitForTimeout(1000)
      await page.click('#buy')
      await page.evaluate('shop.handled()')
      await page.waitForTimeout(32_000) // the fetch flush compresses the whole batch
      const observed = await observeStorage(context, page)
      await page.goto(`${siteUrl}/bye`)
      await page.waitForTimeout(2000)
      return observed
    })
  } finally {
    await Promise.all([close(intake.server), close(site.server)])
  }

  const byKind = new Map<string, Captured[]>()
  for (const request of captured) {
    const kind = requestKind(request)
    byKind.set(kind, [...(byKind.get(kind) ?? []), request])
  }
  for (const [kind, requests] of byKind) {
    writeFileSync(join(OUT, `${kind}.requests.ndjson`), requests.map((r) => JSON.stringify(r)).join('\n') + '\n')
    console.log(`${kind}: ${requests.length} request(s)`)
  }
  writeFileSync(join(OUT, 'storage-observed.json'), JSON.stringify({ sdkVersion, chromium: 'Debian /usr/bin/chromium, headless', ...storage }, null, 2) + '\n')
  console.log(`@datadog/browser-rum ${sdkVersion}, site ${siteUrl}, intake ${intakeUrl}`)
}

function initOptions(intakeUrl: string, deflate: boolean): Record<string, unknown> {
  return {
    applicationId: '00000000-0000-0000-0000-000000000000',
    clientToken: CLIENT_TOKEN,
    site: 'datadoghq.com',
    proxy: `${intakeUrl}/api/compat/datadog`,
    service: 'shop',
    env: 'prod',
    version: '1.2.3',
    sessionSampleRate: 100,
    trackResources: true,
    trackLongTasks: true,
    trackUserInteractions: true,
    sessionPersistence: 'memory',
    trackAnonymousUser: false,
    compressIntakeRequests: deflate,
    // Only so the fixtures hold telemetry batches (defaults 20 % and 5 %): Tacit must recognise and drop them.
    telemetrySampleRate: deflate ? 0 : 100,
    telemetryConfigurationSampleRate: deflate ? 0 : 100,
  }
}

function requestKind(request: Captured): string {
  if (request.method !== 'POST') return 'other'
  if (request.run === 'deflate') return request.bodyBase64 !== undefined ? 'rum-deflate' : 'rum-deflate-run-plain'
  const text = request.body ?? ''
  const types = text.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { type?: string }).type)
  if (types.length > 0 && types.every((type) => type === 'telemetry')) return 'telemetry'
  return request.url.includes('_dd.api%3Dbeacon') ? 'rum-beacon' : 'rum-fetch'
}

/** What the SDK left in the browser: cookies of every origin, both storages, IndexedDB, plus every write
 * seen by the init script (a cookie or item written and removed again would not show at the end). */
async function observeStorage(context: BrowserContext, page: Page): Promise<unknown> {
  const inPage = await page.evaluate(`(async () => ({
    documentCookie: document.cookie,
    localStorage: Object.keys(localStorage),
    sessionStorage: Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k).replace(/[0-9a-f]/g, 'x')])),
    indexedDB: (await indexedDB.databases()).map((d) => d.name),
    writes: window.__storageWrites,
  }))()`)
  const cookies = (await context.cookies()).map((c) => ({ name: c.name, domain: c.domain }))
  return { cookies, ...(inPage as object) }
}

const RECORD_WRITES = `
  window.__storageWrites = []
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie')
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    get() { return cookie.get.call(this) },
    set(value) { window.__storageWrites.push('cookie ' + String(value).split('=')[0]); cookie.set.call(this, value) },
  })
  const setItem = Storage.prototype.setItem
  Storage.prototype.setItem = function (key, value) {
    window.__storageWrites.push((this === window.localStorage ? 'localStorage ' : 'sessionStorage ') + key)
    return setItem.call(this, key, value)
  }
`

async function withBrowser<T>(steps: (context: BrowserContext, page: Page) => Promise<T>): Promise<T> {
  const profile = makeTempDir('tacit-dd-capture-')
  const context = await chromium.launchPersistentContext(profile.path, { executablePath: CHROMIUM, headless: true, args: ARGS, userAgent: REGULAR_USER_AGENT })
  try {
    await context.addInitScript(RECORD_WRITES)
    const page = await context.newPage()
    page.on('pageerror', () => {}) // the uncaught error is on purpose
    return await steps(context, page)
  } finally {
    await context.close()
    profile.remove()
  }
}

function pageHtml(options: Record<string, unknown>): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Shop — cart</title>
<script src="/datadog-rum.js"></script>
<script>
  DD_RUM.init(${JSON.stringify(options)})
  DD_RUM.setUser({ id: 'user-1234', name: 'Test Person', email: 'test.person@example.com' })
  DD_RUM.setAccount({ id: 'account-77', name: 'Example Corp' })
  DD_RUM.setGlobalContextProperty('plan', 'pro')
</script>
<style>body { font: 16px sans-serif; margin: 0 } .banner { height: 180px; background: #fd0 }</style>
</head><body>
<main>
<h1>Your cart</h1>
<img id="hero" src="/hero.svg" width="640" height="320" alt="Summer sale">
<p>3 items, total 59.70</p>
<form class="checkout"><button id="buy" type="button" class="primary">Buy now</button>
<button id="recalculate" type="button">Recalculate</button></form>
</main>
<script src="/app.js"></script>
</body></html>`
}

// The site's own code, in a file of its own so stack frames and the long animation frame's script carry a URL.
const APP_JS = `
function applyDiscount(cart) {
  return cart.coupon.percent * cart.total
}
function recalculateTotals() {
  const end = performance.now() + 160
  while (performance.now() < end) {}
}
document.getElementById('buy').addEventListener('click', function onBuy() {
  fetch('/api/cart?sku=42').then((r) => r.json())
})
document.getElementById('recalculate').addEventListener('click', function onRecalculate() {
  recalculateTotals()
})
addEventListener('load', () => {
  setTimeout(() => {
    const banner = document.createElement('div')
    banner.className = 'banner'
    banner.textContent = 'Free shipping today'
    document.body.prepend(banner)
  }, 300)
})
window.shop = {
  uncaught() { setTimeout(() => applyDiscount({ total: 10 })) },
  handled() {
    try { JSON.parse('{not json') } catch (error) { DD_RUM.addError(error, { step: 'checkout' }) }
  },
  consoleError() { console.error('Payment widget failed to load') },
  customAction() { DD_RUM.addAction('checkout', { cart_items: 3 }) },
  durationVital() {
    DD_RUM.addDurationVital('image_upload', { startTime: Date.now() - 250, duration: 250, description: 'Upload of the product photo', context: { format: 'png' } })
  },
  operation() { DD_RUM.startOperation('checkout_flow'); DD_RUM.succeedOperation('checkout_flow') },
}
`

const HERO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="320"><rect width="640" height="320" fill="#48c"/><text x="40" y="180" font-size="64" fill="#fff">Summer sale</text></svg>`

function send(res: ServerResponse, type: string, body: string): void {
  res.setHeader('Content-Type', type)
  res.end(body)
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void, host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => handler(req, res, Buffer.concat(chunks)))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

await main()

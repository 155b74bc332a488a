/**
 * Captures real error stacks and messages from Debian's Chromium for the PII corpus
 * (test/fixtures/pii/capturedStacks.jsonl): clean strings a browser really produces, which the scrubber
 * must leave byte-identical. The corpus halves hold browser stacks written from format templates; these are
 * the engine's own output (frames, eval and async markers, content-hashed bundle names, query strings).
 *
 * Needs Chromium (`apt-get install -y chromium`) only when run, not for the tests, which read the committed
 * file: `tsx packages/server/scripts/captureBrowserStacks.ts`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const OUT = resolve(dirname(fileURLToPath(import.meta.url)), '../test/fixtures/pii/capturedStacks.jsonl')

// Bundles as sites ship them: content hashes in names, a minified one-line chunk, a versioned vendor path.
const FILES: Record<string, string> = {
  '/': '<!doctype html><script src="/assets/vendor.7c1e9a04.js"></script><script src="/assets/app.3f9a2c1b.js?v=2026.11.3"></script><script type="module" src="/static/js/checkout-B2x9_kQz.mjs"></script>',
  '/assets/vendor.7c1e9a04.js': `
window.vendor = {
  parse: function parseConfig(text) { return JSON.parse(text) },
  fmt: (n) => n.toFixed(200),
  deep: function recurse(n) { return n === 0 ? null.x : recurse(n - 1) },
};`,
  '/assets/app.3f9a2c1b.js': `!function(){var e=window.__stacks=[];function t(n){try{n()}catch(r){e.push({message:String(r&&r.message),stack:String(r&&r.stack)})}}
class CartStore{constructor(){this.items=undefined}get total(){return this.items.reduce((a,b)=>a+b.price,0)}static load(){return new CartStore().total}}
t(function(){CartStore.load()});t(function(){undefinedFunction_42()});t(function(){window.vendor.parse("{bad json")});t(function(){window.vendor.fmt(1)});
t(function(){window.vendor.deep(3)});t(function(){new Array(-1)});t(function(){eval("(function inEval(){ throw new SyntaxError('Unexpected token in eval at 3:14') })()")});
t(function(){new Function("a","return a.b.c")(undefined)});t(function(){[1,2,3].map(function(x){if(x===3)throw new RangeError("Index 3 out of range [0, 2] (length 2)");return x})});
t(function(){document.querySelector("#cart-7f3a").addEventListener("click",null)});t(function(){decodeURIComponent("%E0%A4%A")});t(function(){BigInt(1.5)});
t(function(){Object.defineProperty(Object.freeze({}),"x",{value:1})});t(function(){null.f()});t(function(){(void 0)()});
t(function(){throw new Error("Request failed with status code 503 (GET /api/v2/products/48213?locale=en-US)")});
t(function(){throw new TypeError("Failed to fetch")});t(function(){var c=new AbortController;c.abort();c.signal.throwIfAborted()});
t(function(){structuredClone(function(){})});t(function(){new URL("::not a url::")});t(function(){atob("***")});
t(function(){localStorage.x.y});t(function(){document.createElement("div").appendChild("x")});t(function(){new Intl.NumberFormat("en",{style:"currency"})});
}();`,
  '/static/js/checkout-B2x9_kQz.mjs': `
const stacks = window.__stacks
async function loadPrices(sku) { await null; throw new Error('Price for SKU-' + sku + ' not found (v1.4.2, build 20261120.3)') }
async function checkout() { await loadPrices(48213) }
const jobs = [
  checkout(),
  (async () => { await new Promise((r) => setTimeout(r, 5)); JSON.parse('{"a": 1,}') })(),
  Promise.reject(new DOMException('The operation was aborted.', 'AbortError')),
  import('/static/js/missing-chunk.4e2b1d9c.mjs'),
  fetch('/api/unavailable').then((r) => { if (!r.ok) throw new Error('HTTP ' + r.status + ' ' + r.statusText + ' at /api/unavailable') }),
]
for (const job of jobs) { try { await job } catch (error) { stacks.push({ message: String(error.message), stack: String(error.stack) }) } }
window.__done = true
`,
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]!
  const body = FILES[path]
  if (body === undefined) return res.writeHead(path.startsWith('/api/') ? 503 : 404).end()
  res.writeHead(200, { 'content-type': path.endsWith('js') ? 'text/javascript' : 'text/html' }).end(body)
})
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
const port = (server.address() as AddressInfo).port
const profile = mkdtempSync(join(tmpdir(), 'tacit-stacks-'))
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  // A real host name, as on a site: an address in every frame would be (rightly) scrubbed as an IP.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--host-resolver-rules=MAP shop.example 127.0.0.1`],
})
try {
  const page = context.pages()[0] ?? (await context.newPage())
  await page.goto(`http://shop.example:${port}/`)
  await page.waitForFunction(() => (globalThis as unknown as { __done?: boolean }).__done === true)
  const stacks = await page.evaluate(() => (globalThis as unknown as { __stacks: Array<{ message: string; stack: string }> }).__stacks)
  const version = context.browser()?.version() ?? 'Chromium'
  const lines = stacks.flatMap(({ message, stack }) => [
    { field: 'text', text: stack, pii: [], source: `chromium-${version}-stack` },
    { field: 'text', text: message, pii: [], source: `chromium-${version}-message` },
  ])
  const unique = [...new Map(lines.map((line) => [line.text, line])).values()]
  writeFileSync(OUT, unique.map((line) => JSON.stringify(line)).join('\n') + '\n')
  console.log(`${unique.length} strings from ${stacks.length} errors → ${OUT}`)
} finally {
  await context.close()
  server.close()
  rmSync(profile, { recursive: true, force: true })
}

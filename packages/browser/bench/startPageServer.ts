import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, normalize } from 'node:path'

export interface PageServer {
  origin: string
  /** Requests and bytes each variant's SDK posted to its sink, and how many of them carried the page's uncaught error. */
  sent: Map<string, { requests: number; bytes: number; uncaught: number }>
  close(): Promise<void>
}

/**
 * The test page: a small document with a stylesheet and an image (so resource timing has entries), the
 * SDK's entry as a module script first, then the page's own module script with one handled error
 * (reported through the SDK's API) and one uncaught error. Module scripts run in document order, so the
 * SDK is initialized before the errors happen, as with a site's bundle.
 */
/** The page's uncaught error message: found in an SDK's requests, it shows the SDK reported it. */
export const UNCAUGHT = 'Cannot read the cart total'

function page(entryFile: string | undefined): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Order summary</title>
<link rel="stylesheet" href="/static/style.css">
${entryFile ? `<script type="module" src="${entryFile}"></script>` : ''}
<script type="module">
try {
  JSON.parse('{"items": [1, 2,')
} catch (error) {
  if (window.__report) window.__report(error)
}
throw new TypeError('${UNCAUGHT}')
</script>
</head>
<body>
<header><nav><a href="#">Shop</a> <a href="#">Account</a></nav></header>
<main>
<h1>Order summary</h1>
<p>Three items, delivered on Tuesday.</p>
<img src="/static/box.svg" width="64" height="64" alt="Parcel">
<form><label>Coupon <input name="coupon"></label> <button type="button">Apply</button></form>
</main>
</body>
</html>`
}

const STATIC: Record<string, [string, string]> = {
  '/static/style.css': ['text/css', 'body{font:16px/1.5 system-ui,sans-serif;margin:2rem}main{max-width:40rem}'],
  '/static/box.svg': ['image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect x="8" y="16" width="48" height="40" fill="#c96"/></svg>'],
}

/**
 * Serves `/v/<key>/` (the page) and `/v/<key>/<file>` (that variant's bundle files from `bundleDirs`) on
 * loopback, and answers every POST to `/sink/<key>…` with `sinkStatus` (default 202), counting it. Everything is `no-store`:
 * each load compiles the SDK from scratch, as a first visit does (no HTTP cache, so no V8 code cache).
 */
export async function startPageServer(
  bundleDirs: Map<string, { dir: string; entryFile: string } | undefined>,
  sinkStatus: Map<string, number> = new Map(),
): Promise<PageServer> {
  const sent = new Map<string, { requests: number; bytes: number; uncaught: number }>()
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const sink = /^\/sink\/([a-z_]+)(?:\/|$)/.exec(path)
    if (sink) {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const body = Buffer.concat(chunks)
      const key = sink[1] as string
      const count = sent.get(key) ?? { requests: 0, bytes: 0, uncaught: 0 }
      if (req.method === 'POST') {
        sent.set(key, { requests: count.requests + 1, bytes: count.bytes + body.length, uncaught: count.uncaught + (body.includes(UNCAUGHT) ? 1 : 0) })
      }
      res.writeHead(req.method === 'POST' ? (sinkStatus.get(key) ?? 202) : 204, { 'access-control-allow-origin': '*', 'cache-control': 'no-store' })
      res.end()
      return
    }
    const file = STATIC[path]
    if (file) return send(res, file[0], file[1])
    const variant = /^\/v\/([a-z_]+)\/(.*)$/.exec(path)
    if (variant && bundleDirs.has(variant[1] as string)) {
      const bundle = bundleDirs.get(variant[1] as string)
      const rest = variant[2] as string
      if (rest === '') return send(res, 'text/html; charset=utf-8', page(bundle?.entryFile))
      if (bundle && /^[\w.-]+\.js$/.test(rest)) return send(res, 'text/javascript', await readFile(join(bundle.dir, normalize(rest))))
    }
    res.writeHead(404, { 'cache-control': 'no-store' })
    res.end()
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    sent,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function send(res: ServerResponse, type: string, body: string | Buffer): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

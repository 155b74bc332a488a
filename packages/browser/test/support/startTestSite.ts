import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { resolve } from 'node:path'

/** The SDK as built by `npm run build` (the test run's global setup builds it first). */
export const SDK_DIST = resolve(import.meta.dirname, '../../dist')

export type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void | Promise<void>

export interface ServeOptions {
  type?: string
  status?: number
  headers?: Record<string, string>
  /** Answer only after this many ms, so a resource has a known minimum duration. */
  delayMs?: number
}

export interface TestSite {
  /** `http://localhost:<port>`: a different origin from the Tacit server, so the SDK posts cross-origin. */
  origin: string
  url(path: string): string
  /** Serves a fixed body at `path` (the query is ignored); HTML by default. */
  serve(path: string, body: string | Buffer, options?: ServeOptions): void
  handle(path: string, handler: Handler): void
  close(): Promise<void>
}

// A 1×1 transparent PNG.
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64')

/**
 * The web site under test: a tiny loopback HTTP server for the test pages. It serves the SDK bundles at
 * /sdk/tacit.js (script-tag build) and /sdk/index.js (ES module), an image at /pixel.png, and /blank, a
 * page without the SDK that tests navigate to so the page under test is hidden and sends its last beacon.
 */
export async function startTestSite(): Promise<TestSite> {
  const routes = new Map<string, Handler>()
  const serve = (path: string, body: string | Buffer, options: ServeOptions = {}) => {
    routes.set(path, async (_request, response) => {
      if (options.delayMs) await new Promise((done) => setTimeout(done, options.delayMs))
      response.writeHead(options.status ?? 200, { 'content-type': options.type ?? 'text/html; charset=utf-8', 'cache-control': 'no-store', ...options.headers })
      response.end(body)
    })
  }
  const sdkFile = (name: string): Handler => (_request, response) => {
    // Read per request: a rebuilt SDK is used without restarting anything.
    response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' })
    response.end(readFileSync(resolve(SDK_DIST, name)))
  }
  routes.set('/sdk/tacit.js', sdkFile('tacit.js'))
  routes.set('/sdk/index.js', sdkFile('index.js'))
  serve('/pixel.png', PIXEL, { type: 'image/png' })
  serve('/blank', '<!doctype html><title>Elsewhere</title><p>The page under test was left.</p>')

  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://site').pathname
      const handler = routes.get(path)
      if (!handler) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
        return
      }
      Promise.resolve(handler(request, response, Buffer.concat(chunks))).catch((error: Error) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' })
        response.end(String(error.message))
      })
    })
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as { port: number }
  // `localhost`, not 127.0.0.1: Tacit scrubs IP addresses from every stored string, URLs included.
  const origin = `http://localhost:${port}`
  return {
    origin,
    url: (path) => `${origin}${path}`,
    serve,
    handle: (path, handler) => void routes.set(path, handler),
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
  }
}

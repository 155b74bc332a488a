import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { HttpDeps } from './createHttpServer.js'

/**
 * The dashboard's single-page app (issue 6), built by `npm run build -w @tacit/dashboard` into
 * packages/dashboard/dist. Client-side routes get index.html; its hashed assets are served from dist/assets.
 * /demo, /sdk/*, /api/*, /healthz and /metrics are registered before and untouched. The CSP and the other
 * security headers come from the root hook (securityHeaders.ts): the built app has no inline script or style, and
 * uPlot's `element.style` assignments go through the CSSOM, which `style-src 'self'` does not block.
 */
export interface DashboardDeps {
  /** The built app; packages/dashboard/dist when not given (this module sits at packages/server/{src,dist}/http). */
  distDir?: string
}

/** Vite names every built asset after its content hash: a year of caching never serves a stale file. */
const IMMUTABLE = 'public, max-age=31536000, immutable'

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  map: 'application/json; charset=utf-8',
}

/** One path segment of a built asset: no `/`, no `..`, an extension we serve. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\.(js|css|svg|png|woff2|map)$/

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tacit: dashboard not built</title></head>
<body><h1>The dashboard is not built</h1><p>Run <code>npm run build</code> in the Tacit folder, then reload this page.</p></body></html>
`

export async function dashboardRoutes(scope: FastifyInstance, deps: Partial<HttpDeps> & DashboardDeps): Promise<void> {
  const distDir = deps.distDir ?? fileURLToPath(new URL('../../../dashboard/dist/', import.meta.url))
  // Hashed assets never change under their name, so each is read once; a rebuild adds new names.
  const assets = new Map<string, Buffer>()

  const sendIndex = async (_request: unknown, reply: FastifyReply) => {
    reply.header('cache-control', 'no-cache')
    // Read on every request (a few hundred bytes): a build made while the server runs is picked up.
    const html = await readFile(`${distDir}/index.html`).catch(() => undefined)
    if (!html) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT)
    return reply.type('text/html; charset=utf-8').send(html)
  }

  for (const route of ['/', '/setup', '/login', '/apps', '/apps/*']) scope.get(route, sendIndex)

  scope.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const name = request.params.name
    const match = ASSET_NAME.exec(name)
    if (!match) return reply.code(404).send({ error: 'not_found', message: 'There is no such file.' })
    let body = assets.get(name)
    if (!body) {
      body = await readFile(`${distDir}/assets/${name}`).catch(() => undefined)
      if (!body) return reply.code(404).send({ error: 'not_found', message: 'There is no such file.' })
      assets.set(name, body)
    }
    return reply.header('cache-control', IMMUTABLE).type(TYPES[match[1]!]!).send(body)
  })

  scope.get('/favicon.svg', async (_request, reply) => {
    const body = await readFile(`${distDir}/favicon.svg`).catch(() => undefined)
    if (!body) return reply.code(404).send({ error: 'not_found', message: 'There is no such file.' })
    return reply.header('cache-control', 'public, max-age=86400').type('image/svg+xml').send(body)
  })
}

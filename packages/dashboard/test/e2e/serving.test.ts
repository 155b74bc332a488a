import { mkdirSync, writeFileSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboardRoutes } from '../../../server/src/http/dashboardRoutes.js'
import { addSecurityHeaders } from '../../../server/src/http/securityHeaders.js'
import { makeTempDir, startServerProcess, type ServerProcess } from '../../../server/test/support/tacitProcess.js'

/** How the server hands out the dashboard: index.html for client routes, hashed assets, headers, and no build. */

describe('the dashboard routes, on a real server process with the built app', () => {
  let server: ServerProcess
  let dir: ReturnType<typeof makeTempDir>
  beforeAll(async () => {
    dir = makeTempDir('tacit-dashboard-serve-')
    server = await startServerProcess({ dataDir: dir.path })
  })
  afterAll(async () => {
    await server?.stop()
    dir?.remove()
  })

  it.each(['/', '/setup', '/login', '/apps', '/apps/shop/overview', '/apps/shop/issues/12'])('answers %s with index.html, no-cache, and the security headers', async (path) => {
    const response = await fetch(`${server.url}${path}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(response.headers.get('cache-control')).toBe('no-cache')
    const csp = response.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    const html = await response.text()
    expect(html).toContain('<div id="root"></div>')
    // No inline script or style: every <script> has a src, and there is no <style> or style="…".
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/<style|\sstyle=/)
  })

  it('serves the hashed assets index.html names, cached for a year, with their types', async () => {
    const html = await (await fetch(server.url)).text()
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!)
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true)
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true)
    for (const asset of assets) {
      const response = await fetch(`${server.url}${asset}`)
      expect(response.status).toBe(200)
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      expect(response.headers.get('content-type')).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/)
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    }
  })

  it('refuses missing, hostile and oversized asset names with a JSON 404', async () => {
    const names = ['missing-0000.js', '..%2F..%2Fpackage.json', '%2e%2e%2findex.html', 'index.html', '.env', 'a.exe', 'x%00.js']
    for (const name of names) {
      const response = await fetch(`${server.url}/assets/${name}`)
      expect(response.status, name).toBe(404)
      expect(((await response.json()) as { error: string }).error).toBe('not_found')
    }
    // Fastify refuses a path parameter over 100 characters before the route runs.
    expect([404, 414]).toContain((await fetch(`${server.url}/assets/${'a'.repeat(300)}.js`)).status)
    const nested = await fetch(`${server.url}/assets/../package.json`)
    expect(nested.status).toBe(404)
  })

  it('leaves the API, the demo, health and metrics as they were', async () => {
    const api = await fetch(`${server.url}/api/v1/nothing-here`)
    expect(api.status).toBe(404)
    expect(api.headers.get('content-type')).toMatch(/application\/json/)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${server.url}/metrics`)).headers.get('content-type')).toMatch(/text\/plain/)
    const demo = await fetch(`${server.url}/demo`)
    expect(demo.status).toBe(200)
    expect(await demo.text()).not.toContain('<div id="root"></div>')
    // Not a client route: the JSON 404, not index.html.
    expect((await fetch(`${server.url}/nowhere`)).headers.get('content-type')).toMatch(/application\/json/)
  })
})

describe('the dashboard routes without a build', () => {
  let app: FastifyInstance
  let dir: ReturnType<typeof makeTempDir>
  beforeAll(async () => {
    dir = makeTempDir('tacit-dashboard-nobuild-')
    app = Fastify()
    // As createHttpServer wires it: the security headers come from the root hook.
    addSecurityHeaders(app)
    await app.register(async (scope) => dashboardRoutes(scope, { distDir: dir.path }))
    await app.ready()
  })
  afterAll(async () => {
    await app?.close()
    dir?.remove()
  })

  it('answers the client routes with a plain 503 page that says to run npm run build', async () => {
    for (const url of ['/', '/login', '/apps/shop/overview']) {
      const response = await app.inject({ url })
      expect(response.statusCode).toBe(503)
      expect(response.headers['content-type']).toMatch(/^text\/html/)
      expect(response.body).toContain('npm run build')
      expect(response.headers['content-security-policy']).toContain("script-src 'self'")
    }
    expect((await app.inject({ url: '/assets/index-abc.js' })).statusCode).toBe(404)
  })

  it('picks up a build made while the server runs', async () => {
    mkdirSync(`${dir.path}/assets`, { recursive: true })
    writeFileSync(`${dir.path}/index.html`, '<!doctype html><div id="root"></div>')
    writeFileSync(`${dir.path}/assets/index-abc.js`, 'export {}')
    const page = await app.inject({ url: '/apps/shop/overview' })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('id="root"')
    const script = await app.inject({ url: '/assets/index-abc.js' })
    expect(script.statusCode).toBe(200)
    expect(script.headers['content-type']).toMatch(/^text\/javascript/)
  })
})

import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'

/** What the server must send from packages/browser/dist (built by the test run's global setup). */
const SDK_BUNDLE = resolve(import.meta.dirname, '../../../browser/dist/tacit.js')

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers })
  return { status: response.status, headers: response.headers, text: await response.text() }
}

async function json<T>(args: string[], dataDir: string): Promise<T> {
  const result = await runTacit([...args, '--json'], { dataDir })
  expect(result.stderr).toBe('')
  return JSON.parse(result.stdout) as T
}

function expectStrictHeaders(headers: Headers) {
  expect(headers.get('x-content-type-options')).toBe('nosniff')
  expect(headers.get('referrer-policy')).toBe('no-referrer')
}

describe('the /demo page of tacit serve', () => {
  const dir = makeTempDir('tacit-demo-')
  let server: ServerProcess
  beforeAll(async () => {
    server = await startServerProcess({ dataDir: dir.path })
  })
  afterAll(async () => {
    await server?.stop()
    dir.remove()
  })

  it('is announced in the first-start banner', () => {
    expect(server.output()).toContain(`Open the demo page, instrumented with the browser SDK: ${server.url.replace('127.0.0.1', 'localhost')}/demo`)
  })

  it('serves an HTML page that loads the SDK with the demo app token and sends to its own origin', async () => {
    const page = await get(`${server.url}/demo`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('cache-control')).toBe('no-store')
    expectStrictHeaders(page.headers)
    const csp = page.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("connect-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).not.toContain('unsafe-eval')

    const tag = /<script src="\/demo\/tacit\.js\?v=([0-9a-f]{16})" data-token="([^"]+)" data-endpoint="([^"]+)"/.exec(page.text)
    expect(tag, 'the SDK script tag').not.toBeNull()
    const [, version, token, endpoint] = tag!
    expect(token).toBe(server.demoToken)
    expect(endpoint).toBe(server.url)
    // The version busts the day-long cache of the bundle: it changes with the bundle's content.
    expect((await get(`${server.url}/demo/tacit.js`)).headers.get('etag')).toBe(`"${version}"`)
    // Sites load the same build from /sdk/tacit.js.
    const forSites = await get(`${server.url}/sdk/tacit.js`)
    expect(forSites.status).toBe(200)
    expect(forSites.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(forSites.headers.get('etag')).toBe(`"${version}"`)

    // Nothing inline, or the CSP would block it: every script is a file, no style or event handler attributes.
    for (const script of page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(script[1]).toMatch(/\bsrc="\/demo\//)
      expect(script[2]!.trim()).toBe('')
    }
    expect(page.text).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i)
    expect(page.text).toContain('<script src="/demo/demo.js?v=')
    expect(page.text).toContain('npx tacit export demo')
    // What the e2e test of the page clicks on, and the privacy blocks it must show.
    expect(page.text).toContain('data-tacit-action-name="Add to cart"')
    expect(page.text).toContain('data-tacit-privacy="mask"')
    expect(page.text).toContain('data-tacit-privacy="hidden"')
  })

  it('serves the SDK bundle as JavaScript with a day-long cache and an ETag', async () => {
    const bundle = await get(`${server.url}/demo/tacit.js`)
    expect(bundle.status).toBe(200)
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(bundle.headers.get('cache-control')).toBe('public, max-age=86400')
    expectStrictHeaders(bundle.headers)
    expect(bundle.text).toBe(readFileSync(SDK_BUNDLE, 'utf8'))
    const etag = bundle.headers.get('etag')!
    const again = await get(`${server.url}/demo/tacit.js`, { 'if-none-match': etag })
    expect(again.status).toBe(304)
    expect(again.text).toBe('')
  })

  it("serves the page's own script, styles and image with their types", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['demo.js', 'text/javascript; charset=utf-8', /history\.pushState/],
      ['demo.css', 'text/css; charset=utf-8', /font-family/],
      ['tacit.svg', 'image/svg+xml', /^<svg /],
    ]
    for (const [name, type, content] of cases) {
      const file = await get(`${server.url}/demo/${name}`)
      expect(file.status, name).toBe(200)
      expect(file.headers.get('content-type'), name).toBe(type)
      expect(file.headers.get('cache-control'), name).toBe('public, max-age=86400')
      expectStrictHeaders(file.headers)
      expect(file.text).toMatch(content)
    }
    for (const name of ['index.html', '..%2Fpackage.json', 'nothing.js']) {
      const missing = await get(`${server.url}/demo/${name}`)
      expect(missing.status, name).toBe(404)
    }
  })

  it('uses the newest active token, and answers 404 with one sentence once the demo app has none', async () => {
    const created = await json<{ token: string }>(['token', 'create', 'demo'], dir.path)
    expect((await get(`${server.url}/demo`)).text).toContain(`data-token="${created.token}"`)

    const tokens = await json<Array<{ token: string; active: boolean }>>(['token', 'list', 'demo'], dir.path)
    for (const { token, active } of tokens) {
      if (active) expect((await runTacit(['token', 'revoke', token], { dataDir: dir.path })).code).toBe(0)
    }
    const page = await get(`${server.url}/demo`)
    expect(page.status).toBe(404)
    expect(page.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(page.text.trim().split('\n')).toHaveLength(1)
    expect(page.text).toMatch(/^There is no app named "demo" with an active client token: create one with `npx tacit app create demo`/)
    expect(page.text).not.toContain('tc_')
    // The SDK bundle itself needs no token.
    expect((await get(`${server.url}/demo/tacit.js`)).status).toBe(200)
  })
})

describe('the /demo page without a demo app', () => {
  const dir = makeTempDir('tacit-demo-none-')
  afterAll(() => dir.remove())

  it('answers 404 with one sentence when the first app is not called demo', async () => {
    // An app created before the first start: the server then creates no demo app.
    expect((await runTacit(['app', 'create', 'shop'], { dataDir: dir.path })).code).toBe(0)
    const server = await startServerProcess({ dataDir: dir.path })
    try {
      expect(server.output()).not.toContain('/demo')
      const page = await get(`${server.url}/demo`)
      expect(page.status).toBe(404)
      expect(page.text).toMatch(/^There is no app named "demo" with an active client token[^\n]*\.\n$/)
    } finally {
      await server.stop()
    }
  })
})

import { createHmac } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRecordingProxy, startRelayProcess, type RecordingProxy, type RelayProcess } from '../../../server/test/support/relayProcess.js'
import { databaseBytes } from '../../../server/test/support/storedData.js'
import { ingest, makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../../../server/test/support/tacitProcess.js'
import { launchChromium, REGULAR_USER_AGENT, type TestBrowser } from '../support/launchChromium.js'
import { startTacitForBrowser, type StoredEvent, type TacitForBrowser } from '../support/startTacitForBrowser.js'
import { startTestSite, type TestSite } from '../support/startTestSite.js'

/**
 * Issue 8, end to end with real processes: the browser SDK in Chromium → the site's own server (which passes
 * `/rum/…` to the relay as nginx would, saying the visitor's address in X-Forwarded-For) → `tacit relay` → a
 * recording proxy (what the Tacit server sees on the wire) → `tacit serve`.
 */

// Addresses DB-IP places in Germany (a Hetzner network) and in the United States (Google's resolver).
const VISITOR_DE = '78.46.221.17'
const VISITOR_US = '8.8.8.8'
const JWT_SECRET = 'site-session-signing-secret'

describe('tacit relay between the browser SDK and Tacit', () => {
  let site: TestSite
  let tacit: TacitForBrowser
  let browser: TestBrowser
  let wire: RecordingProxy
  let relay: RelayProcess
  let authRelay: RelayProcess
  let relayKey: string
  /** The address the site's server says the visitor has (X-Forwarded-For, which the relay trusts from it). */
  let visitorIp = VISITOR_DE
  const spool = makeTempDir('tacit-relay-spool-')
  const authSpool = makeTempDir('tacit-relay-auth-spool-')

  /** The site's reverse proxy for the relay: passes the request on whole, with the visitor's address added. */
  function passTo(target: () => string, prefix: string) {
    return (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse, body: Buffer) => {
      const url = new URL((request.url ?? '/').slice(prefix.length), target())
      const outgoing = httpRequest(url, { method: request.method, headers: { ...request.headers, host: url.host, 'x-forwarded-for': visitorIp } }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      })
      outgoing.on('error', () => response.writeHead(502).end())
      outgoing.end(body)
    }
  }

  beforeAll(async () => {
    site = await startTestSite()
    ;[tacit, browser] = await Promise.all([startTacitForBrowser({ origins: [site.origin] }), launchChromium()])
    const created = await runTacit(['key', 'create', '--kind', 'relay', '--json'], { dataDir: tacit.dataDir })
    relayKey = (JSON.parse(created.stdout) as { key: string }).key
    wire = await startRecordingProxy(tacit.url)
    ;[relay, authRelay] = await Promise.all([
      startRelayProcess({ upstream: wire.url, relayKey, spoolDir: spool.path, args: ['--trusted-proxies', '127.0.0.1'] }),
      startRelayProcess({
        upstream: wire.url,
        relayKey,
        spoolDir: authSpool.path,
        args: ['--trusted-proxies', '127.0.0.1', '--auth', 'jwt', '--auth-cookie', 'session'],
        env: { TACIT_RELAY_TOKENS: `proxy=${tacit.token}`, TACIT_RELAY_AUTH_SECRET: JWT_SECRET },
      }),
    ])
    for (const path of ['/rum/api/v1/ingest', '/rum/api/v1/report']) site.handle(path, passTo(() => relay.url, '/rum'))
    site.handle('/auth-rum/api/v1/ingest', passTo(() => authRelay.url, '/auth-rum'))
  })

  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
    await authRelay?.stop()
    await wire?.close()
    await tacit?.stop()
    await site?.close()
    spool.remove()
    authSpool.remove()
  })

  function relayedPage(token: string, proxyPath: string, title: string): string {
    const init = `{ token: ${JSON.stringify(token)}, proxy: ${JSON.stringify(`${site.origin}${proxyPath}`)}, service: 'e2e' }`
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<script type="module">import { init } from '/sdk/index.js'; window.tacit = init(${init})</script></head>
<body><button id="buy">Buy</button></body></html>`
  }

  async function visit(path: string, html: string, act: (page: Page) => Promise<void> = async () => {}): Promise<Page> {
    site.serve(path, html)
    const page = await browser.newPage()
    await page.goto(site.url(path))
    await page.waitForFunction(() => 'tacit' in window)
    await act(page)
    // Leaving the page sends its last beacon, as a visitor navigating away does.
    await page.goto(site.url('/blank'))
    return page
  }

  const onPage = (events: StoredEvent[], path: string) => events.filter((event) => event.view?.url === site.url(path))

  it('stores the visitor\'s country, device and one session per visitor, and nothing of the address or User-Agent reaches the server', async () => {
    const page = relayedPage(tacit.token, '/rum/api/v1/ingest', 'Relayed')
    visitorIp = VISITOR_DE
    await visit('/relay/de-1', page, async (p) => p.click('#buy'))
    await visit('/relay/de-2', page)
    visitorIp = VISITOR_US
    await visit('/relay/us-1', page)

    const events = await tacit.waitForEvents('the three relayed page views', (stored) =>
      ['/relay/de-1', '/relay/de-2', '/relay/us-1'].every((path) => onPage(stored, path).some((event) => event.type === 'view')),
    )
    const de = [...onPage(events, '/relay/de-1'), ...onPage(events, '/relay/de-2')]
    const us = onPage(events, '/relay/us-1')
    expect(de.some((event) => event.type === 'action')).toBe(true)
    for (const event of de) expect(event.geo).toEqual({ country: 'DE' })
    for (const event of us) expect(event.geo).toEqual({ country: 'US' })
    for (const event of [...de, ...us]) expect(event.device).toMatchObject({ type: 'desktop', browser: 'Chrome', browser_version: '150', os: 'Linux' })
    // The same visitor (address and User-Agent) on two pages: one session; another address: another session.
    const deSessions = new Set(de.map((event) => event.session?.id))
    expect(deSessions.size).toBe(1)
    expect([...deSessions][0]).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Set(us.map((event) => event.session?.id)).size).toBe(1)
    expect(us[0]!.session?.id).not.toBe([...deSessions][0])

    // On the wire to the server: the relay's key and fields, never the visitor's address, User-Agent or cookies.
    const relayed = wire.recorded.filter((request) => request.path.startsWith('/api/v1/ingest'))
    expect(relayed.length).toBeGreaterThan(0)
    for (const request of wire.recorded) {
      const seen = JSON.stringify(request.headers) + request.body.toString('latin1')
      for (const secret of [VISITOR_DE, VISITOR_US, REGULAR_USER_AGENT, 'Chrome/150']) expect(seen).not.toContain(secret)
      expect(request.headers['x-forwarded-for']).toBeUndefined()
      expect(request.headers.cookie).toBeUndefined()
      expect(request.headers['user-agent']).toMatch(/^tacit-relay\//)
    }
    expect(JSON.parse(relayed[0]!.headers['x-tacit-relay'] as string)).toMatchObject({ client: 'browser', country: expect.stringMatching(/^(DE|US)$/) })
    // Nor in what the server stored or logged.
    const disk = databaseBytes(tacit.dataDir).toString('latin1')
    for (const secret of [VISITOR_DE, VISITOR_US, REGULAR_USER_AGENT]) {
      expect(disk).not.toContain(secret)
      expect(tacit.server.output()).not.toContain(secret)
    }
  })

  it('ignores relay fields from a client that is not an authenticated relay', async () => {
    const forged = JSON.stringify({ visitor: 'A'.repeat(43), client: 'browser', country: 'FR', device: { type: 'mobile', browser: 'Forged' } })
    const answer = await ingest(tacit.url, tacit.token, JSON.stringify({ type: 'custom', custom: { name: 'forged-relay-fields' } }), {
      'content-type': 'text/plain',
      'user-agent': REGULAR_USER_AGENT,
      'x-tacit-relay': forged,
    })
    expect(answer.status).toBe(202)
    const [event] = (await tacit.waitForEvents('the forged event', (events) => events.some((e) => e.custom?.name === 'forged-relay-fields'))).filter(
      (e) => e.custom?.name === 'forged-relay-fields',
    )
    // Its own User-Agent and (loopback) address were used: no French country, no forged browser.
    expect(event!.device).toMatchObject({ type: 'desktop', browser: 'Chrome' })
    expect(event!.geo).toBeUndefined()
  })

  it('keeps a logged-in visitor\'s events behind a placeholder token, and refuses an anonymous one', async () => {
    visitorIp = VISITOR_DE
    const page = relayedPage('proxy', '/auth-rum/api/v1/ingest', 'Behind the authentication proxy')
    // What the browser gets back when it posts through the proxy itself, with whatever cookies it has.
    const postFromPage = (p: Page) =>
      p.evaluate(async () => {
        const response = await fetch('/auth-rum/api/v1/ingest?token=proxy', { method: 'POST', body: '{"type":"custom","custom":{"name":"from-page"}}', credentials: 'same-origin' })
        return { status: response.status, text: await response.text(), headers: JSON.stringify([...response.headers]) }
      })

    // Anonymous first: no session cookie.
    site.serve('/auth/anonymous', page)
    const anonymous = await browser.newPage()
    await anonymous.goto(site.url('/auth/anonymous'))
    await anonymous.waitForFunction(() => 'tacit' in window)
    await anonymous.evaluate(() => (window as unknown as { tacit: { addEvent(name: string): void } }).tacit.addEvent('anonymous-visitor'))
    const refused = await postFromPage(anonymous)
    await anonymous.goto(site.url('/blank'))

    // Then a visitor the site signed in: its session cookie is a JWT the relay checks.
    const now = Math.floor(Date.now() / 1000)
    await browser.context.addCookies([{ name: 'session', value: signJwt({ sub: 'visitor-1', exp: now + 600 }), url: site.origin }])
    const signedIn = await browser.newPage()
    site.serve('/auth/signed-in', page)
    await signedIn.goto(site.url('/auth/signed-in'))
    await signedIn.waitForFunction(() => 'tacit' in window)
    const accepted = await postFromPage(signedIn)
    await signedIn.goto(site.url('/blank'))
    // An expired session is refused too.
    await browser.context.addCookies([{ name: 'session', value: signJwt({ sub: 'visitor-1', exp: now - 3600 }), url: site.origin }])
    const expired = await postFromPage(signedIn)
    await browser.context.clearCookies()

    expect(refused.status).toBe(401)
    expect(JSON.parse(refused.text)).toMatchObject({ error: 'unauthorized' })
    expect(accepted.status).toBe(202)
    expect(expired.status).toBe(401)
    const events = await tacit.waitForEvents('the signed-in visitor\'s view', (stored) => onPage(stored, '/auth/signed-in').some((event) => event.type === 'view'))
    expect(onPage(events, '/auth/anonymous')).toEqual([])
    expect(events.some((event) => event.custom?.name === 'anonymous-visitor')).toBe(false)
    // The real token never reaches the browser, in any answer.
    for (const answer of [refused, accepted, expired]) expect(answer.text + answer.headers).not.toContain(tacit.token)
    const metrics = await (await fetch(`${authRelay.url}/metrics`)).text()
    expect(metrics).toMatch(/tacit_relay_refused_total\{reason="visitor_check"\} [1-9]/)
  })

  it('spools while the server is away, across a relay restart, and loses nothing it acknowledged', async () => {
    visitorIp = VISITOR_US
    // Warm: the relay has the app's settings before the server goes away.
    expect((await sendThroughSite('warm-up')).status).toBe(202)
    await tacit.server.stop()
    wire.setTarget(undefined)
    const names = Array.from({ length: 20 }, (_, i) => `spooled-${i}`)
    for (const name of names) {
      const answer = await sendThroughSite(name)
      expect(answer.status).toBe(202)
      expect(answer.body).toMatchObject({ spooled: true })
    }
    expect(await relayMetric('tacit_relay_spool_entries')).toBe(20)

    // The relay restarts while its server is still away: the spool is on disk.
    await relay.stop()
    relay = await startRelayProcess({ upstream: wire.url, relayKey, spoolDir: spool.path, args: ['--trusted-proxies', '127.0.0.1'] })
    expect(await relayMetric('tacit_relay_spool_entries')).toBe(20)

    const restarted: ServerProcess = await startServerProcess({ dataDir: tacit.dataDir })
    try {
      wire.setTarget(restarted.url)
      const events = await tacit.waitForEvents('every spooled event', (stored) => names.every((name) => stored.some((event) => event.custom?.name === name)))
      const spooled = events.filter((event) => event.custom?.name?.startsWith('spooled-'))
      // Once each, with the country the relay saw, and the time the relay received them.
      expect(spooled).toHaveLength(20)
      for (const event of spooled) expect(event.geo).toEqual({ country: 'US' })
      await expect.poll(() => relayMetric('tacit_relay_spool_entries'), { timeout: 10_000 }).toBe(0)
    } finally {
      await restarted.stop()
    }
  }, 60_000)

  async function sendThroughSite(name: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${site.origin}/rum/api/v1/ingest?token=${tacit.token}`, {
      method: 'POST',
      body: JSON.stringify({ type: 'custom', custom: { name } }),
      headers: { 'content-type': 'text/plain', 'user-agent': REGULAR_USER_AGENT },
    })
    const text = await response.text()
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
  }

  async function relayMetric(name: string): Promise<number> {
    const text = await (await fetch(`${relay.url}/metrics`)).text()
    return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN)
  }
})

function signJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`
}

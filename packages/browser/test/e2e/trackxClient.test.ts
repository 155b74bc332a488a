import { build } from 'esbuild'
import { resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runTacit } from '../../../server/test/support/tacitProcess.js'
import { type StoredEvent } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

/**
 * Issue 9: the unmodified `trackx` browser client (bundled from npm as a site's build would), set up with
 * `<Tacit>/v1/<TrackX key>`: its ping, uncaught errors, unhandled rejections and sent events arrive as Tacit
 * events, grouped into issues, and the page's CSP reports sent to the same key are stored too.
 */
const ROOT = resolve(import.meta.dirname, '../../../..')
const EMAIL = 'greta.lindqvist@example.org'

let trackxBundle = ''
beforeAll(async () => {
  const bundle = await build({
    stdin: { contents: "import * as trackx from 'trackx'; window.trackx = trackx", resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'iife',
    write: false,
    target: 'es2020',
  })
  trackxBundle = bundle.outputFiles[0]!.text
})

describe('the trackx client, unmodified, into Tacit', () => {
  const suite = useBrowserSuite()

  it('stores its errors, rejections and events with Tacit sessions, its pings as session markers, and counts what it cannot store', async () => {
    const { site, tacit, browser } = suite
    const created = await runTacit(['key', 'create', tacit.app, '--kind', 'trackx', '--json'], { dataDir: tacit.dataDir })
    const key = (JSON.parse(created.stdout) as { key: string }).key
    const endpoint = `${tacit.url}/v1/${key}`
    site.serve('/trackx/trackx.js', trackxBundle, { type: 'text/javascript' })
    site.serve(
      '/trackx/app.js',
      `function applyDiscount(cart) { return cart.total * 0.9 }
document.getElementById('throw').addEventListener('click', function onThrow() { applyDiscount(undefined) })
document.getElementById('reject').addEventListener('click', function onReject() { Promise.reject(new RangeError('Quantity out of range for ${EMAIL}')) })
document.getElementById('send').addEventListener('click', function onSend() { trackx.sendEvent(new Error('Order could not be placed'), { orderId: 1042, email: '${EMAIL}' }) })`,
      { type: 'text/javascript' },
    )
    site.serve(
      '/trackx/page',
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TrackX</title>
<script src="/trackx/trackx.js"></script>
<script>trackx.setup(${JSON.stringify(endpoint)}); trackx.meta.release = '1.2.3'; trackx.ping()</script>
</head><body><button id="throw">Throw</button><button id="reject">Reject</button><button id="send">Send</button><script src="/trackx/app.js"></script></body></html>`,
    )
    const tab = await browser.newPage()
    tab.on('pageerror', () => undefined)
    await tab.goto(site.url('/trackx/page'))
    await tab.waitForFunction(() => 'trackx' in window)
    await tab.click('#throw')
    await tab.click('#reject')
    await tab.click('#send')
    const lock = async () => tab.evaluate(() => localStorage.getItem('t__x'))

    const fromPage = (events: StoredEvent[]) => events.filter((event) => event.type === 'error' && event.view?.url === site.url('/trackx/page'))
    const events = await tacit.waitForEvents('the three TrackX errors and its ping', (all) => fromPage(all).length >= 3 && all.some((event) => event.custom?.name === 'trackx.ping'))
    const errors = fromPage(events)
    const uncaught = errors.find((event) => event.error!.type === 'TypeError')!
    expect(uncaught).toMatchObject({ release: '1.2.3', device: { type: 'desktop', browser: 'Chrome' } })
    expect(uncaught.error).toMatchObject({ handled: false, source: 'source' })
    expect(uncaught.error!.stack).toContain('applyDiscount')
    const rejected = errors.find((event) => event.error!.type === 'RangeError')!
    expect(rejected.error!.message).toBe('Quantity out of range for [email]')
    const sent = errors.find((event) => event.error!.message === 'Order could not be placed')!
    expect(sent.error).toMatchObject({ handled: true, source: 'custom' })
    expect(JSON.stringify(sent.context)).not.toContain(EMAIL)
    // The ping and the errors share the visitor's Tacit session.
    const ping = events.find((event) => event.custom?.name === 'trackx.ping')!
    expect(ping.session?.id).toBe(uncaught.session?.id)
    // Every answer was a 200: the client neither retried nor locked itself.
    expect(await lock()).toBeNull()
    await tab.close()

    const issues = await runTacit(['issues', tacit.app, '--json'], { dataDir: tacit.dataDir })
    const titles = (JSON.parse(issues.stdout) as Array<{ title: string }>).map((issue) => issue.title)
    expect(titles).toEqual(expect.arrayContaining([expect.stringMatching(/^TypeError: /), expect.stringMatching(/^RangeError: /), 'Error: Order could not be placed']))
  })

  it('answers what it cannot store with 200 (counted), an unknown key with 401, and a CSP report to the key is stored', async () => {
    const { tacit } = suite
    const created = await runTacit(['key', 'create', tacit.app, '--kind', 'trackx', '--json'], { dataDir: tacit.dataDir })
    const key = (JSON.parse(created.stdout) as { key: string }).key
    const post = (path: string, body: string, type = 'application/json') => fetch(`${tacit.url}/v1/${path}`, { method: 'POST', body, headers: { 'content-type': type } })
    const garbage = await post(`${key}/event`, '{"type": "not a number"}')
    expect(garbage.status).toBe(200)
    const unknown = await post(`tacit_trackx_${'A'.repeat(43)}/event`, '{"name":"Error","message":"x","type":4}')
    expect(unknown.status).toBe(401)
    const report = await post(
      `${key}/report`,
      JSON.stringify({ 'csp-report': { 'document-uri': 'https://shop.example/cart', 'blocked-uri': 'https://evil.example/x.js', 'violated-directive': 'script-src', disposition: 'enforce' } }),
      'application/csp-report',
    )
    expect(report.status).toBe(200)
    const events = await tacit.waitForEvents('the CSP report', (all) => all.some((event) => event.type === 'report'))
    expect(events.find((event) => event.type === 'report')!.report).toMatchObject({ type: 'csp-violation' })
    const stats = await tacit.todayStats()
    expect(stats.dropped.invalid).toBeGreaterThan(0)
  })
})

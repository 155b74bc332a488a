import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runTacit } from '../../../server/test/support/tacitProcess.js'
import { type StoredEvent } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

/**
 * Issue 9: the unmodified Datadog browser SDK (its CDN bundle, `window.DD_RUM`), pointed at Tacit with its
 * `proxy` option and a Tacit client token as `clientToken`, in the configuration docs/SDKS.md documents as
 * cookie-less. Its views, actions, errors, resources, long tasks and Web Vitals arrive translated, with Tacit's
 * own sessions, devices and scrubbing; it leaves no cookie and no localStorage entry.
 */
const MODULES = resolve(import.meta.dirname, '../../../../node_modules')
const VERSIONS = [
  { name: 'v7', bundle: resolve(MODULES, '@datadog/browser-rum/bundle/datadog-rum.js') },
  { name: 'v6', bundle: resolve(MODULES, '@datadog/browser-rum-v6/bundle/datadog-rum.js') },
].filter((version) => existsSync(version.bundle))

const EMAIL = 'greta.lindqvist@example.org'
const CARD = '4111 1111 1111 1111'

function page(tacitUrl: string, token: string, path: string): string {
  const init = {
    applicationId: '00000000-0000-4000-8000-000000000000',
    clientToken: token,
    site: 'datadoghq.com',
    proxy: `${tacitUrl}/api/compat/datadog`,
    service: 'shop',
    env: 'prod',
    version: '1.2.3',
    sessionSampleRate: 100,
    sessionReplaySampleRate: 0,
    trackResources: true,
    trackLongTasks: true,
    trackUserInteractions: true,
    sessionPersistence: 'memory',
    trackAnonymousUser: false,
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Datadog SDK</title>
<script src="${path}/datadog-rum.js"></script>
<script>window.DD_RUM.init(${JSON.stringify(init)}); window.DD_RUM.setUser({ id: 'user-42', email: '${EMAIL}' })</script>
</head><body>
<h1>Checkout</h1><p>A paragraph large enough to be the largest contentful paint of this small page.</p>
<button id="buy">Buy now</button>
<script src="${path}/app.js"></script>
</body></html>`
}

const APP = `
function checkout() { throw new TypeError('Cannot read properties of undefined (reading total) for ${EMAIL}') }
document.getElementById('buy').addEventListener('click', function onBuy() {
  setTimeout(checkout)
  window.DD_RUM.addError(new Error('Payment refused for card ${CARD}'))
  fetch('/pixel.png?order=7').then(function (response) { return response.blob() })
  var end = Date.now() + 160
  while (Date.now() < end) {}
})
`

describe.each(VERSIONS)('the Datadog browser SDK $name, unmodified, into Tacit', ({ name, bundle }) => {
  const suite = useBrowserSuite()

  it('stores its views, actions, errors, resources, long tasks and vitals, translated, and leaves no cookie or localStorage entry', async () => {
    const { site, tacit, browser } = suite
    const base = `/dd-${name}`
    site.serve(`${base}/datadog-rum.js`, readFileSync(bundle), { type: 'text/javascript' })
    site.serve(`${base}/app.js`, APP, { type: 'text/javascript' })
    site.serve(`${base}/page`, page(tacit.url, tacit.token, base))
    const tab = await browser.newPage()
    tab.on('pageerror', () => undefined)
    await tab.goto(site.url(`${base}/page`))
    await tab.waitForFunction(() => 'DD_RUM' in window)
    await tab.waitForLoadState('load')
    await tab.click('#buy')
    // The SDK reports a fetch once its Resource Timing entry is there; the click's long task once it ended.
    await tab.waitForFunction(() => performance.getEntriesByType('resource').some((entry) => entry.name.includes('/pixel.png')))
    await tab.waitForTimeout(1500)
    const storage = await tab.evaluate(() => ({
      cookie: document.cookie,
      local: Object.keys(localStorage),
      session: Object.keys(sessionStorage),
    }))
    const cookies = await browser.context.cookies()
    await tab.goto(site.url('/blank'))
    await tab.close()

    const onPage = (events: StoredEvent[]) => events.filter((event) => event.view?.url === site.url(`${base}/page`))
    const events = await tacit.waitForEvents(`the Datadog ${name} page's view, action, errors, resource and long task`, (all) => {
      const mine = onPage(all)
      const types = new Set(mine.map((event) => event.type))
      return (
        ['view', 'action', 'long_task', 'vital'].every((type) => types.has(type)) &&
        mine.filter((event) => event.type === 'error').length >= 2 &&
        mine.some((event) => event.resource?.url.includes('/pixel.png'))
      )
    })
    const stored = onPage(events)
    const view = stored.find((event) => event.type === 'view')!
    expect(view.view).toMatchObject({ loading_type: 'initial_load', version: expect.any(Number) })
    expect(view.view!.first_byte).toBeGreaterThanOrEqual(0)
    expect(view).toMatchObject({ service: 'shop', env: 'prod', release: '1.2.3', device: { type: 'desktop', browser: 'Chrome' } })

    const action = stored.find((event) => event.type === 'action')!
    expect(action.action).toMatchObject({ type: 'click', name: 'Buy now' })

    const errors = stored.filter((event) => event.type === 'error')
    const uncaught = errors.find((event) => event.error!.type === 'TypeError')!
    expect(uncaught.error).toMatchObject({ handled: false, source: 'source' })
    expect(uncaught.error!.message).toBe('Cannot read properties of undefined (reading total) for [email]')
    expect(uncaught.error!.stack).toContain('checkout')
    const handled = errors.find((event) => event.error!.message.startsWith('Payment refused'))!
    expect(handled.error).toMatchObject({ handled: true, message: 'Payment refused for card [card]' })

    const resource = stored.find((event) => event.type === 'resource' && event.resource!.url.includes('/pixel.png'))!
    expect(resource.resource).toMatchObject({ type: 'fetch', method: 'GET', status_code: 200 })
    expect(resource.resource!.duration).toBeGreaterThan(0)
    expect(resource.resource!.duration).toBeLessThan(10_000)
    // The click's busy loop: the longest of the page's long tasks (loading the page made one too).
    const longTask = stored.filter((event) => event.type === 'long_task').sort((a, b) => b.long_task!.duration - a.long_task!.duration)[0]!
    expect(longTask.long_task!.duration).toBeGreaterThanOrEqual(150)
    expect(longTask.long_task!.duration).toBeLessThan(10_000)

    // Web Vitals come from the view's final values (sent as the page was left).
    const vitals = new Map(stored.filter((event) => event.type === 'vital').map((event) => [event.vital!.name, event.vital!]))
    expect(vitals.get('TTFB')?.value).toBeGreaterThanOrEqual(0)
    expect(vitals.get('FCP')?.value).toBeGreaterThan(0)
    expect(vitals.get('FCP')?.rating).toMatch(/^(good|needs-improvement|poor)$/)

    // One Tacit session for the visit, never the SDK's own id; no user identity (the app does not allow it).
    const sessions = new Set(stored.map((event) => event.session?.id))
    expect(sessions.size).toBe(1)
    expect([...sessions][0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/)
    const everything = JSON.stringify(stored)
    expect(everything).not.toContain(EMAIL)
    expect(everything).not.toContain('user-42')
    expect(everything).not.toContain('00000000-0000-4000-8000-000000000000')

    // Grouped into issues like Tacit's own errors.
    const issues = await runTacit(['issues', tacit.app, '--json'], { dataDir: tacit.dataDir })
    const titles = (JSON.parse(issues.stdout) as Array<{ title: string }>).map((issue) => issue.title)
    expect(titles).toEqual(expect.arrayContaining([expect.stringMatching(/^TypeError: Cannot read properties of undefined/), expect.stringMatching(/^Error: Payment refused/)]))

    // Cookie-less: no cookie, no localStorage; v7 keeps a random per-tab id in sessionStorage, which dies with the tab.
    expect(storage.cookie).toBe('')
    expect(cookies).toEqual([])
    expect(storage.local).toEqual([])
    expect(storage.session.filter((key) => key !== '_dd_tab_id')).toEqual([])

    // Telemetry (if the SDK sent any) is counted, not stored.
    const stats = await tacit.todayStats()
    expect(stats.dropped.invalid ?? 0).toBe(0)
  })
})

import { describe, expect, it } from 'vitest'
import { launchChromium } from '../support/launchChromium.js'
import { scriptTagPage } from '../support/sdkPages.js'
import { onPath } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

const BODY = `
<button id="buy">Buy</button>
<form id="form"><input id="name" name="name"><button type="submit">Send</button></form>
<a id="next" href="/privacy/session/next">Next</a>`

// Route changes by history.pushState, a handled error and a submit that stays on the page.
const APP = `
document.getElementById('next').addEventListener('click', (event) => {
  event.preventDefault()
  history.pushState({}, '', event.target.href)
})
document.getElementById('form').addEventListener('submit', (event) => event.preventDefault())
`

describe('privacy on the visitor side, in Chromium', () => {
  const suite = useBrowserSuite()

  it('leaves no cookie, no Web Storage, no IndexedDB database and no cache after a full session', async () => {
    const { site, tacit, browser } = suite
    site.serve('/privacy/app.js', APP, { type: 'text/javascript' })
    site.serve('/privacy/session', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body: BODY, head: '<script src="/privacy/app.js" defer></script>' }))
    const page = await suite.open('/privacy/session')
    await page.waitForLoadState('load')
    await page.click('#buy')
    await page.fill('#name', 'Ada')
    await page.click('button[type=submit]')
    await page.click('#next')
    await page.evaluate(() => {
      const api = (window as unknown as { tacit: { addError(error: unknown): void; addEvent(name: string): void; setContext(c: object): void } }).tacit
      api.setContext({ plan: 'pro' })
      api.addEvent('checkout')
      api.addError(new Error('handled'))
    })
    await page.waitForTimeout(150)

    const storage = await page.evaluate(async () => ({
      cookie: document.cookie,
      local: localStorage.length,
      session: sessionStorage.length,
      databases: (await indexedDB.databases()).map((db) => db.name),
      caches: 'caches' in window ? await caches.keys() : [],
    }))
    expect(storage).toEqual({ cookie: '', local: 0, session: 0, databases: [], caches: [] })
    // Every origin of the profile: the test site's and the Tacit server's.
    expect(await browser.context.cookies()).toEqual([])
    await suite.leave(page)
    expect(await browser.context.cookies()).toEqual([])

    // It was a real session: its events arrived.
    const events = await tacit.waitForEvents('the session of the privacy page', (all) => onPath(all, site.origin, '/privacy/session').some((event) => event.custom?.name === 'checkout'))
    const types = new Set(onPath(events, site.origin, '/privacy/session').map((event) => event.type))
    for (const type of ['view', 'action', 'error', 'custom', 'resource']) expect(types).toContain(type)
  })

  it("drops the real HeadlessChrome User-Agent's events as a bot, while the regular User-Agent's are stored", async () => {
    const { site, tacit } = suite
    site.serve('/privacy/bot', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body: '<h1>Who is this?</h1>' }))
    site.serve('/privacy/visitor', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body: '<h1>A visitor</h1>' }))
    const before = (await tacit.todayStats()).dropped.bot ?? 0

    const headless = await launchChromium({ headlessUserAgent: true })
    try {
      const page = await headless.newPage()
      expect(await page.evaluate(() => navigator.userAgent)).toMatch(/HeadlessChrome\//)
      await page.goto(site.url('/privacy/bot'))
      await page.waitForFunction(() => 'tacit' in window)
      await page.evaluate(() => (window as unknown as { tacit: { addEvent(name: string): void } }).tacit.addEvent('from a headless browser'))
      await page.goto(site.url('/blank'))
      // Polled while the browser still runs: closing it could cut its last beacon short.
      const deadline = Date.now() + 10_000
      let dropped = before
      while (dropped - before < 2 && Date.now() < deadline) {
        await new Promise((wake) => setTimeout(wake, 200))
        dropped = (await tacit.todayStats()).dropped.bot ?? 0
      }
      expect(dropped - before, 'bot drops counted by tacit stats').toBeGreaterThanOrEqual(2) // at least the custom event and the view
    } finally {
      await headless.close()
    }
    const visitor = await suite.open('/privacy/visitor')
    expect(await visitor.evaluate(() => navigator.userAgent)).not.toMatch(/Headless/)
    await visitor.evaluate(() => (window as unknown as { tacit: { addEvent(name: string): void } }).tacit.addEvent('from a visitor'))
    await suite.leave(visitor)

    // The same page and SDK in a browser with a regular User-Agent: stored, not taken for a bot.
    const events = await tacit.waitForEvents("the regular browser's event", (all) => onPath(all, site.origin, '/privacy/visitor').some((event) => event.custom?.name === 'from a visitor'))
    expect(onPath(events, site.origin, '/privacy/visitor').every((event) => event.bot === undefined)).toBe(true)
    expect(onPath(events, site.origin, '/privacy/bot')).toEqual([])
    expect((await tacit.exportEvents()).some((event) => event.custom?.name === 'from a headless browser')).toBe(false)
  })
})

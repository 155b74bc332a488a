import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

/**
 * Typed into the demo's newsletter field: never collected. Were it sent, Tacit would store it scrubbed as
 * `[email]`, so the test looks for both.
 */
const TYPED = 'walrus.tangerine@example.org'

const ofType = (events: StoredEvent[], type: string) => events.filter((event) => event.type === type)

describe('the /demo page of tacit serve, in Chromium', () => {
  const suite = useBrowserSuite()

  it('sends what a visitor does to the demo app, under its strict Content-Security-Policy', async () => {
    const { tacit } = suite
    const page = await suite.browser.newPage()
    const console: string[] = []
    page.on('console', (message) => console.push(`${message.type()}: ${message.text()}`))
    const response = await page.goto(`${tacit.url}/demo`)
    expect(response!.status()).toBe(200)
    await page.waitForFunction(() => 'tacit' in window)
    await page.waitForLoadState('load')

    await page.click('#buy')
    await page.click('#hello')
    await page.click('text=Account of Jane Doe')
    await page.click('text=Private button')
    await page.click('#health')
    await page.waitForFunction(() => document.getElementById('health-result')!.textContent!.includes('200'))
    await page.fill('#email', TYPED)
    await page.click('#newsletter button[type=submit]')
    await page.waitForFunction(() => document.getElementById('newsletter-result')!.textContent !== '')
    await page.click('#throw')
    await page.click('#handled')
    await page.click('#reject')
    await page.click('nav a[data-route=products]')
    await page.waitForFunction(() => location.search === '?page=products')
    await page.waitForTimeout(150)
    await suite.leave(page)

    const events = await tacit.waitForEvents(
      'the demo page events in `tacit export demo`',
      (all) => ofType(all, 'view').length >= 2 && ofType(all, 'error').length >= 3 && ofType(all, 'action').some((event) => event.action!.name === 'Add to cart'),
      { app: 'demo' },
    )
    const names = ofType(events, 'action').map((event) => event.action!.name)
    expect(names).toEqual(expect.arrayContaining(['Add to cart', 'Say hello', 'Masked Element', 'Check the server’s health', 'Subscribe']))
    expect(names).not.toContain('Buy now')
    expect(names).not.toContain('Private button')
    expect(JSON.stringify(events)).not.toContain('Jane Doe')
    expect(JSON.stringify(events)).not.toContain(TYPED)
    expect(JSON.stringify(events)).not.toContain('[email]')

    const errors = ofType(events, 'error').map((event) => event.error!)
    expect(errors.find((error) => error.message === 'Demo: an uncaught error from a button')).toMatchObject({ type: 'Error', handled: false, source: 'source' })
    expect(errors.find((error) => error.handled === true)).toMatchObject({ type: 'SyntaxError', source: 'custom' })
    expect(errors.find((error) => error.message === 'Demo: an unhandled promise rejection')).toMatchObject({ handled: false })
    for (const error of errors) expect(error.stack).toContain('/demo/demo.js')

    // The page sends to its own server; Tacit scrubs the IP address in its URL.
    const views = ofType(events, 'view').map((event) => event.view!)
    expect(views.map((view) => [view.url.replace(/^http:\/\/[^/]+/, ''), view.loading_type]).sort()).toEqual([
      ['/demo', 'initial_load'],
      ['/demo?page=products', 'route_change'],
    ])
    const health = ofType(events, 'resource').find((event) => event.resource!.url.endsWith('/healthz'))
    expect(health!.resource).toMatchObject({ type: 'fetch', status_code: 200 })
    const image = ofType(events, 'resource').find((event) => event.resource!.url.endsWith('/demo/tacit.svg'))
    expect(image!.resource!.type).toBe('image')
    expect(new Set(events.map((event) => event.service))).toEqual(new Set(['tacit-demo']))

    // Nothing the page or the SDK does is blocked by the page's policy.
    expect(console.filter((line) => /Content.Security.Policy|Refused to/i.test(line))).toEqual([])
    expect(ofType(events, 'report')).toEqual([])
  })
})

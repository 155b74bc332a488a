import { describe, expect, it } from 'vitest'
import { scriptTagPage } from '../support/sdkPages.js'
import { onPath, type StoredEvent } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

// The page's own script, a file of its own, so the stacks have a URL to point to.
const APP = `
document.getElementById('throw').addEventListener('click', function throwUncaught() {
  throw new TypeError('e2e uncaught: cart is undefined')
})
document.getElementById('reject').addEventListener('click', function rejectPromise() {
  Promise.reject(new RangeError('e2e rejected: quantity out of range'))
})
document.getElementById('handled').addEventListener('click', function reportHandled() {
  try {
    JSON.parse('{ not json')
  } catch (error) {
    window.tacit.addError(error, { step: 'checkout' })
  }
})
`

const BODY = `
<button id="throw">Throw</button>
<button id="reject">Reject</button>
<button id="handled">Handle</button>`

const errors = (events: StoredEvent[]) => events.filter((event) => event.type === 'error')

describe('errors in Chromium', () => {
  const suite = useBrowserSuite()

  it('reports uncaught errors, unhandled rejections and handled errors with type, stack and handled flag', async () => {
    const { site, tacit } = suite
    site.serve('/errors/app.js', APP, { type: 'text/javascript' })
    site.serve('/errors/page', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body: BODY, head: '<script src="/errors/app.js" defer></script>' }))
    const page = await suite.open('/errors/page')
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await page.waitForLoadState('load')
    await page.click('#throw')
    await page.click('#reject')
    await page.click('#handled')
    await page.waitForTimeout(150) // the click on #throw is judged an error click at the end of its 100 ms window
    await suite.leave(page)
    // The SDK observes the errors; it must not swallow them (the page still sees them as uncaught).
    expect(pageErrors).toEqual(expect.arrayContaining(['e2e uncaught: cart is undefined', 'e2e rejected: quantity out of range']))

    const events = await tacit.waitForEvents('three errors of the errors page', (all) => errors(onPath(all, site.origin, '/errors/page')).length >= 3)
    const stored = errors(onPath(events, site.origin, '/errors/page'))
    expect(stored).toHaveLength(3)
    const script = site.url('/errors/app.js')
    const byMessage = (start: string) => stored.find((event) => event.error!.message.startsWith(start))?.error

    const uncaught = byMessage('e2e uncaught')
    expect(uncaught).toMatchObject({ message: 'e2e uncaught: cart is undefined', type: 'TypeError', handled: false, source: 'source' })
    expect(uncaught!.stack).toMatch(/^TypeError: e2e uncaught: cart is undefined\n\s+at HTMLButtonElement\.throwUncaught \(/)
    expect(uncaught!.stack).toContain(`${script}:3:`)

    const rejected = byMessage('e2e rejected')
    expect(rejected).toMatchObject({ message: 'e2e rejected: quantity out of range', type: 'RangeError', handled: false, source: 'source' })
    expect(rejected!.stack).toContain(`${script}:6:`)

    const handled = stored.find((event) => event.error!.handled === true)
    expect(handled!.error).toMatchObject({ type: 'SyntaxError', handled: true, source: 'custom' })
    expect(handled!.error!.message).toMatch(/JSON/)
    expect(handled!.error!.stack).toContain(script)
    expect(handled!.context).toEqual({ step: 'checkout' })

    // The click that threw is an error click; the view counted the three errors.
    const throwClick = onPath(events, site.origin, '/errors/page').find((event) => event.type === 'action' && event.action!.name === 'Throw')
    expect(throwClick!.action!.frustration).toContain('error_click')
    const view = onPath(events, site.origin, '/errors/page').find((event) => event.type === 'view')
    expect(view!.view!.error_count).toBe(3)
  })
})

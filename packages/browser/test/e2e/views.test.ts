import { describe, expect, it } from 'vitest'
import { scriptTagPage } from '../support/sdkPages.js'
import { onPath, type StoredEvent } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

const views = (events: StoredEvent[]) => events.filter((event) => event.type === 'view')

describe('views in Chromium', () => {
  const suite = useBrowserSuite()

  it('reports the initial view with ordered navigation timings, its time spent and its counts', async () => {
    const { site, tacit } = suite
    site.serve('/views/initial', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body: '<h1>Initial view</h1><img src="/pixel.png" alt="">' }))
    const page = await suite.open('/views/initial')
    await page.waitForLoadState('load')
    await page.evaluate(() => {
      const api = (window as unknown as { tacit: { addAction(name: string): void; addError(error: unknown): void } }).tacit
      api.addAction('first')
      api.addAction('second')
      api.addError(new Error('counted'))
    })
    const openedAt = Date.now()
    await page.waitForTimeout(300) // the view's time spent must cover at least this long
    await suite.leave(page)
    const leftAt = Date.now()

    const events = await tacit.waitForEvents('the initial view with its final counts', (all) =>
      views(onPath(all, site.origin, '/views/initial')).some((view) => view.view!.action_count === 2 && view.view!.load_event !== undefined),
    )
    const [stored, ...others] = views(onPath(events, site.origin, '/views/initial'))
    // One row per view id: the server keeps the highest version of each.
    expect(others).toEqual([])
    const view = stored!.view!
    expect(view.url).toBe(site.url('/views/initial'))
    expect(view.loading_type).toBe('initial_load')
    expect(view.version).toBeGreaterThanOrEqual(1)
    const { first_byte, dom_interactive, dom_content_loaded, dom_complete, load_event } = view
    for (const timing of [first_byte, dom_interactive, dom_content_loaded, dom_complete, load_event]) expect(timing).toBeGreaterThan(0)
    expect(first_byte!).toBeLessThanOrEqual(dom_interactive!)
    expect(dom_interactive!).toBeLessThanOrEqual(dom_content_loaded!)
    expect(dom_content_loaded!).toBeLessThanOrEqual(dom_complete!)
    expect(dom_complete!).toBeLessThanOrEqual(load_event!)
    // A loopback page loads in well under 5 s.
    expect(load_event!).toBeLessThan(5000)
    expect(view.time_spent).toBeGreaterThanOrEqual(300)
    expect(view.time_spent!).toBeLessThanOrEqual(leftAt - openedAt + 5000)
    // Every event of the page carries the view's id and the common fields.
    const sameView = onPath(events, site.origin, '/views/initial').filter((event) => event.type !== 'view')
    const count = (type: string) => sameView.filter((event) => event.type === type).length
    expect(view.action_count).toBe(2)
    expect(view.error_count).toBe(1)
    // The SDK bundle and the image at least; a first page load in a fresh browser may have a long task.
    expect(count('resource')).toBeGreaterThanOrEqual(2)
    expect(view.resource_count).toBe(count('resource'))
    expect(view.long_task_count).toBe(count('long_task'))
    expect(sameView.length).toBeGreaterThanOrEqual(3)
    for (const event of sameView) {
      expect(event.view!.id).toBe(stored!.view!.id)
      expect(event.service).toBe('e2e')
      expect(event.env).toBe('test')
    }
    expect(stored!.device).toMatchObject({ type: 'desktop', browser: 'Chrome', os: 'Linux' })
    expect(stored!.session!.id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('starts a new view on pushState, popstate and hashchange, and sends the view it ends with its final values', async () => {
    const { site, tacit } = suite
    const body = '<h1>SPA</h1>'
    site.serve('/views/spa', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body }))
    site.serve('/views/spa/two', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body }))
    const page = await suite.open('/views/spa')
    await page.waitForLoadState('load')
    const api = 'window.tacit'
    await page.evaluate(`${api}.addAction('in the first view')`)
    await page.waitForTimeout(200)
    await page.evaluate(() => history.pushState({}, '', '/views/spa/two'))
    await page.evaluate(`${api}.addAction('in the second view'); ${api}.addAction('in the second view again')`)
    // popstate: back to the first URL, as a new view.
    await page.evaluate(() => new Promise((done) => {
      addEventListener('popstate', done, { once: true })
      history.back()
    }))
    await page.evaluate(() => {
      location.hash = 'three'
    })
    await page.waitForFunction(() => location.hash === '#three')
    await page.evaluate(`${api}.addAction('in the fourth view')`)
    await suite.leave(page)

    const events = await tacit.waitForEvents('four views of the SPA page', (all) => views(onPath(all, site.origin, '/views/spa')).length >= 4)
    const spa = onPath(events, site.origin, '/views/spa')
    const byTs = views(spa).sort((a, b) => a.ts - b.ts)
    expect(byTs.map((event) => [event.view!.url, event.view!.loading_type])).toEqual([
      [site.url('/views/spa'), 'initial_load'],
      [site.url('/views/spa/two'), 'route_change'],
      [site.url('/views/spa'), 'route_change'],
      [site.url('/views/spa#three'), 'route_change'],
    ])
    const [first, second, third, fourth] = byTs.map((event) => event.view!)
    expect(new Set(byTs.map((event) => event.view!.id)).size).toBe(4)
    // Each route change names the URL it came from.
    expect(second!.referrer).toBe(first!.url)
    expect(third!.referrer).toBe(second!.url)
    expect(fourth!.referrer).toBe(third!.url)
    // The ended views were re-sent when they ended: their counts are final and their time spent stops there.
    expect(first!.action_count).toBe(1)
    expect(first!.version).toBeGreaterThanOrEqual(1)
    expect(first!.time_spent).toBeGreaterThanOrEqual(200)
    expect(second!.action_count).toBe(2)
    expect(third!.action_count).toBe(0)
    expect(fourth!.action_count).toBe(1)
    // And each action belongs to the view it happened in.
    const actionViews = spa.filter((event) => event.type === 'action').map((event) => [event.action!.name, event.view!.id])
    expect(actionViews.sort()).toEqual(
      [
        ['in the first view', first!.id],
        ['in the second view', second!.id],
        ['in the second view again', second!.id],
        ['in the fourth view', fourth!.id],
      ].sort(),
    )
  })
})

import { describe, expect, it } from 'vitest'
import { scriptTagPage } from '../support/sdkPages.js'
import { onPath, type StoredEvent } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

const ofType = (events: StoredEvent[], type: string) => events.filter((event) => event.type === type)

/** Keeps the main thread busy for `ms` inside a click listener of the page's own script. */
const BUSY_APP = `
function busy(ms) {
  const end = performance.now() + ms
  while (performance.now() < end) {}
}
document.getElementById('busy').addEventListener('click', function blockMainThread() {
  busy(Number(this.dataset.ms))
  document.getElementById('out').textContent = 'done'
})
`

describe('resources, long tasks, Web Vitals and reports in Chromium', () => {
  const suite = useBrowserSuite()

  it('reports an image and a fetch with their type, duration and status', async () => {
    const { site, tacit } = suite
    site.serve('/perf/slow.png', Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64'), { type: 'image/png', delayMs: 80 })
    site.serve('/perf/api', '{"created":true}', { type: 'application/json', status: 201, delayMs: 60 })
    site.serve('/perf/resources', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body: '<img src="/perf/slow.png" alt="slow" width="10" height="10">' }))
    const page = await suite.open('/perf/resources')
    await page.waitForLoadState('load')
    expect(await page.evaluate(() => fetch('/perf/api', { method: 'POST' }).then((response) => response.text().then(() => response.status)))).toBe(201)
    // The fetch's Resource Timing entry exists once its body has been read; leave right after.
    await page.waitForFunction(() => performance.getEntriesByName(new URL('/perf/api', location.href).href).length > 0)
    await suite.leave(page)

    const events = await tacit.waitForEvents('the image and the fetch', (all) => {
      const urls = ofType(onPath(all, site.origin, '/perf/resources'), 'resource').map((event) => event.resource!.url)
      return urls.includes(site.url('/perf/slow.png')) && urls.includes(site.url('/perf/api'))
    })
    const resources = ofType(onPath(events, site.origin, '/perf/resources'), 'resource')
    const image = resources.find((event) => event.resource!.url === site.url('/perf/slow.png'))!.resource!
    expect(image).toMatchObject({ type: 'image', status_code: 200, size: 68, render_blocking: false })
    expect(image.duration).toBeGreaterThanOrEqual(75)
    expect(image.duration).toBeLessThan(5000)
    expect(image.transfer_size).toBeGreaterThan(68)
    const api = resources.find((event) => event.resource!.url === site.url('/perf/api'))!.resource!
    expect(api).toMatchObject({ type: 'fetch', status_code: 201, size: 16 })
    expect(api.duration).toBeGreaterThanOrEqual(55)
    const sdk = resources.find((event) => event.resource!.url === site.url('/sdk/tacit.js'))!.resource!
    expect(sdk.type).toBe('js')
    // The SDK's own requests to Tacit are never reported as resources.
    expect(resources.filter((event) => event.resource!.url.includes('/api/v1/ingest'))).toEqual([])
  })

  it('reports a 120 ms busy click handler as a long task attributed to its script', async () => {
    const { site, tacit } = suite
    site.serve('/perf/busy.js', BUSY_APP, { type: 'text/javascript' })
    site.serve('/perf/longtask', scriptTagPage({
      endpoint: tacit.url,
      token: tacit.token,
      body: '<button id="busy" data-ms="120">Busy</button><p id="out"></p>',
      head: '<script src="/perf/busy.js" defer></script>',
    }))
    const page = await suite.open('/perf/longtask')
    await page.waitForLoadState('load')
    await page.click('#busy')
    await page.waitForFunction(() => document.getElementById('out')!.textContent === 'done')
    await page.waitForTimeout(100) // the entry is delivered after the frame ends
    await suite.leave(page)

    const events = await tacit.waitForEvents('the long task of the busy click', (all) =>
      ofType(onPath(all, site.origin, '/perf/longtask'), 'long_task').some((event) => event.long_task!.duration >= 100),
    )
    const tasks = ofType(onPath(events, site.origin, '/perf/longtask'), 'long_task').filter((event) => event.long_task!.duration >= 100)
    expect(tasks).toHaveLength(1)
    const task = tasks[0]!.long_task!
    expect(task.duration).toBeGreaterThanOrEqual(120)
    expect(task.duration).toBeLessThan(2000)
    // Chromium has Long Animation Frames, with script attribution.
    expect(task.type).toBe('long-animation-frame')
    expect(task.blocking_duration).toBeGreaterThanOrEqual(60)
    expect(task.blocking_duration!).toBeLessThanOrEqual(task.duration)
    expect(task.script_url).toBe(site.url('/perf/busy.js'))
    expect(task.invoker_type).toBe('event-listener')
    expect(task.invoker).toMatch(/^BUTTON#busy\.onclick$/)
    const view = ofType(onPath(events, site.origin, '/perf/longtask'), 'view')[0]!.view!
    expect(view.long_task_count).toBeGreaterThanOrEqual(1)
  })

  it('reports LCP, FCP, TTFB, CLS and INP once the page is hidden, with their targets', async () => {
    const { site, tacit } = suite
    // A shift well after load (and away from any input), then an interaction that takes 150 ms.
    const shift = `
addEventListener('load', () => setTimeout(() => {
  const banner = document.createElement('div')
  banner.id = 'late-banner'
  banner.style.height = '120px'
  banner.textContent = 'A late banner'
  document.getElementById('shifted').before(banner)
}, 100))`
    site.serve('/perf/shift.js', shift + BUSY_APP, { type: 'text/javascript' })
    site.serve('/perf/vitals', scriptTagPage({
      endpoint: tacit.url,
      token: tacit.token,
      body: '<h1 id="hero" class="title">The largest text on this page, by far, for the LCP</h1><button id="busy" data-ms="150">Work</button><p id="out"></p><p id="shifted">Moved down by the late banner.</p>',
      head: '<script src="/perf/shift.js" defer></script>',
    }))
    const page = await suite.open('/perf/vitals')
    await page.waitForLoadState('load')
    await page.waitForFunction(() => document.getElementById('late-banner') !== null)
    await page.waitForTimeout(100)
    await page.click('#busy')
    await page.waitForFunction(() => document.getElementById('out')!.textContent === 'done')
    // Headless Chromium produces no frame after a synthetic click until something asks for one, so idle
    // callbacks never run, and web-vitals only processes interactions in one (or, too late, on hide): a
    // screenshot renders a frame, as a real screen would.
    await page.screenshot()
    await page.waitForTimeout(100)
    await suite.leave(page)

    const events = await tacit.waitForEvents('five vitals of the vitals page', (all) => ofType(onPath(all, site.origin, '/perf/vitals'), 'vital').length >= 5)
    const vitals = ofType(onPath(events, site.origin, '/perf/vitals'), 'vital')
    const names = vitals.map((event) => event.vital!.name)
    // Once each: final values only.
    expect(names.sort()).toEqual(['CLS', 'FCP', 'INP', 'LCP', 'TTFB'])
    const vital = (name: string) => vitals.find((event) => event.vital!.name === name)!.vital!
    const ratings = ['good', 'needs-improvement', 'poor']
    for (const { vital: v } of vitals) expect(ratings).toContain(v!.rating)

    const ttfb = vital('TTFB')
    const fcp = vital('FCP')
    const lcp = vital('LCP')
    expect(ttfb.value).toBeGreaterThan(0)
    expect(ttfb.value).toBeLessThanOrEqual(fcp.value)
    expect(fcp.value).toBeLessThanOrEqual(lcp.value)
    expect(lcp.value).toBeLessThan(5000)
    expect(lcp.target).toBe('h1#hero')
    const cls = vital('CLS')
    expect(cls.value).toBeGreaterThan(0)
    expect(cls.value).toBeLessThan(1)
    expect(cls.target).toBe('p#shifted')
    const inp = vital('INP')
    expect(inp.value).toBeGreaterThanOrEqual(150)
    expect(inp.value).toBeLessThan(2000)
    expect(inp.target).toBe('button#busy')
    // They belong to the page's view.
    const view = ofType(onPath(events, site.origin, '/perf/vitals'), 'view')[0]!
    for (const event of vitals) expect(event.view!.id).toBe(view.view!.id)
  })

  it('reports a Content Security Policy violation', async () => {
    const { site, tacit } = suite
    // Another origin than the page's (127.0.0.1 instead of localhost), which the policy does not allow images from.
    const blocked = `${site.origin.replace('localhost', '127.0.0.1')}/pixel.png`
    site.serve('/perf/csp', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body: `<img src="${blocked}" alt="">` }), {
      headers: { 'content-security-policy': "img-src 'self'" },
    })
    const page = await suite.open('/perf/csp')
    await page.waitForLoadState('load')
    await suite.leave(page)

    const events = await tacit.waitForEvents('a csp-violation report', (all) => ofType(onPath(all, site.origin, '/perf/csp'), 'report').length > 0)
    const reports = ofType(onPath(events, site.origin, '/perf/csp'), 'report')
    expect(reports).toHaveLength(1)
    expect(reports[0]!.report!.type).toBe('csp-violation')
    const body = reports[0]!.report!.body
    expect(body).toMatchObject({ effectiveDirective: 'img-src', disposition: 'enforce', documentURL: site.url('/perf/csp') })
    // Tacit scrubs IP addresses from stored strings, so the blocked URL's host reads [ip].
    expect(body.blockedURL).toMatch(/^http:\/\/\[ip\]:\d+\/pixel\.png$/)
  })
})

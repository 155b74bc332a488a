import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { modulePage } from '../support/sdkPages.js'
import { onPath, type StoredEvent } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

type Api = { tacit: { addEvent(name: string, context?: object): void; setTrackingConsent(consent: string): void; addError(error: unknown): void } }

const customNames = (events: StoredEvent[]) => events.filter((event) => event.type === 'custom').map((event) => event.custom!.name)

/**
 * Requests the page makes to URLs containing `needle`. Playwright does not see beacons sent while a page
 * unloads, so this only proves what happened while the page was open; relays count on the server side.
 */
function recordRequests(page: Page, needle: string): string[] {
  const urls: string[] = []
  page.on('request', (request) => {
    if (request.url().includes(needle)) urls.push(request.url())
  })
  return urls
}

/** Counts the values of an array, listing those seen more than once. */
function duplicates(values: string[]): string[] {
  const seen = new Map<string, number>()
  for (const value of values) seen.set(value, (seen.get(value) ?? 0) + 1)
  return [...seen].filter(([, n]) => n > 1).map(([value, n]) => `${value} ×${n}`)
}

describe('delivery and options in Chromium', () => {
  const suite = useBrowserSuite()

  /**
   * 30 small events, then 30 of about 1 KB each: the queue passes 16 KiB, so part goes by fetch (still in
   * flight when the page goes) and the rest by beacon on hide. All must be stored, each once.
   */
  async function burstThenLeave(path: string, options: string) {
    const { site, tacit } = suite
    site.serve(path, modulePage({ endpoint: tacit.url, token: tacit.token, body: '<h1>Burst</h1>', options }))
    const page = await suite.open(path)
    await page.evaluate(() => {
      const { tacit } = window as unknown as Api
      for (let i = 0; i < 30; i++) tacit.addEvent(`burst ${i}`)
      for (let i = 0; i < 30; i++) tacit.addEvent(`large ${i}`, { filler: 'x'.repeat(1000) })
    })
    await suite.leave(page)

    const expected = [...Array.from({ length: 30 }, (_, i) => `burst ${i}`), ...Array.from({ length: 30 }, (_, i) => `large ${i}`)]
    await tacit.waitForEvents(`60 custom events of ${path}`, (all) => {
      const names = new Set(customNames(onPath(all, site.origin, path)))
      return expected.every((name) => names.has(name))
    })
    // Copies sent late would come with the last beacon: give them time to show.
    await new Promise((wake) => setTimeout(wake, 700))
    const names = customNames(onPath(await tacit.exportEvents(), site.origin, path))
    expect(expected.filter((name) => !names.includes(name)), 'lost').toEqual([])
    expect(duplicates(names), 'stored more than once').toEqual([])
  }

  it('loses nothing and sends nothing twice when the page is left right after 60 events', async () => {
    await burstThenLeave('/delivery/flush', '')
  })

  it('loses nothing and sends nothing twice when the page is left while the server is slow to answer', async () => {
    const { site, tacit } = suite
    // A relay that answers after 300 ms, as a distant server would: the batches sent by fetch are still
    // unanswered when the page goes away.
    site.handle('/relay/slow', async (request, response, body) => {
      const search = new URL(request.url ?? '/', 'http://site').search
      const answer = await fetch(`${tacit.url}/api/v1/ingest${search}`, {
        method: 'POST',
        body: new Uint8Array(body),
        headers: { 'content-type': 'text/plain', 'user-agent': request.headers['user-agent'] ?? '' },
      })
      await new Promise((wake) => setTimeout(wake, 300))
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text())
    })
    await burstThenLeave('/delivery/flush-slow', "proxy: '/relay/slow'")
  })

  it('posts through the proxy option, never to Tacit directly', async () => {
    const { site, tacit } = suite
    const relayed: string[] = []
    // The site's own first-party path, forwarding to Tacit's ingest as an operator's relay would.
    site.handle('/relay', async (request, response, body) => {
      const search = new URL(request.url ?? '/', 'http://site').search
      relayed.push(search)
      const answer = await fetch(`${tacit.url}/api/v1/ingest${search}`, {
        method: 'POST',
        body: new Uint8Array(body),
        headers: { 'content-type': request.headers['content-type'] ?? 'text/plain', 'user-agent': request.headers['user-agent'] ?? '' },
      })
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text())
    })
    site.serve('/delivery/proxy', modulePage({ endpoint: tacit.url, token: tacit.token, body: '<h1>Proxied</h1>', options: "proxy: '/relay'" }))
    const page = await suite.browser.newPage()
    const direct = recordRequests(page, tacit.url)
    await page.goto(site.url('/delivery/proxy'))
    await page.waitForFunction(() => 'tacit' in window)
    await page.evaluate(() => (window as unknown as Api).tacit.addEvent('through the proxy'))
    await suite.leave(page)

    const events = await tacit.waitForEvents('the proxied event', (all) => customNames(onPath(all, site.origin, '/delivery/proxy')).includes('through the proxy'))
    expect(onPath(events, site.origin, '/delivery/proxy').map((event) => event.type)).toContain('view')
    expect(relayed.length).toBeGreaterThanOrEqual(1)
    // The token rides along on the proxy URL, for a relay that forwards it.
    expect(relayed.every((search) => search === `?token=${tacit.token}`)).toBe(true)
    expect(direct).toEqual([])
  })

  it('drops an event beforeSend returns false for, applies its edits to listed fields only', async () => {
    const { site, tacit } = suite
    const beforeSend = `beforeSend: (event) => {
      if (event.type === 'custom' && event.custom.name === 'drop me') return false
      if (event.type === 'custom') event.custom.name = 'not editable'
      if (event.type === 'action' && event.action.name === 'Rename me') event.action.name = 'Renamed by beforeSend'
      event.service = 'not editable either'
      return event
    }`
    site.serve('/delivery/before-send', modulePage({ endpoint: tacit.url, token: tacit.token, body: '<button id="rename">Rename me</button>', options: beforeSend }))
    const page = await suite.open('/delivery/before-send')
    await page.evaluate(() => {
      const { tacit } = window as unknown as Api
      tacit.addEvent('drop me')
      tacit.addEvent('keep me')
    })
    await page.click('#rename')
    await page.waitForTimeout(150)
    await suite.leave(page)

    const events = await tacit.waitForEvents('the events beforeSend kept', (all) => {
      const mine = onPath(all, site.origin, '/delivery/before-send')
      return customNames(mine).includes('keep me') && mine.some((event) => event.type === 'action')
    })
    const mine = onPath(events, site.origin, '/delivery/before-send')
    expect(customNames(mine)).toEqual(['keep me'])
    expect(mine.filter((event) => event.type === 'action').map((event) => event.action!.name)).toEqual(['Renamed by beforeSend'])
    expect(new Set(mine.map((event) => event.service))).toEqual(new Set(['e2e']))
  })

  it("sends nothing before trackingConsent is granted, and collects from then on", async () => {
    const { site, tacit } = suite
    site.serve('/delivery/consent', modulePage({ endpoint: tacit.url, token: tacit.token, body: '<button id="early">Clicked before consent</button>', options: "trackingConsent: 'not-granted'" }))
    const page = await suite.open('/delivery/consent')
    await page.evaluate(() => (window as unknown as Api).tacit.addEvent('before consent'))
    await page.click('#early')
    await page.evaluate(() => (window as unknown as Api).tacit.addError(new Error('before consent')))
    await page.waitForTimeout(150)
    await page.evaluate(() => {
      const { tacit } = window as unknown as Api
      tacit.setTrackingConsent('granted')
      tacit.addEvent('after consent')
    })
    await suite.leave(page)

    const events = await tacit.waitForEvents('the event after consent', (all) => customNames(onPath(all, site.origin, '/delivery/consent')).includes('after consent'))
    // Had anything from before been queued, the page's last beacon would have carried it along.
    const mine = onPath(events, site.origin, '/delivery/consent')
    expect(customNames(mine)).toEqual(['after consent'])
    expect(mine.filter((event) => event.type === 'action' || event.type === 'error')).toEqual([])
  })

  it('sends nothing at sampleRate 0', async () => {
    const { site, tacit } = suite
    // Sent through a relay of the site's that counts what reaches it, beacons included.
    const received: Buffer[] = []
    site.handle('/relay/sampled-out', (_request, response, body) => {
      received.push(body)
      response.writeHead(202).end()
    })
    site.serve('/delivery/sampled-out', modulePage({ endpoint: tacit.url, token: tacit.token, body: '<button id="b">Button</button>', options: "sampleRate: 0, proxy: '/relay/sampled-out'" }))
    site.serve('/delivery/sampled-in', modulePage({ endpoint: tacit.url, token: tacit.token, body: '<h1>Control</h1>', options: 'sampleRate: 100' }))
    const page = await suite.open('/delivery/sampled-out')
    await page.evaluate(() => (window as unknown as Api).tacit.addEvent('sampled out'))
    await page.click('#b')
    await page.evaluate(() => (window as unknown as Api).tacit.addError(new Error('sampled out')))
    await suite.leave(page)

    // A page sampled in, loaded after it, arrives; by then anything of the first page would have too.
    const control = await suite.open('/delivery/sampled-in')
    await control.evaluate(() => (window as unknown as Api).tacit.addEvent('sampled in'))
    await suite.leave(control)
    const events = await tacit.waitForEvents('the sampled-in control event', (all) => customNames(onPath(all, site.origin, '/delivery/sampled-in')).includes('sampled in'))
    expect(onPath(events, site.origin, '/delivery/sampled-out')).toEqual([])
    expect(received.map((body) => body.toString())).toEqual([])
  })
})

// @vitest-environment happy-dom
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { Metric } from 'web-vitals'
import { trackVitals, vitalTarget } from '../../src/collectors/trackVitals.js'
import { collectorSdk } from './collectorSdk.js'

/** web-vitals needs a real browser; here each on* records its callback and options, and the test reports by hand. */
const subscriptions = vi.hoisted(() => new Map<string, { callback: (metric: unknown) => void; options: unknown }>())
vi.mock('web-vitals', () => {
  const on = (name: string) => (callback: (metric: unknown) => void, options: unknown) => subscriptions.set(name, { callback, options })
  return { onLCP: on('LCP'), onINP: on('INP'), onCLS: on('CLS'), onFCP: on('FCP'), onTTFB: on('TTFB') }
})

const metric = (name: Metric['name'], value: number, more: Partial<Metric> = {}): Metric => ({
  name,
  value,
  rating: 'good',
  delta: value,
  id: `v5-${name}`,
  entries: [],
  navigationType: 'navigate',
  ...more,
})
const report = (m: Metric) => subscriptions.get(m.name)!.callback(m)
const plain = (value: unknown) => JSON.parse(JSON.stringify(value))

beforeEach(() => {
  subscriptions.clear()
  document.body.innerHTML = '<main id="shop"><img class="hero" id="x"><button class="buy">Buy</button><p class="note">x</p></main>'
})

describe('trackVitals', () => {
  it('subscribes to the five vitals only when started, following every change', () => {
    expect(subscriptions.size).toBe(0)
    trackVitals(collectorSdk().sdk)
    expect([...subscriptions.keys()].sort()).toEqual(['CLS', 'FCP', 'INP', 'LCP', 'TTFB'])
    for (const { options } of subscriptions.values()) expect(options).toEqual({ reportAllChanges: true })
  })

  it('sends FCP and TTFB at once, and the last LCP, CLS and INP values when the page is hidden', () => {
    const { sdk, events, hide } = collectorSdk()
    trackVitals(sdk)
    report(metric('TTFB', 84.46))
    report(metric('FCP', 0))
    report(metric('LCP', 800))
    report(metric('LCP', 1240.4, { rating: 'needs-improvement' }))
    report(metric('CLS', 0.05))
    report(metric('CLS', 0.123456, { rating: 'needs-improvement' }))
    expect(events).toHaveLength(2)
    hide()
    const view = { id: 'v1', url: 'https://shop.example/' }
    expect(plain(events)).toEqual([
      { type: 'vital', view, vital: { name: 'TTFB', value: 84, rating: 'good' } },
      { type: 'vital', view, vital: { name: 'FCP', value: 0, rating: 'good' } },
      { type: 'vital', view, vital: { name: 'LCP', value: 1240, rating: 'needs-improvement' } },
      { type: 'vital', view, vital: { name: 'CLS', value: 0.1235, rating: 'needs-improvement' } },
    ])
  })

  it('sends an INP reported during the hide itself (web-vitals processes pending interactions then)', () => {
    const { sdk, events, hide } = collectorSdk()
    trackVitals(sdk)
    report(metric('INP', 208))
    hide()
    expect(plain(events.map((e) => e.vital))).toEqual([{ name: 'INP', value: 208, rating: 'good' }])
  })

  it('also sends what web-vitals finishes on visibilitychange, which comes after pagehide when leaving a page', () => {
    const { sdk, events, hide } = collectorSdk()
    const stop = trackVitals(sdk)
    report(metric('LCP', 900))
    hide() // pagehide
    report(metric('INP', 208)) // web-vitals' capturing visibilitychange handler
    const hidden = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden')
    window.dispatchEvent(new Event('visibilitychange'))
    expect(plain(events.map((e) => (e.vital as { name: string }).name))).toEqual(['LCP', 'INP'])
    stop()
    report(metric('CLS', 0.1))
    window.dispatchEvent(new Event('visibilitychange'))
    expect(events).toHaveLength(2)
    hidden.mockRestore()
  })

  it('sends each metric once, even when it grows after the tab came back', () => {
    const { sdk, events, hide } = collectorSdk()
    trackVitals(sdk)
    report(metric('CLS', 0.05))
    hide()
    report(metric('CLS', 0.2))
    hide()
    expect(events).toHaveLength(1)
  })

  it("belongs to the page load's view after an SPA route change, with that view's referrer", () => {
    const { sdk, events, hide } = collectorSdk()
    trackVitals(sdk)
    report(metric('LCP', 1240))
    sdk.startView('https://shop.example/cart', 'route_change')
    hide()
    expect(events[0]!.view).toEqual({ id: 'v1', url: 'https://shop.example/', referrer: undefined })
    // A page restored from the back/forward cache is measured again: those values go to the view current then.
    report(metric('LCP', 300, { id: 'v5-LCP-bfcache', navigationType: 'back-forward-cache' }))
    hide()
    expect(events[1]!.view).toEqual({ id: 'v2', url: 'https://shop.example/cart', referrer: 'https://shop.example/' })
  })

  it('sends nothing after stop (web-vitals cannot unsubscribe)', () => {
    const { sdk, events, hide } = collectorSdk()
    trackVitals(sdk)()
    report(metric('TTFB', 20))
    report(metric('INP', 200))
    hide()
    expect(events).toEqual([])
  })

  it('names the LCP element, the INP target and the largest shift source', () => {
    const { sdk, events, hide } = collectorSdk()
    trackVitals(sdk)
    const img = document.querySelector('img')!
    const button = document.querySelector('button')!
    const p = document.querySelector('p')!
    report(metric('LCP', 900, { entries: [{ element: button }, { element: img }] as unknown as PerformanceEntry[] }))
    report(metric('INP', 250, { entries: [{ target: null }, { target: button }] as unknown as PerformanceEntry[] }))
    const shift = (value: number, ...nodes: Array<Node | null>) => ({ value, sources: nodes.map((node) => ({ node })) })
    report(metric('CLS', 0.3, { entries: [shift(0.1, button), shift(0.2, document.createTextNode('t'), null, p), shift(0.05, img)] as unknown as PerformanceEntry[] }))
    hide()
    expect(events.map((e) => (e.vital as { target?: string }).target)).toEqual(['img#x', 'main#shop>button.buy', 'main#shop>p.note'])
  })

  it('has no target when the entries have no element', () => {
    expect(vitalTarget(metric('LCP', 1, { entries: [{ element: null }] as unknown as PerformanceEntry[] }))).toBeUndefined()
    expect(vitalTarget(metric('CLS', 0))).toBeUndefined()
    expect(vitalTarget(metric('TTFB', 1, { entries: [{}] as unknown as PerformanceEntry[] }))).toBeUndefined()
  })

  it('does nothing when turned off', () => {
    trackVitals(collectorSdk({ trackVitals: false }).sdk)
    expect(subscriptions.size).toBe(0)
  })
})

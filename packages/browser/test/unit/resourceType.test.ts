// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { resourceType, trackResources, withoutQuery } from '../../src/collectors/trackResources.js'
import { collectorSdk } from './collectorSdk.js'
import { fakePerformanceObserver } from './fakePerformanceObserver.js'

describe('resourceType', () => {
  it.each([
    ['xmlhttprequest', '/api/cart', 'xhr'],
    ['fetch', '/api/cart', 'fetch'],
    ['fetch', '/fonts/a.woff2', 'fetch'],
    ['beacon', '/collect', 'beacon'],
    ['navigation', '/', 'document'],
    ['iframe', '/embed', 'document'],
    ['script', '/app.js', 'js'],
    ['script', '/jsonp?cb=x', 'js'],
    ['img', '/logo.png', 'image'],
    ['image', '/sprite.svg', 'image'],
    ['video', '/clip.mp4', 'media'],
    ['audio', '/ping.ogg', 'media'],
    ['link', '/style.css', 'css'],
    ['link', '/style', 'css'],
    ['css', '/imported.css?v=2', 'css'],
    ['css', '/fonts/Inter.woff2?v=3#x', 'font'],
    ['css', '/fonts/Icons.TTF', 'font'],
    ['link', '/fonts/a.otf', 'font'],
    ['other', '/fonts/a.eot', 'font'],
    ['css', '/img/hero.webp', 'image'],
    ['link', '/chunk.mjs', 'js'],
    ['link', '/hero.jpg', 'image'],
    ['other', '/manifest.json', 'other'],
    ['', '/x', 'other'],
  ])('%s %s → %s', (initiator, path, type) => {
    expect(resourceType(initiator, `https://shop.example${path}`)).toBe(type)
  })
})

describe('withoutQuery', () => {
  it('makes the URL absolute and drops query and fragment', () => {
    expect(withoutQuery('https://tacit.example/api/v1/ingest?token=tc_x')).toBe('https://tacit.example/api/v1/ingest')
    expect(withoutQuery('/rum?token=tc_x#a')).toBe(`${location.origin}/rum`)
  })
})

describe('trackResources', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  const entry = (name: string, more: object = {}) => ({
    name,
    entryType: 'resource',
    initiatorType: 'script',
    startTime: 100.4,
    duration: 52.6,
    transferSize: 1300,
    decodedBodySize: 4000,
    responseStatus: 200,
    renderBlockingStatus: 'blocking',
    ...more,
  })

  it('observes buffered resource entries and maps them', () => {
    const observers = fakePerformanceObserver(['resource'])
    const { sdk, events } = collectorSdk()
    const stop = trackResources(sdk)
    expect(observers[0]!.options).toEqual({ type: 'resource', buffered: true })
    observers[0]!.feed([entry('https://cdn.example/app.js?token=s3cr3t')])
    expect(events).toEqual([
      {
        type: 'resource',
        ts: Math.round(performance.timeOrigin + 100.4),
        resource: { url: 'https://cdn.example/app.js?token=[secret]', type: 'js', duration: 53, transfer_size: 1300, size: 4000, status_code: 200, render_blocking: true },
      },
    ])
    stop()
    expect(observers[0]!.disconnected).toBe(true)
  })

  it('leaves out what the browser does not know: sizes without Timing-Allow-Origin, opaque status, old browsers', () => {
    const observers = fakePerformanceObserver(['resource'])
    const { sdk, events } = collectorSdk()
    trackResources(sdk)
    observers[0]!.feed([entry('https://other.example/a.png', { initiatorType: 'img', transferSize: 0, decodedBodySize: 0, responseStatus: 0, renderBlockingStatus: 'non-blocking' })])
    observers[0]!.feed([entry('https://shop.example/b.png', { initiatorType: 'img', responseStatus: undefined, renderBlockingStatus: undefined })])
    const [a, b] = events.map((e) => JSON.parse(JSON.stringify(e.resource)))
    expect(a).toEqual({ url: 'https://other.example/a.png', type: 'image', duration: 53, render_blocking: false })
    expect(b).toEqual({ url: 'https://shop.example/b.png', type: 'image', duration: 53, transfer_size: 1300, size: 4000 })
  })

  it("skips the SDK's own requests, with any query", () => {
    const observers = fakePerformanceObserver(['resource'])
    const { sdk, events } = collectorSdk()
    trackResources(sdk)
    observers[0]!.feed([
      entry('https://tacit.example/api/v1/ingest?token=tc_x', { initiatorType: 'beacon' }),
      entry('https://tacit.example/api/v1/ingest?token=tc_x&retry=1', { initiatorType: 'fetch' }),
      entry('https://tacit.example/api/v1/other', { initiatorType: 'fetch' }),
    ])
    expect(events.map((e) => (e.resource as { url: string }).url)).toEqual(['https://tacit.example/api/v1/other'])
  })

  it('skips requests to a relative proxy URL', () => {
    const observers = fakePerformanceObserver(['resource'])
    const { sdk, events } = collectorSdk({ proxy: '/rum', endpoint: undefined })
    trackResources(sdk)
    observers[0]!.feed([entry(`${location.origin}/rum?token=tc_x`, { initiatorType: 'beacon' })])
    expect(events).toEqual([])
  })

  it('does nothing when turned off or unsupported', () => {
    const observers = fakePerformanceObserver(['resource'])
    trackResources(collectorSdk({ trackResources: false }).sdk)()
    fakePerformanceObserver([])
    trackResources(collectorSdk().sdk)()
    vi.stubGlobal('PerformanceObserver', undefined)
    trackResources(collectorSdk().sdk)()
    expect(observers).toEqual([])
  })
})

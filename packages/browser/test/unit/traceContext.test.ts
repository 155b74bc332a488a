// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isTraced, traceContext, traceparent } from '../../src/collectors/traceContext.js'
import type { TacitOptions } from '../../src/core/types.js'
import { collectorSdk } from './collectorSdk.js'

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/
const OWN = 'https://tacit.example/api/v1/ingest'

describe('traceparent', () => {
  it('is a sampled W3C traceparent with random ids', () => {
    const values = Array.from({ length: 50 }, traceparent)
    for (const value of values) expect(value).toMatch(TRACEPARENT)
    expect(new Set(values).size).toBe(50)
    expect(new Set(values.map((v) => v.slice(3, 35))).size).toBe(50)
  })
})

describe('isTraced', () => {
  it('matches string prefixes of the absolute URL', () => {
    expect(isTraced('https://api.shop.example/cart', ['https://api.shop.example'], OWN)).toBe(true)
    expect(isTraced('https://api.shop.example.evil.example/', ['https://api.shop.example/'], OWN)).toBe(false)
    expect(isTraced('https://cdn.example/x', ['https://api.shop.example'], OWN)).toBe(false)
    expect(isTraced('/api/cart', [`${location.origin}/api/`], OWN)).toBe(true)
    expect(isTraced('/static/a.js', [`${location.origin}/api/`], OWN)).toBe(false)
  })

  it('matches RegExps, global ones the same on every call', () => {
    const allowed = [/^https:\/\/[a-z]+\.shop\.example\//g]
    for (let i = 0; i < 3; i++) expect(isTraced('https://api.shop.example/a', allowed, OWN)).toBe(true)
    expect(isTraced('https://shop.example/a', allowed, OWN)).toBe(false)
  })

  it("never traces the SDK's own endpoint", () => {
    expect(isTraced(`${OWN}?token=tc_x`, ['https://tacit.example', /./], OWN)).toBe(false)
    expect(isTraced('https://tacit.example/api/v1/other', ['https://tacit.example'], OWN)).toBe(true)
  })
})

describe('traceContext', () => {
  const fetch0 = window.fetch
  const proto = XMLHttpRequest.prototype
  const xhr0 = { open: proto.open, send: proto.send, setRequestHeader: proto.setRequestHeader }
  let calls: Array<[RequestInfo | URL, RequestInit | undefined]>
  let headersSet: Array<[string, string]>
  let stop = () => {}

  beforeEach(() => {
    calls = []
    headersSet = []
    window.fetch = async (input, init) => {
      calls.push([input, init])
      return new Response('')
    }
    proto.open = function () {}
    proto.send = function () {}
    proto.setRequestHeader = (name: string, value: string) => void headersSet.push([name, value])
  })
  afterEach(() => {
    stop()
    stop = () => {}
    window.fetch = fetch0
    Object.assign(proto, xhr0)
  })

  const start = (options: TacitOptions = { allowedTracingUrls: ['https://api.shop.example/', /^https:\/\/pay\./] }) => {
    const before = { fetch: window.fetch, open: proto.open, send: proto.send }
    stop = traceContext(collectorSdk(options).sdk)
    return before
  }
  const header = (init: RequestInit | undefined) => new Headers(init?.headers).get('traceparent')

  it('patches nothing by default', () => {
    const before = start({})
    expect(window.fetch).toBe(before.fetch)
    expect(proto.open).toBe(before.open)
    expect(proto.send).toBe(before.send)
  })

  it('adds traceparent to matching fetches only, keeping the init', async () => {
    start()
    await fetch('https://api.shop.example/cart', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })
    await fetch(new URL('https://pay.example/charge'))
    await fetch('https://cdn.example/a.js')
    await fetch('https://cdn.example/b.js', { method: 'GET' })
    const [cart, pay, cdn, cdn2] = calls
    expect(cart![1]).toMatchObject({ method: 'POST', body: 'x' })
    expect(new Headers(cart![1]!.headers).get('content-type')).toBe('text/plain')
    expect(header(cart![1])).toMatch(TRACEPARENT)
    expect(header(pay![1])).toMatch(TRACEPARENT)
    expect(cdn![1]).toBeUndefined()
    expect(cdn2![1]).toEqual({ method: 'GET' })
  })

  it("keeps a Request's own headers, or the init's, which replace them", async () => {
    start()
    await fetch(new Request('https://api.shop.example/a', { headers: { 'x-app': '1' } }))
    await fetch(new Request('https://api.shop.example/b', { headers: { 'x-app': '1' } }), { headers: [['x-init', '2']] })
    const [a, b] = calls
    expect(new Headers(a![1]!.headers).get('x-app')).toBe('1')
    expect(header(a![1])).toMatch(TRACEPARENT)
    expect(new Headers(b![1]!.headers).get('x-app')).toBeNull()
    expect(new Headers(b![1]!.headers).get('x-init')).toBe('2')
    expect(header(b![1])).toMatch(TRACEPARENT)
  })

  it("keeps the app's own traceparent", async () => {
    start()
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    await fetch('https://api.shop.example/a', { headers: { traceparent: own } })
    expect(header(calls[0]![1])).toBe(own)
  })

  it('never breaks a request: odd inputs go out untouched', async () => {
    start()
    const init = Object.create({ method: 'POST' }) as RequestInit
    await fetch('https://api.shop.example/a', init)
    await fetch('http://[bad', undefined)
    expect(calls[0]![1]).toBe(init)
    expect(calls[1]![1]).toBeUndefined()
  })

  it('adds traceparent to matching XHRs at send', () => {
    start()
    const a = new XMLHttpRequest()
    a.open('GET', 'https://api.shop.example/a')
    a.send()
    const b = new XMLHttpRequest()
    b.open('GET', 'https://cdn.example/a')
    b.send()
    new XMLHttpRequest().send()
    expect(headersSet).toHaveLength(1)
    expect(headersSet[0]![0]).toBe('traceparent')
    expect(headersSet[0]![1]).toMatch(TRACEPARENT)
  })

  it("skips the SDK's own endpoint", async () => {
    start({ allowedTracingUrls: ['https://tacit.example'] })
    await fetch(`${OWN}?token=tc_x`, { method: 'POST' })
    const x = new XMLHttpRequest()
    x.open('POST', `${OWN}?token=tc_x`)
    x.send()
    expect(calls[0]![1]).toEqual({ method: 'POST' })
    expect(headersSet).toEqual([])
  })

  it('restores the originals on stop, and passes through when wrapped again since', async () => {
    const before = start()
    stop()
    expect(window.fetch).toBe(before.fetch)
    expect(proto.open).toBe(before.open)
    expect(proto.send).toBe(before.send)

    start()
    const ours = window.fetch
    const theirs: typeof fetch = (input, init) => ours(input, init)
    window.fetch = theirs
    stop()
    expect(window.fetch).toBe(theirs)
    await fetch('https://api.shop.example/a')
    expect(calls[0]![1]).toBeUndefined()
  })
})

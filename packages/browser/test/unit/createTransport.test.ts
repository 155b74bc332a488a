// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTransport, type TransportResponse } from '../../src/core/createTransport.js'
import type { RumEvent } from '../../src/core/types.js'

interface Request {
  url: string
  body: string
  keepalive: boolean
  init: RequestInit
}

/** A fake clock with timers, a fake fetch answering from a script, and a fake sendBeacon. */
function setup(options: { beacon?: () => boolean; noBeacon?: boolean; onBeforeHideFlush?: () => void } = {}) {
  let time = 0
  let nextId = 1
  const timers = new Map<number, { fn: () => void; at: number }>()
  const requests: Request[] = []
  const beacons: Array<{ url: string; body: string }> = []
  const answers: Array<TransportResponse | Promise<TransportResponse> | Error | 'throw'> = []
  let hides = 0
  const transport = createTransport({
    url: 'https://tacit.example/api/v1/ingest?token=tc_x',
    now: () => time,
    onBeforeHideFlush: () => {
      hides++
      options.onBeforeHideFlush?.()
    },
    setTimer(fn, ms) {
      timers.set(nextId, { fn, at: time + ms })
      return nextId++
    },
    clearTimer(id) {
      timers.delete(id as number)
    },
    fetch(url, init) {
      const answer = answers.shift() ?? { status: 202, headers: new Headers() }
      if (answer === 'throw') throw new Error('fetch exploded')
      requests.push({ url, body: init.body as string, keepalive: init.keepalive === true, init })
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)
    },
    sendBeacon: options.noBeacon
      ? undefined
      : (url, data) => {
          const accepted = options.beacon ? options.beacon() : true
          if (accepted) beacons.push({ url, body: data })
          return accepted
        },
  })
  const stop = transport.start()
  stops.push(stop)
  return {
    transport,
    requests,
    beacons,
    answers,
    timers,
    hides: () => hides,
    /** Moves the clock, running the timers that fall due on the way, then lets promises settle. */
    async advance(ms: number) {
      const end = time + ms
      for (;;) {
        const due = [...timers.entries()].filter(([, timer]) => timer.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
        if (!due) break
        timers.delete(due[0])
        time = due[1].at
        due[1].fn()
        await settle()
      }
      time = end
      await settle()
    },
    at: () => time,
  }
}

const stops: Array<() => void> = []
afterEach(() => {
  stops.splice(0).forEach((stop) => stop())
  setVisibility('visible')
})

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))
const event = (n: number, pad = 0): RumEvent => ({ type: 'custom', custom: { name: `e${n}` }, context: pad ? { pad: 'x'.repeat(pad) } : undefined })
const lines = (body: string) => body.split('\n').map((line) => JSON.parse(line) as { custom: { name: string } })
const names = (body: string) => lines(body).map((line) => line.custom.name)
const status = (code: number, retryAfter?: string): TransportResponse => ({ status: code, headers: new Headers(retryAfter ? { 'Retry-After': retryAfter } : {}) })

function setVisibility(state: 'visible' | 'hidden') {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
}
function hide(type: 'visibilitychange' | 'pagehide' = 'visibilitychange') {
  setVisibility('hidden')
  if (type === 'pagehide') window.dispatchEvent(new Event('pagehide'))
  else document.dispatchEvent(new Event('visibilitychange', { bubbles: true }))
}
function show() {
  setVisibility('visible')
  document.dispatchEvent(new Event('visibilitychange', { bubbles: true }))
}

describe('createTransport batching', () => {
  it('runs no timer while the queue is empty', async () => {
    const t = setup()
    expect(t.timers.size).toBe(0)
    t.transport.push(event(1))
    expect(t.timers.size).toBe(1)
    await t.advance(10_000)
    expect(t.requests).toHaveLength(1)
    expect(t.timers.size).toBe(0)
    await t.advance(60_000)
    expect(t.requests).toHaveLength(1)
  })

  it('sends 10 s after the first queued event, not the last', async () => {
    const t = setup()
    t.transport.push(event(1))
    await t.advance(9_000)
    t.transport.push(event(2))
    await t.advance(999)
    expect(t.requests).toHaveLength(0)
    await t.advance(1)
    expect(t.requests).toHaveLength(1)
    expect(names(t.requests[0]!.body)).toEqual(['e1', 'e2'])
  })

  it('sends at once when 50 events are queued, as one NDJSON line each', () => {
    const t = setup()
    for (let i = 0; i < 49; i++) t.transport.push(event(i))
    expect(t.requests).toHaveLength(0)
    t.transport.push(event(49))
    expect(t.requests).toHaveLength(1)
    expect(names(t.requests[0]!.body)).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`))
    expect(t.timers.size).toBe(0)
  })

  it('sends at once when 16 KiB are queued', () => {
    const t = setup()
    for (let i = 0; i < 7; i++) t.transport.push(event(i, 2000))
    expect(t.requests).toHaveLength(0)
    t.transport.push(event(7, 2000))
    expect(t.requests).toHaveLength(1)
    expect(new TextEncoder().encode(t.requests[0]!.body).length).toBeGreaterThanOrEqual(16_384 - 1)
  })

  it('counts bytes in UTF-8', () => {
    const t = setup()
    // 1,500 three-byte characters: 4.5 KB in UTF-8 though only 1,500 UTF-16 units; four of them pass 16 KiB.
    for (let i = 0; i < 3; i++) t.transport.push({ type: 'custom', custom: { name: '€'.repeat(1500) + i } })
    expect(t.requests).toHaveLength(0)
    t.transport.push({ type: 'custom', custom: { name: '€'.repeat(1500) } })
    expect(t.requests).toHaveLength(1)
  })

  it('posts a string body (text/plain, no preflight) without credentials, keepalive when under 60 KB', () => {
    const t = setup()
    t.transport.push(event(1))
    t.transport.flush()
    t.transport.push(event(2, 70_000))
    expect(t.requests).toHaveLength(2)
    const [small, large] = t.requests
    expect(small!.url).toBe('https://tacit.example/api/v1/ingest?token=tc_x')
    expect(small!.init).toEqual({ method: 'POST', credentials: 'omit', keepalive: true, body: small!.body })
    expect(typeof small!.body).toBe('string')
    expect(large!.keepalive).toBe(false)
  })

  it('flush() sends what is queued and does nothing when empty', () => {
    const t = setup()
    t.transport.flush()
    expect(t.requests).toHaveLength(0)
    t.transport.push(event(1))
    t.transport.flush()
    expect(t.requests).toHaveLength(1)
    expect(t.timers.size).toBe(0)
  })
})

describe('createTransport on page hide', () => {
  it('asks the collectors for final values first, then sends everything with sendBeacon', () => {
    const t = setup({ onBeforeHideFlush: () => t.transport.push(event(99)) })
    t.transport.push(event(1))
    hide()
    expect(t.hides()).toBe(1)
    expect(t.requests).toHaveLength(0)
    expect(t.beacons).toHaveLength(1)
    // A string body, which sendBeacon sends as text/plain;charset=UTF-8: no preflight.
    expect(typeof t.beacons[0]!.body).toBe('string')
    expect(t.beacons[0]!.url).toBe('https://tacit.example/api/v1/ingest?token=tc_x')
    expect(names(t.beacons[0]!.body)).toEqual(['e1', 'e99'])
    expect(t.timers.size).toBe(0)
  })

  it('splits a large queue into beacons under 60 KB, in order', async () => {
    const t = setup()
    // Fill the retry buffer: the server fails, and events keep coming while the retry waits.
    t.answers.push(status(503))
    t.transport.push(event(0, 900))
    t.transport.flush()
    await settle()
    for (let i = 1; i < 180; i++) t.transport.push(event(i, 900))
    expect(t.requests).toHaveLength(1)
    hide()
    expect(t.beacons.length).toBeGreaterThanOrEqual(3)
    for (const beacon of t.beacons) expect(new TextEncoder().encode(beacon.body).length).toBeLessThan(60_000)
    expect(t.beacons.flatMap((beacon) => names(beacon.body))).toEqual(Array.from({ length: 180 }, (_, i) => `e${i}`))
  })

  it('falls back to fetch keepalive when sendBeacon refuses', () => {
    const t = setup({ beacon: () => false })
    t.transport.push(event(1))
    hide('pagehide')
    expect(t.beacons).toHaveLength(0)
    expect(t.requests).toHaveLength(1)
    expect(t.requests[0]!.keepalive).toBe(true)
    expect(names(t.requests[0]!.body)).toEqual(['e1'])
  })

  it('falls back to fetch keepalive when the browser has no sendBeacon', () => {
    const original = Object.getOwnPropertyDescriptor(navigator, 'sendBeacon')
    Object.defineProperty(navigator, 'sendBeacon', { configurable: true, value: undefined })
    try {
      const t = setup({ noBeacon: true })
      t.transport.push(event(1))
      hide()
      expect(t.requests).toHaveLength(1)
      expect(t.requests[0]!.keepalive).toBe(true)
    } finally {
      if (original) Object.defineProperty(navigator, 'sendBeacon', original)
      else delete (navigator as { sendBeacon?: unknown }).sendBeacon
    }
  })

  it('does not send the same events twice when visibilitychange and pagehide both fire', () => {
    const t = setup()
    t.transport.push(event(1))
    hide('visibilitychange')
    hide('pagehide')
    expect(t.hides()).toBe(1)
    expect(t.beacons).toHaveLength(1)
    // Events queued while hidden still go out on the next hide event, without asking the collectors again.
    t.transport.push(event(2))
    hide('pagehide')
    expect(t.hides()).toBe(1)
    expect(t.beacons.map((beacon) => names(beacon.body))).toEqual([['e1'], ['e2']])
  })

  it('asks for final values again after the page was visible again', () => {
    const t = setup()
    hide()
    show()
    hide()
    expect(t.hides()).toBe(2)
    expect(t.beacons).toHaveLength(0)
  })

  it('ignores visibilitychange to visible', () => {
    const t = setup()
    t.transport.push(event(1))
    show()
    expect(t.hides()).toBe(0)
    expect(t.beacons).toHaveLength(0)
  })

  it('removes its listeners when stopped', () => {
    const t = setup()
    stops.pop()!()
    t.transport.push(event(1))
    hide()
    hide('pagehide')
    expect(t.hides()).toBe(0)
    expect(t.beacons).toHaveLength(0)
  })
})

describe('createTransport answers', () => {
  it('holds everything for Retry-After seconds after a 429, then sends the batch again', async () => {
    const t = setup()
    t.answers.push(status(429, '30'))
    t.transport.push(event(1))
    t.transport.flush()
    await settle()
    for (let i = 2; i < 60; i++) t.transport.push(event(i))
    t.transport.flush()
    hide()
    expect(t.beacons).toHaveLength(0)
    await t.advance(29_999)
    expect(t.requests).toHaveLength(1)
    await t.advance(1)
    expect(t.requests).toHaveLength(2)
    expect(names(t.requests[1]!.body)).toEqual(Array.from({ length: 59 }, (_, i) => `e${i + 1}`))
  })

  it('waits 10 s after a 429 without a readable Retry-After', async () => {
    const t = setup()
    t.answers.push(status(429))
    t.transport.push(event(1))
    t.transport.flush()
    await settle()
    await t.advance(9_999)
    expect(t.requests).toHaveLength(1)
    await t.advance(1)
    expect(t.requests).toHaveLength(2)
  })

  it('retries 5xx and network errors with backoff, then gives up', async () => {
    const t = setup()
    t.answers.push(status(500), new TypeError('Failed to fetch'), status(503, '1'), status(502), status(500))
    t.transport.push(event(1))
    t.transport.flush()
    await settle()
    const sentAt: number[] = [t.at()]
    for (let i = 0; i < 300 && t.requests.length < 6; i++) {
      const before = t.requests.length
      await t.advance(100)
      if (t.requests.length > before) sentAt.push(t.at())
    }
    expect(sentAt).toEqual([0, 1000, 3000, 7000, 15000])
    expect(t.timers.size).toBe(0)
    await t.advance(120_000)
    expect(t.requests).toHaveLength(5)
    // The next batch starts with a fresh count.
    t.transport.push(event(2))
    t.transport.flush()
    expect(t.requests).toHaveLength(6)
  })

  it('sends nothing during a backoff, keeping at most 200 events and dropping the oldest', async () => {
    const t = setup()
    t.answers.push(status(503))
    for (let i = 0; i < 50; i++) t.transport.push(event(i))
    await settle()
    for (let i = 50; i < 400; i++) t.transport.push(event(i))
    expect(t.requests).toHaveLength(1)
    await t.advance(1000)
    expect(t.requests).toHaveLength(2)
    expect(names(t.requests[1]!.body)).toEqual(Array.from({ length: 200 }, (_, i) => `e${i + 200}`))
  })

  it('keeps at most 256 KiB for retries', async () => {
    const t = setup()
    t.answers.push(status(503))
    t.transport.push(event(0, 20_000))
    await settle()
    for (let i = 1; i < 40; i++) t.transport.push(event(i, 20_000))
    await t.advance(1000)
    const body = t.requests[1]!.body
    expect(body.length).toBeLessThanOrEqual(262_144)
    expect(names(body).at(-1)).toBe('e39')
    expect(names(body)).toHaveLength(13)
  })

  it('drops a batch refused with another 4xx, and logs nothing', async () => {
    const logged = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => vi.spyOn(console, method))
    const t = setup()
    t.answers.push(status(400), status(413))
    t.transport.push(event(1))
    t.transport.flush()
    t.transport.push(event(2))
    t.transport.flush()
    await t.advance(60_000)
    expect(t.requests).toHaveLength(2)
    expect(t.timers.size).toBe(0)
    for (const spy of logged) expect(spy).not.toHaveBeenCalled()
    vi.restoreAllMocks()
  })

  it('clear() drops what is queued and what waits for a retry', async () => {
    const t = setup()
    t.answers.push(status(503))
    t.transport.push(event(1))
    t.transport.flush()
    await settle()
    t.transport.push(event(2))
    t.transport.clear()
    expect(t.timers.size).toBe(0)
    await t.advance(60_000)
    hide()
    expect(t.requests).toHaveLength(1)
    expect(t.beacons).toHaveLength(0)
  })

  it('does not send a batch again when its keepalive request fails while the page is hidden', async () => {
    // The browser finishes keepalive requests after the page is gone and may reject their promise anyway:
    // re-sending by beacon stored events twice (found by the Chromium delivery test).
    const t = setup()
    let fail: (error: Error) => void = () => {}
    t.answers.push(new Promise((_resolve, reject) => (fail = reject)))
    for (let i = 0; i < 50; i++) t.transport.push(event(i))
    expect(t.requests).toHaveLength(1)
    hide('pagehide')
    fail(new TypeError('Failed to fetch'))
    await settle()
    hide('visibilitychange')
    await t.advance(60_000)
    expect(t.requests).toHaveLength(1)
    expect(t.beacons).toHaveLength(0)
  })

  it('clear() also drops a batch in flight that fails afterwards', async () => {
    const t = setup()
    let answer: (response: TransportResponse) => void = () => {}
    t.answers.push(new Promise((resolve) => (answer = resolve)))
    t.transport.push(event(1))
    t.transport.flush()
    t.transport.clear()
    answer(status(503))
    await settle()
    expect(t.timers.size).toBe(0)
    await t.advance(60_000)
    expect(t.requests).toHaveLength(1)
  })
})

describe('createTransport never throws into the page', () => {
  it('survives fetch throwing, sendBeacon throwing, a throwing hide listener and unserializable events', async () => {
    const t = setup({
      beacon: () => {
        throw new Error('beacon exploded')
      },
      onBeforeHideFlush: () => {
        throw new Error('collector exploded')
      },
    })
    t.answers.push('throw')
    const cyclic: RumEvent = { type: 'custom' }
    cyclic.context = { self: cyclic }
    expect(() => t.transport.push(cyclic)).not.toThrow()
    expect(() => t.transport.push({ type: 'custom', context: { n: 1n } })).not.toThrow()
    t.transport.push(event(1))
    expect(() => t.transport.flush()).not.toThrow()
    // The synchronous throw counts as a failure: the batch is retried.
    await t.advance(1000)
    expect(names(t.requests[0]!.body)).toEqual(['e1'])
    t.transport.push(event(2))
    expect(() => hide()).not.toThrow()
    expect(t.hides()).toBe(1)
  })

  it('survives a malformed response', async () => {
    const t = setup()
    t.answers.push({ status: 429 } as unknown as TransportResponse)
    t.transport.push(event(1))
    t.transport.flush()
    await settle()
    expect(t.requests).toHaveLength(1)
  })
})

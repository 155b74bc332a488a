import { describe, expect, it } from 'vitest'
import { createTransport, type TransportOptions, type TransportResponse } from '../../src/createTransport.js'
import { createFakeTimers, settle } from '../support/fakeTimers.js'

interface SentRequest {
  url: string
  body: string
  headers: Record<string, string>
  signal: AbortSignal
  events: number[]
}

type Answer = number | { status: number; retryAfter?: string } | Error | 'hang'

/**
 * A transport on fake timers and a fake server: `answers` are used in order (then 202); each request's
 * events are the `n` of `{"n":…}` lines.
 */
function setup(overrides: Partial<TransportOptions> = {}, answers: Answer[] = []) {
  const timers = createFakeTimers()
  const sent: SentRequest[] = []
  const warnings: string[] = []
  const transport = createTransport({
    url: 'http://tacit.test/api/v1/ingest',
    headers: { 'x-tacit-token': 'tc_test' },
    post: (url, init) => {
      sent.push({ url, body: init.body, headers: init.headers, signal: init.signal, events: init.body.split('\n').map((line) => (JSON.parse(line) as { n: number }).n) })
      const answer = answers.shift() ?? 202
      if (answer instanceof Error) return Promise.reject(answer)
      if (answer === 'hang') return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new Error('aborted'))))
      const { status, retryAfter } = typeof answer === 'number' ? { status: answer, retryAfter: undefined } : answer
      const response: TransportResponse = { status, headers: { get: (name) => (name.toLowerCase() === 'retry-after' ? (retryAfter ?? null) : null) } }
      return Promise.resolve(response)
    },
    now: timers.now,
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
    flushIntervalMs: 5000,
    batchSize: 3,
    maxQueue: 10,
    requestTimeoutMs: 10_000,
    warn: (message) => warnings.push(message),
    ...overrides,
  })
  const push = (...ns: number[]) => ns.forEach((n) => transport.push(JSON.stringify({ n })))
  return { transport, timers, sent, warnings, push }
}

describe('createTransport', () => {
  it('sends a full batch at once, and a partial one flushIntervalMs after its first event', async () => {
    const { timers, sent, push } = setup()
    expect(timers.pending()).toHaveLength(0)
    push(1, 2, 3, 4)
    await settle()
    expect(sent.map((request) => request.events)).toEqual([[1, 2, 3]])
    expect(sent[0]!.url).toBe('http://tacit.test/api/v1/ingest')
    expect(sent[0]!.headers['x-tacit-token']).toBe('tc_test')
    expect(sent[0]!.body).toBe('{"n":1}\n{"n":2}\n{"n":3}')
    await timers.advance(4999)
    expect(sent).toHaveLength(1)
    await timers.advance(1)
    expect(sent.map((request) => request.events)).toEqual([[1, 2, 3], [4]])
    // Idle again: no timer left running.
    expect(timers.pending()).toHaveLength(0)
  })

  it('never uses a timer that keeps the process alive for batching or retries', async () => {
    const { timers, push } = setup({}, [503])
    push(1)
    expect(timers.pending().every((timer) => !timer.keepAlive)).toBe(true)
    await timers.advance(5000)
    // The retry's backoff and the request timeout.
    expect(timers.pending().length).toBeGreaterThan(0)
    expect(timers.pending().every((timer) => !timer.keepAlive)).toBe(true)
  })

  it('retries 5xx and network errors after 1, 2, 4 and 8 s, then drops the batch and says so', async () => {
    const { timers, sent, push, warnings } = setup({}, [500, new Error('ECONNREFUSED'), 502, 503, 504])
    push(1)
    await timers.advance(5000)
    const times = [timers.now()]
    for (const wait of [1000, 2000, 4000, 8000]) {
      await timers.advance(wait - 1)
      expect(sent).toHaveLength(times.length)
      await timers.advance(1)
      times.push(timers.now())
      expect(sent).toHaveLength(times.length)
    }
    await timers.advance(60_000)
    expect(sent).toHaveLength(5)
    expect(warnings.join('\n')).toMatch(/dropped 1 event\(s\) after 5 attempts: server answered 504/)
    // The next batch starts with a clean slate.
    push(2)
    await timers.advance(5000)
    expect(sent.at(-1)!.events).toEqual([2])
  })

  it('treats a post that throws synchronously as a network error', async () => {
    const timers = createFakeTimers()
    let calls = 0
    const transport = createTransport({
      url: 'http://tacit.test/api/v1/ingest', headers: {}, now: timers.now, setTimer: timers.setTimer, clearTimer: timers.clearTimer,
      post: () => {
        calls++
        throw new TypeError('fetch failed')
      },
      flushIntervalMs: 10, batchSize: 10, maxQueue: 10, requestTimeoutMs: 1000, warn: () => undefined,
    })
    transport.push('{"n":1}')
    await timers.advance(10)
    expect(calls).toBe(1)
    expect(transport.pending()).toBe(1)
    await timers.advance(1000)
    expect(calls).toBe(2)
  })

  it('waits as long as a 429 asks (seconds or an HTTP date), and a flush does not cut the wait short', async () => {
    const { transport, timers, sent, push } = setup({}, [{ status: 429, retryAfter: '30' }, { status: 429, retryAfter: new Date(30_000 + 5000 + 20_000).toUTCString() }])
    push(1)
    await timers.advance(5000)
    expect(sent).toHaveLength(1)
    const flushed = transport.flush(10_000)
    await timers.advance(10_000)
    expect(await flushed).toBe(false)
    expect(sent).toHaveLength(1)
    await timers.advance(20_000 - 1)
    expect(sent).toHaveLength(1)
    await timers.advance(1)
    expect(sent).toHaveLength(2)
    // The second answer asked to wait until an HTTP date 20 s later.
    await timers.advance(19_000)
    expect(sent).toHaveLength(2)
    await timers.advance(1000)
    expect(sent).toHaveLength(3)
    expect(transport.pending()).toBe(0)
  })

  it('drops a batch the server refuses with another 4xx, without retrying', async () => {
    const { timers, sent, push, warnings, transport } = setup({}, [400])
    push(1)
    await timers.advance(5000)
    await timers.advance(60_000)
    expect(sent).toHaveLength(1)
    expect(transport.pending()).toBe(0)
    expect(warnings).toEqual(['dropped 1 event(s): server answered 400'])
  })

  it('keeps at most maxQueue events while the server is down, dropping the oldest', async () => {
    const { timers, sent, push, warnings, transport } = setup({ batchSize: 50 }, [503])
    push(1, 2, 3, 4, 5)
    await timers.advance(5000)
    push(6, 7, 8, 9, 10, 11, 12, 13)
    expect(transport.pending()).toBe(10)
    expect(warnings.filter((warning) => /dropped 1 queued event/.test(warning))).toHaveLength(3)
    await timers.advance(1000)
    expect(sent.at(-1)!.events).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
  })

  it('drops an event over 64 KiB before queueing it (the server would drop it too)', () => {
    const { transport, warnings } = setup()
    transport.push(JSON.stringify({ n: 1, big: 'x'.repeat(70_000) }))
    expect(transport.pending()).toBe(0)
    expect(warnings[0]).toMatch(/dropped an event of \d+ bytes/)
  })

  it('keeps at most two requests open at once', async () => {
    const { transport, timers, sent, push } = setup({ batchSize: 1 }, ['hang', 'hang'])
    push(1, 2, 3)
    await settle()
    expect(sent).toHaveLength(2)
    expect(transport.pending()).toBe(3)
    // Both time out and go back to the queue, to be retried after their backoff with the one that waited.
    await timers.advance(10_000)
    expect(sent).toHaveLength(2)
    expect(await transport.flush(1000)).toBe(true)
    expect(sent.slice(2).flatMap((request) => request.events).sort()).toEqual([1, 2, 3])
  })

  it('sends what a finished request left queued with the batch timer, not one request per event', async () => {
    const { timers, sent, push } = setup()
    // Event 4 is queued while the first request is open; that request's answer does not send it.
    push(1, 2, 3, 4)
    await timers.advance(4999)
    expect(sent).toHaveLength(1)
    await timers.advance(1)
    expect(sent.map((request) => request.events)).toEqual([[1, 2, 3], [4]])
  })

  describe('flush', () => {
    it('resolves true at once when nothing is queued', async () => {
      const { transport } = setup()
      expect(await transport.flush(1000)).toBe(true)
    })

    it('sends now and resolves true once the server has answered', async () => {
      const { transport, sent, push } = setup()
      push(1)
      const result = await transport.flush(1000)
      expect(result).toBe(true)
      expect(sent.map((request) => request.events)).toEqual([[1]])
    })

    it('skips a retry backoff', async () => {
      const { transport, timers, sent, push } = setup({}, [503])
      push(1)
      await timers.advance(5000)
      expect(sent).toHaveLength(1)
      expect(await transport.flush(1000)).toBe(true)
      expect(sent).toHaveLength(2)
    })

    it('gives up at its deadline, abandoning open requests (their events stay queued) and holding the process only that long', async () => {
      const { transport, timers, sent, push } = setup({}, ['hang'])
      push(1, 2)
      const result = transport.flush(2000)
      await settle()
      expect(sent).toHaveLength(1)
      expect(timers.pending().filter((timer) => timer.keepAlive).map((timer) => timer.at)).toEqual([2000])
      await timers.advance(2000)
      expect(await result).toBe(false)
      expect(sent[0]!.signal.aborted).toBe(true)
      expect(transport.pending()).toBe(2)
      expect(timers.pending().every((timer) => !timer.keepAlive)).toBe(true)
      await timers.advance(1000)
      expect(sent.at(-1)!.events).toEqual([1, 2])
      expect(transport.pending()).toBe(0)
    })

    it('with `once`, gives up at the first failure instead of waiting through retries', async () => {
      const { transport, timers, sent, push } = setup({ batchSize: 1 }, [503, 'hang'])
      push(1, 2)
      const result = transport.flush(10_000, { once: true })
      await settle()
      expect(await result).toBe(false)
      expect(sent).toHaveLength(2)
      // The other open request is abandoned too, and nothing holds the process any more.
      expect(sent[1]!.signal.aborted).toBe(true)
      expect(timers.pending().every((timer) => !timer.keepAlive)).toBe(true)
      expect(transport.pending()).toBe(2)
    })
  })

  it('drainBodies takes what is queued as NDJSON bodies of at most batchSize events, leaving requests in flight alone', async () => {
    const { transport, timers, sent, push } = setup({}, ['hang', 'hang'])
    push(1, 2, 3, 4, 5, 6)
    await settle()
    expect(sent).toHaveLength(2)
    push(7, 8, 9, 10)
    expect(transport.drainBodies()).toEqual(['{"n":7}\n{"n":8}\n{"n":9}', '{"n":10}'])
    expect(transport.pending()).toBe(6)
    expect(transport.drainBodies()).toEqual([])
    await timers.advance(10_000)
  })

  it('stop cancels its timers', () => {
    const { transport, timers, push } = setup()
    push(1)
    expect(timers.pending()).toHaveLength(1)
    transport.stop()
    expect(timers.pending()).toHaveLength(0)
    expect(transport.pending()).toBe(1)
  })
})

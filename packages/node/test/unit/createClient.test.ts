import { describe, expect, it } from 'vitest'
import { createClient, type ClientDeps, type ProcessHooks } from '../../src/createClient.js'
import type { SyncRequest } from '../../src/sendSync.js'
import type { TacitErrorEvent, TacitNodeOptions } from '../../src/types.js'
import { createFakeTimers, settle } from '../support/fakeTimers.js'

const BASE: TacitNodeOptions = { token: 'tc_test', endpoint: 'http://tacit.test/', service: 'api', env: 'prod', release: '1.2.3' }

/** A client on fake timers, a fake server (202 unless `status` says otherwise) and fake process hooks. */
function setup(options: Partial<TacitNodeOptions> = {}, { status = 202, syncResult = true } = {}) {
  const timers = createFakeTimers()
  const requests: Array<{ url: string; headers: Record<string, string>; events: TacitErrorEvent[] }> = []
  const syncSends: Array<{ request: SyncRequest; timeoutMs: number }> = []
  const warnings: string[] = []
  let hooks: ProcessHooks | undefined
  let stopped = 0
  const deps: ClientDeps = {
    post: (url, init) => {
      requests.push({ url, headers: init.headers, events: parse(init.body) })
      return Promise.resolve({ status, headers: { get: () => null } })
    },
    now: () => 1_700_000_000_000 + timers.now(),
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
    sendSync: (request, timeoutMs) => {
      syncSends.push({ request, timeoutMs })
      return syncResult
    },
    trackProcess: (given) => {
      hooks = given
      return () => stopped++
    },
    userAgent: 'tacit-node/0.0.0 node/20.0.0 linux',
    warn: (message) => warnings.push(message),
  }
  const client = createClient({ ...BASE, ...options }, deps)
  const sent = () => requests.flatMap((request) => request.events)
  const sentSync = () => syncSends.flatMap((send) => send.request.bodies.flatMap(parse))
  return { client, timers, requests, sent, syncSends, sentSync, warnings, hooks: () => hooks!, stopped: () => stopped }
}

function parse(body: string): TacitErrorEvent[] {
  return body.split('\n').map((line) => JSON.parse(line) as TacitErrorEvent)
}

describe('createClient', () => {
  it('sends captureException as a handled `custom` error with the common fields, and nothing about the host', async () => {
    const { client, sent, requests } = setup()
    const error = new TypeError('Cannot read properties of undefined')
    client.captureException(error, { order: 42 })
    expect(await client.flush(1000)).toBe(true)
    const [event] = sent()
    expect(Object.keys(event!).sort()).toEqual(['context', 'env', 'error', 'release', 'service', 'ts', 'type'])
    expect(event).toEqual({
      type: 'error',
      ts: 1_700_000_000_000,
      service: 'api',
      env: 'prod',
      release: '1.2.3',
      context: { order: 42 },
      error: { message: 'Cannot read properties of undefined', type: 'TypeError', stack: error.stack, handled: true, source: 'custom' },
    })
    expect(requests[0]!.url).toBe('http://tacit.test/api/v1/ingest')
    expect(requests[0]!.headers).toEqual({ 'content-type': 'application/x-ndjson', 'user-agent': 'tacit-node/0.0.0 node/20.0.0 linux', 'x-tacit-token': 'tc_test' })
  })

  it('sends the Origin header only when configured', async () => {
    const { client, requests } = setup({ origin: 'https://api.example' })
    client.captureMessage('hello')
    await client.flush(1000)
    expect(requests[0]!.headers.origin).toBe('https://api.example')
  })

  it('sends captureMessage as a `logger` error without type or stack', async () => {
    const { client, sent } = setup({ service: undefined, env: undefined, release: undefined })
    client.captureMessage('cache miss rate high', { rate: 0.4 })
    await client.flush(1000)
    expect(sent()).toEqual([{ type: 'error', ts: 1_700_000_000_000, context: { rate: 0.4 }, error: { message: 'cache miss rate high', handled: true, source: 'logger' } }])
  })

  it('reports the same error object once', async () => {
    const { client, sent } = setup()
    const error = new Error('twice')
    client.captureException(error)
    client.captureException(error)
    await client.flush(1000)
    expect(sent()).toHaveLength(1)
  })

  it('leaves out a context JSON cannot write, and never throws for odd input', async () => {
    const { client, sent } = setup({ debug: true })
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(() => {
      client.captureException(new Error('circular'), circular)
      client.captureException(new Error('bigint'), { n: 1n } as unknown as Record<string, unknown>)
      client.captureException(Object.create(null) as object)
      client.captureException(undefined)
      client.captureMessage(42 as unknown as string, 'not an object' as unknown as Record<string, unknown>)
    }).not.toThrow()
    await client.flush(1000)
    expect(sent().map((event) => [event.error.message, event.context])).toEqual([
      ['circular', undefined],
      ['bigint', undefined],
      ['{}', undefined],
      ['undefined', undefined],
      ['42', undefined],
    ])
  })

  describe('beforeSend', () => {
    it('may edit the message, type, stack, fingerprint and context, and nothing else', async () => {
      const { client, sent } = setup({
        beforeSend: (event) => {
          event.error.message = event.error.message.replace(/\d+/g, 'N')
          event.error.fingerprint = 'db-timeout'
          delete event.error.stack
          event.context = { ...event.context, edited: true }
          event.release = 'forged'
          event.error.handled = false
          ;(event as unknown as Record<string, unknown>).usr = { id: 'u1' }
          return event
        },
      })
      client.captureException(new Error('timeout after 3000 ms'), { query: 'users' })
      await client.flush(1000)
      const [event] = sent()
      expect(event!.error).toEqual({ message: 'timeout after N ms', type: 'Error', handled: true, source: 'custom', fingerprint: 'db-timeout' })
      expect(event!.context).toEqual({ query: 'users', edited: true })
      expect(event!.release).toBe('1.2.3')
      expect(event).not.toHaveProperty('usr')
    })

    it('drops the event when it returns null or false, or throws', async () => {
      const { client, sent } = setup({
        beforeSend: (event) => {
          if (event.error.message === 'null') return null
          if (event.error.message === 'false') return false
          if (event.error.message === 'throw') throw new Error('oops')
          // Edited in place, nothing returned: sent with the edits.
          event.error.message = 'kept'
        },
      })
      for (const message of ['null', 'false', 'throw', 'other']) client.captureMessage(message)
      await client.flush(1000)
      expect(sent().map((event) => event.error.message)).toEqual(['kept'])
    })

    it('gets a copy: changing a nested object does not reach the application', async () => {
      const context = { nested: { a: 1 } }
      const { client } = setup({ beforeSend: (event) => void ((event.context!.nested as { a: number }).a = 2) })
      client.captureException(new Error('x'), context)
      expect(context.nested.a).toBe(1)
    })
  })

  it('does nothing, and does not listen to the process, without a token or an http(s) endpoint', async () => {
    for (const options of [{ token: '' }, { endpoint: 'tacit.example' }, { endpoint: 'file:///etc' }, { token: undefined }]) {
      const { client, requests, hooks, warnings } = setup({ ...options, debug: true })
      client.captureException(new Error('nowhere'))
      expect(await client.flush(100)).toBe(true)
      expect(requests).toHaveLength(0)
      expect(hooks()).toBeUndefined()
      expect(warnings[0]).toMatch(/needs a token and an http\(s\) endpoint/)
    }
  })

  describe('process errors', () => {
    it('sends a fatal uncaught exception synchronously, with everything queued before it, then the exit listener has nothing left', () => {
      const { client, hooks, syncSends, sentSync } = setup({ shutdownTimeoutMs: 1500 })
      client.captureMessage('before the crash')
      const crash = new RangeError('boom')
      hooks().report(crash, 'uncaughtException', true)
      expect(syncSends).toHaveLength(1)
      expect(syncSends[0]!.timeoutMs).toBe(1500)
      expect(syncSends[0]!.request.url).toBe('http://tacit.test/api/v1/ingest')
      expect(syncSends[0]!.request.headers['user-agent']).toBe('tacit-node/0.0.0 node/20.0.0 linux')
      expect(sentSync().map((event) => [event.error.message, event.error.type, event.error.handled, event.error.source])).toEqual([
        ['before the crash', undefined, true, 'logger'],
        ['boom', 'RangeError', false, 'source'],
      ])
      hooks().exit()
      expect(syncSends).toHaveLength(1)
    })

    it('does not report an error twice when it was captured, then thrown', () => {
      const { client, hooks, sentSync } = setup()
      const error = new Error('captured then rethrown')
      client.captureException(error)
      hooks().report(error, 'uncaughtException', true)
      expect(sentSync().map((event) => event.error.source)).toEqual(['custom'])
    })

    it('names an unhandled rejection of a non-Error, and keeps an Error rejection as it is', () => {
      const { hooks, sentSync } = setup()
      hooks().report({ code: 7 }, 'unhandledRejection', true)
      hooks().report(new Error('rejected'), 'unhandledRejection', true)
      expect(sentSync().map((event) => [event.error.message, event.error.type])).toEqual([
        ['Unhandled promise rejection: {"code":7}', undefined],
        ['rejected', 'Error'],
      ])
    })

    it('sends a non-fatal one (the application handles it) on the next turn, or at exit if the application exits first', async () => {
      const a = setup()
      a.hooks().report(new Error('handled by the app'), 'uncaughtException', false)
      expect(a.syncSends).toHaveLength(0)
      await a.timers.advance(0)
      expect(a.sent().map((event) => event.error.message)).toEqual(['handled by the app'])

      const b = setup()
      b.hooks().report(new Error('then process.exit()'), 'uncaughtException', false)
      b.hooks().exit()
      expect(b.sentSync().map((event) => event.error.message)).toEqual(['then process.exit()'])
    })

    it('sends what is queued on beforeExit, once, and tries nothing more when that fails', async () => {
      const { client, hooks, requests, timers, syncSends } = setup({}, { status: 503 })
      client.captureMessage('queued when the loop ran dry')
      hooks().beforeExit()
      await settle()
      expect(requests).toHaveLength(1)
      // The failure ends the attempt at once: nothing holds the process, so the loop runs dry again.
      expect(timers.pending().every((timer) => !timer.keepAlive)).toBe(true)
      hooks().beforeExit()
      await settle()
      hooks().exit()
      expect(requests).toHaveLength(1)
      expect(syncSends).toHaveLength(0)
    })

    it('sends on beforeExit again when new events came since', async () => {
      const { client, hooks, requests } = setup()
      client.captureMessage('first')
      hooks().beforeExit()
      await settle()
      client.captureMessage('second')
      hooks().beforeExit()
      await settle()
      expect(requests.map((request) => request.events.map((event) => event.error.message))).toEqual([['first'], ['second']])
    })

    it('sends nothing at the end with shutdownTimeoutMs: 0', () => {
      const { client, hooks, syncSends, requests } = setup({ shutdownTimeoutMs: 0 })
      client.captureMessage('left behind')
      hooks().beforeExit()
      hooks().exit()
      expect(syncSends).toHaveLength(0)
      expect(requests).toHaveLength(0)
    })

    it('passes captureUncaught and captureRejections on, true unless set to false', () => {
      expect([setup().hooks().captureUncaught, setup().hooks().captureRejections]).toEqual([true, true])
      const off = setup({ captureUncaught: false, captureRejections: false }).hooks()
      expect([off.captureUncaught, off.captureRejections]).toEqual([false, false])
    })
  })

  it('close stops listening to the process and ignores later captures', async () => {
    const { client, stopped, sent } = setup()
    client.captureMessage('before close')
    expect(await client.close(1000)).toBe(true)
    expect(stopped()).toBe(1)
    client.captureMessage('after close')
    expect(await client.flush(1000)).toBe(true)
    expect(sent().map((event) => event.error.message)).toEqual(['before close'])
  })
})

import { describe, expect, it } from 'vitest'
import { resolveSettings } from '../../src/apps/appSettings.js'
import type { DropReason } from '../../src/pipeline/dropReasons.js'
import { createIngestPipeline } from '../../src/pipeline/ingestPipeline.js'
import { createGeoLookup } from '../../src/privacy/geo/createGeoLookup.js'
import { createMemorySessionKeyStore } from '../../src/sessions/createMemorySessionKeyStore.js'
import { runPipeline, type RequestContext, type Stage } from '../../src/pipeline/runPipeline.js'
import { clampTimestamp } from '../../src/pipeline/stages/clampTimestamp.js'
import { createParseUserAgent, describeUserAgent } from '../../src/pipeline/stages/parseUserAgent.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { LIMITS } from '../../src/protocol/limits.js'

const RECEIVED_AT = Date.UTC(2024, 4, 1, 12, 0, 0)

function request(overrides: Partial<RequestContext> = {}): RequestContext {
  return {
    appId: 1,
    settings: resolveSettings({}),
    receivedAt: RECEIVED_AT,
    ip: '203.0.113.9',
    userAgent: undefined,
    optOut: false,
    derived: {},
    ...overrides,
  }
}

function event(ts = RECEIVED_AT): StoredEvent {
  return { type: 'custom', custom: { name: 'x' }, ts, received_at: RECEIVED_AT }
}

const UA = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Safari/537.36',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  samsungTablet:
    'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36',
  curl: 'curl/8.5.0',
}

describe('runPipeline', () => {
  function recording(name: string, log: string[], drop?: DropReason): Stage {
    return {
      name,
      run(stored) {
        log.push(name)
        ;(stored.context ??= {})[name] = true
        return drop
      },
    }
  }

  it('runs every stage in order and returns the changed event', () => {
    const log: string[] = []
    const stages = [recording('a', log), recording('b', log), recording('c', log)]
    const input = event()
    const outcome = runPipeline(stages, input, request())
    expect(log).toEqual(['a', 'b', 'c'])
    expect(outcome).toEqual({ stored: input })
    expect(input.context).toEqual({ a: true, b: true, c: true })
  })

  it('stops at the first drop and names the stage and the reason', () => {
    const log: string[] = []
    const stages = [recording('a', log), recording('b', log, 'rate_limited'), recording('c', log, 'invalid')]
    expect(runPipeline(stages, event(), request())).toEqual({ dropped: 'rate_limited', stage: 'b' })
    expect(log).toEqual(['a', 'b'])
  })

  it('stays synchronous while every stage is, and awaits a stage that returns a promise', async () => {
    const log: string[] = []
    const asyncStage = (name: string, drop?: DropReason): Stage => ({
      name,
      run: async () => {
        log.push(name)
        return drop
      },
    })
    const syncOutcome = runPipeline([recording('a', log)], event(), request())
    expect(syncOutcome).not.toBeInstanceOf(Promise)
    log.length = 0
    const pending = runPipeline([recording('a', log), asyncStage('b'), recording('c', log), asyncStage('d', 'rate_limited'), recording('e', log)], event(), request())
    expect(pending).toBeInstanceOf(Promise)
    expect(await pending).toEqual({ dropped: 'rate_limited', stage: 'd' })
    expect(log).toEqual(['a', 'b', 'c', 'd'])
  })

  it('passes the request context to every stage', () => {
    const seen: RequestContext[] = []
    const stage: Stage = { name: 'spy', run: (_event, context) => void seen.push(context) }
    const context = request({ appId: 7, userAgent: UA.curl })
    runPipeline([stage, stage], event(), context)
    expect(seen).toEqual([context, context])
  })

  it('stores an event unchanged with an empty pipeline', () => {
    const input = event()
    expect(runPipeline([], input, request())).toEqual({ stored: event() })
  })

  const pipelineDeps = () => {
    const random = { bytes: (n: number) => Buffer.alloc(n, 7) }
    return { geo: createGeoLookup(), sessionKeys: createMemorySessionKeyStore({ clock: { now: () => RECEIVED_AT }, random }), random }
  }

  it('the ingest pipeline runs its stages in the order of the privacy policy (DESIGN.md §3.2)', () => {
    expect(createIngestPipeline(pipelineDeps()).map((stage) => stage.name)).toEqual([
      'clampTimestamp',
      'dropBots',
      'honorOptOut',
      'lookupCountry',
      'applyInboundFilters',
      'keepNetworkPrefix',
      'dropUserIdentity',
      'parseUserAgent',
      'scrubPii',
      'fingerprintError',
      'assignSession',
    ])
  })

  it('the ingest pipeline clamps the time, reduces the User-Agent and assigns a session', () => {
    const input = event(RECEIVED_AT + 3_600_000)
    const outcome = runPipeline(createIngestPipeline(pipelineDeps()), input, request({ userAgent: UA.firefoxLinux }))
    expect(outcome).toEqual({
      stored: {
        ...event(RECEIVED_AT + LIMITS.tsFutureMs),
        device: { type: 'desktop', browser: 'Firefox', browser_version: '125', os: 'Linux' },
        session: { id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) },
      },
    })
    expect(JSON.stringify(outcome)).not.toContain('Gecko')
  })

  it('gives events of server-side senders (@tacit/node, curl) no device names and no session', () => {
    for (const userAgent of ['tacit-node/0.1.0 node/20.20.2 linux', 'curl/8.5.0', undefined]) {
      const outcome = runPipeline(createIngestPipeline(pipelineDeps()), event(), request({ userAgent })) as { stored: StoredEvent }
      expect(outcome.stored.session).toBeUndefined()
      if (userAgent) expect(outcome.stored.device).toEqual({ type: 'unknown' })
    }
  })
})

describe('clampTimestamp', () => {
  const clamp = (ts: number) => {
    const stored = event(ts)
    expect(clampTimestamp.run(stored, request())).toBeUndefined()
    return stored.ts
  }

  it('keeps a time inside [received − 24 h, received + 5 min]', () => {
    expect(clamp(RECEIVED_AT)).toBe(RECEIVED_AT)
    expect(clamp(RECEIVED_AT - LIMITS.tsPastMs)).toBe(RECEIVED_AT - LIMITS.tsPastMs)
    expect(clamp(RECEIVED_AT + LIMITS.tsFutureMs)).toBe(RECEIVED_AT + LIMITS.tsFutureMs)
    expect(clamp(RECEIVED_AT - 1000)).toBe(RECEIVED_AT - 1000)
  })

  it('clamps times outside the window to its nearest edge', () => {
    expect(LIMITS.tsPastMs).toBe(24 * 3_600_000)
    expect(LIMITS.tsFutureMs).toBe(5 * 60_000)
    expect(clamp(0)).toBe(RECEIVED_AT - LIMITS.tsPastMs)
    expect(clamp(RECEIVED_AT - LIMITS.tsPastMs - 1)).toBe(RECEIVED_AT - LIMITS.tsPastMs)
    expect(clamp(RECEIVED_AT + LIMITS.tsFutureMs + 1)).toBe(RECEIVED_AT + LIMITS.tsFutureMs)
    expect(clamp(Number.MAX_SAFE_INTEGER)).toBe(RECEIVED_AT + LIMITS.tsFutureMs)
    expect(clamp(1e308)).toBe(RECEIVED_AT + LIMITS.tsFutureMs)
  })

  it('rounds fractional milliseconds to a whole number', () => {
    expect(clamp(RECEIVED_AT - 0.4)).toBe(RECEIVED_AT)
    expect(clamp(RECEIVED_AT - 10.6)).toBe(RECEIVED_AT - 11)
  })
})

describe('parseUserAgent', () => {
  const reduce = (userAgent: string | undefined) => {
    const stored = event()
    expect(createParseUserAgent().run(stored, request({ userAgent }))).toBeUndefined()
    return stored.device
  }

  it('keeps names, major versions and the device class of real browsers', () => {
    expect(reduce(UA.chromeWindows)).toEqual({ type: 'desktop', browser: 'Chrome', browser_version: '124', os: 'Windows', os_version: '10' })
    expect(reduce(UA.safariIphone)).toEqual({ type: 'mobile', browser: 'Safari', browser_version: '17', os: 'iOS', os_version: '17' })
    expect(reduce(UA.firefoxLinux)).toEqual({ type: 'desktop', browser: 'Firefox', browser_version: '125', os: 'Linux' })
    expect(reduce(UA.samsungTablet)).toEqual({
      type: 'tablet',
      browser: 'Samsung Internet for Android',
      browser_version: '24',
      os: 'Android',
      os_version: '13',
    })
  })

  it('keeps nothing but an unknown device class for a non-browser client', () => {
    expect(reduce(UA.curl)).toEqual({ type: 'unknown' })
  })

  it('sets no device without a User-Agent', () => {
    expect(reduce(undefined)).toBeUndefined()
    expect(reduce('')).toBeUndefined()
    expect(describeUserAgent('   ')).toEqual({ type: 'unknown' })
  })

  it('shares a cached device only as a frozen object, so no stage can change it for other events', () => {
    const stage = createParseUserAgent()
    const first = event()
    stage.run(first, request({ userAgent: UA.curl }))
    expect(Object.isFrozen(first.device)).toBe(true)
  })

  it('never keeps more than the major version or any other part of the string', () => {
    for (const userAgent of Object.values(UA)) {
      const device = reduce(userAgent)
      const text = JSON.stringify(device)
      expect(text).not.toMatch(/\d+\.\d+/)
      for (const token of ['Mozilla', 'AppleWebKit', 'KHTML', 'Gecko', 'SM-X700', 'x86_64', 'Win64', '15E148']) {
        expect(text).not.toContain(token)
      }
      expect(Object.keys(device ?? {}).every((key) => ['type', 'browser', 'browser_version', 'os', 'os_version'].includes(key))).toBe(true)
    }
  })

  it('gives the same answer from its cache as from a fresh parse', () => {
    const stage = createParseUserAgent()
    for (let round = 0; round < 2; round++) {
      for (const userAgent of Object.values(UA)) {
        const stored = event()
        stage.run(stored, request({ userAgent }))
        expect(stored.device).toEqual(describeUserAgent(userAgent))
      }
    }
  })

  it('holds at most cacheSize User-Agents and evicts the oldest', () => {
    // The cache is private: observe it through identity. A cached answer is the same object, an evicted one is parsed anew.
    const stage = createParseUserAgent({ cacheSize: 2 })
    const device = (userAgent: string) => {
      const stored = event()
      stage.run(stored, request({ userAgent }))
      return stored.device
    }
    const chrome = device(UA.chromeWindows)
    device(UA.firefoxLinux)
    expect(device(UA.chromeWindows)).toBe(chrome)
    device(UA.safariIphone) // a third agent evicts the oldest
    const reparsed = device(UA.chromeWindows)
    expect(reparsed).not.toBe(chrome)
    expect(reparsed).toEqual(chrome)
  })

  it('stays bounded under a flood of distinct User-Agents', () => {
    const stage = createParseUserAgent({ cacheSize: 50 })
    const device = (userAgent: string) => {
      const stored = event()
      stage.run(stored, request({ userAgent }))
      return stored.device
    }
    const first = device(UA.chromeWindows)
    for (let i = 0; i < 5000; i++) device(`bot-${i}/1.0`)
    expect(device(UA.chromeWindows)).not.toBe(first)
    // The last 49 flood entries are still cached.
    const recent = device('bot-4999/1.0')
    expect(device('bot-4999/1.0')).toBe(recent)
  })
})

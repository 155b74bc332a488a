import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TRACKX_EVENT_TYPES, translateTrackxEvent, type TrackxTranslation } from '../../src/compat/trackx/translateTrackxEvent.js'
import { translateTrackxReport } from '../../src/compat/trackx/translateTrackxReport.js'
import { TRACKX_PING_EVENT, TRACKX_PING_GIF, trackxPing } from '../../src/compat/trackx/trackxPing.js'
import { groupError } from '../../src/errors/groupError.js'
import { parseStack } from '../../src/errors/parseStack.js'
import { CAPS, LIMITS } from '../../src/protocol/limits.js'
import { mutateJson, seededRandom } from './jsonMutations.js'
import { decoded, expectDecodesCleanly } from './decodesCleanly.js'

const FIXTURES = join(import.meta.dirname, '../fixtures/trackx')
const RECEIVED_AT = Date.UTC(2026, 10, 22, 12, 0, 0)

interface Fixture {
  file: string
  method: string
  url: string
  headers: Record<string, string>
  body: string
}
interface Payload {
  name?: string
  message: string
  stack?: string
  type: number
  uri?: string
  meta: Record<string, unknown>
}
type ErrorOut = {
  type: 'error'
  ts?: number
  error: { message: string; type?: string; stack?: string; handled?: boolean; source?: string }
  view?: { id: string; url: string }
  release?: string
  env?: string
  context: Record<string, unknown> & { _trackx: { client?: string; version?: string; event_type: string } }
}

const FIXTURE_FILES = readdirSync(FIXTURES).filter((name) => /^(default|modern|lite|csp|node)-.*\.json$/.test(name)).sort()
const ALL: Fixture[] = FIXTURE_FILES.map((file) => ({ file, ...(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Omit<Fixture, 'file'>) }))
const EVENTS = ALL.filter((f) => f.method === 'POST' && f.url.endsWith('/event'))
const REPORTS = ALL.filter((f) => f.method === 'POST' && f.url.endsWith('/report'))
const PINGS = ALL.filter((f) => f.url.endsWith('/ping'))
const fixture = (prefix: string): Fixture => ALL.find((f) => f.file.startsWith(prefix))!
const payload = (prefix: string): Payload => JSON.parse(fixture(prefix).body) as Payload

function translated(raw: unknown): ErrorOut {
  const result = translateTrackxEvent(raw, { receivedAt: RECEIVED_AT })
  if (!('event' in result)) throw new Error(`expected an event, got skip: ${result.skip}`)
  return result.event as ErrorOut
}

describe('the captured requests', () => {
  it('cover every client build and request kind', () => {
    const files = ALL.map((f) => f.file)
    for (const client of ['default', 'modern', 'lite', 'node']) expect(files.some((f) => f.startsWith(`${client}-`) && f.includes('-event-'))).toBe(true)
    for (const type of [1, 2, 3, 4]) expect(EVENTS.some((f) => (JSON.parse(f.body) as Payload).type === type)).toBe(true)
    expect(PINGS.map((f) => f.method).sort()).toEqual(expect.arrayContaining(['GET', 'POST']))
    expect(REPORTS.map((f) => f.headers['content-type']).sort()).toEqual(['application/csp-report', 'application/reports+json'])
  })

  it('events: POST application/json, a CORS preflight first from browsers, nothing in the query, no cookie', () => {
    for (const f of EVENTS) {
      expect(f.url).toBe('/v1/tacitfixt01/event')
      expect(f.headers['content-type']).toBe('application/json')
      expect(f.headers.cookie).toBeUndefined()
      expect(Object.keys(JSON.parse(f.body) as object).sort()).toEqual(expect.arrayContaining(['message', 'meta', 'type']))
    }
    const preflights = ALL.filter((f) => f.method === 'OPTIONS' && f.url.endsWith('/event'))
    expect(preflights.length).toBeGreaterThan(0)
    for (const f of preflights) {
      expect(f.headers['access-control-request-method']).toBe('POST')
      expect(f.headers['access-control-request-headers']).toBe('content-type')
    }
    expect(fixture('node-02').headers.origin).toBe('node')
  })

  it('pings carry no body and nothing in the query', () => {
    for (const f of PINGS) {
      expect(f.url).toBe('/v1/tacitfixt01/ping')
      expect(f.body).toBe('')
    }
    expect(fixture('default-01').headers.accept).toContain('image/')
    expect(fixture('modern-01').headers['sec-fetch-mode']).toBe('no-cors')
  })
})

describe('translateTrackxEvent: the captured events', () => {
  it('every event translates and passes the server decoder with zero problems, unchanged by it', () => {
    const out = EVENTS.map((f) => translated(f.body))
    const batch = decoded(out)
    expect(batch.problems).toEqual([])
    expect(batch).toMatchObject({ invalid: 0, tooLarge: 0 })
    // The decoder keeps only fields it knows and caps strings: nothing of the translation was unknown or too long.
    expect(batch.events).toEqual(out)
  })

  it('takes the body as text or as parsed JSON alike', () => {
    for (const f of EVENTS) expect(translated(JSON.parse(f.body))).toEqual(translated(f.body))
  })

  it('an uncaught TypeError from a named function (default build)', () => {
    const raw = payload('default-03')
    expect(translated(raw)).toEqual({
      type: 'error',
      ts: RECEIVED_AT,
      error: { message: "Cannot read properties of undefined (reading 'percent')", type: 'TypeError', stack: raw.stack, handled: false, source: 'source' },
      view: { id: '', url: raw.uri },
      release: '1.2.3',
      context: { _trackx: { client: 'default', version: '0.6.1', event_type: 'unhandled_error' } },
    })
    const issue = groupError(translated(raw).error)
    expect(issue.culprit).toBe('applyDiscount (app.js)')
  })

  it('the same error from the modern and lite builds differs only in the client', () => {
    const base = translated(payload('default-03'))
    for (const [prefix, client] of [['modern-03', 'modern'], ['lite-02', 'lite']] as const) {
      const out = translated(payload(prefix))
      expect(out.error).toEqual(base.error)
      expect(out.context._trackx.client).toBe(client)
    }
    expect(translated(payload('lite-02')).release).toBeUndefined()
  })

  it('an unhandled rejection with an Error', () => {
    const out = translated(payload('default-05'))
    expect(out.error).toMatchObject({ message: 'Payment declined', type: 'Error', handled: false, source: 'source' })
    expect(out.error.stack).toContain('chargeCard')
    expect(out.context._trackx.event_type).toBe('unhandled_rejection')
  })

  it('a thrown or rejected non-Error has no stack: the one the client made only locates the client', () => {
    for (const [prefix, message, kind] of [['default-07', 'card expired', 'unhandled_rejection'], ['default-15', 'out of stock', 'unhandled_error']] as const) {
      const raw = payload(prefix)
      expect(raw.name).toBeUndefined()
      expect(raw.stack).toContain('trackx-default.js')
      const out = translated(raw)
      expect(out.error).toEqual({ message, handled: false, source: 'source' })
      expect(out.context._trackx.event_type).toBe(kind)
      expect(groupError(out.error).title).toBe(message)
    }
    // Grouped by message, not by the client's frames: two different values are two issues.
    expect(groupError(translated(payload('default-07')).error).fingerprint).not.toBe(groupError(translated(payload('default-15')).error).fingerprint)
  })

  it('console.error with plain arguments: the stack starts where console.error was called', () => {
    const raw = payload('default-11')
    expect(raw.stack?.split('\n').slice(1, 3).every((line) => line.includes('trackx-default.js'))).toBe(true)
    const out = translated(raw)
    expect(out.error).toMatchObject({ message: 'Checkout failed,[object Object]', handled: true, source: 'console' })
    expect(out.error.type).toBeUndefined()
    expect(out.error.stack).toBe(['Error', ...raw.stack!.split('\n').slice(3)].join('\n'))
    expect(out.error.stack).not.toContain('trackx-default.js')
    expect(parseStack(out.error.stack!)[0]?.function).toBe('HTMLButtonElement.logFailure')
    expect(groupError(out.error).culprit).toBe('HTMLButtonElement.logFailure (app.js)')
  })

  it('console.error with an Error keeps its type and stack', () => {
    const raw = payload('default-13')
    expect(translated(raw).error).toEqual({ message: 'Quantity out of range', type: 'RangeError', stack: raw.stack, handled: true, source: 'console' })
  })

  it('sendEvent: handled, custom, its extra meta in context and the release lifted out', () => {
    for (const prefix of ['default-09', 'modern-07']) {
      const out = translated(payload(prefix))
      expect(out.error).toMatchObject({ message: 'Order could not be placed', type: 'Error', handled: true, source: 'custom' })
      expect(out.release).toBe('1.2.3')
      expect(out.context).toEqual({
        orderId: 1042,
        step: 'confirm',
        cart: { items: 3, coupon: null },
        _trackx: { client: prefix.startsWith('modern') ? 'modern' : 'default', version: '0.6.1', event_type: 'programmatic' },
      })
    }
  })

  it('the node client: no view (its uri is the calling module), a server stack kept whole', () => {
    const raw = payload('node-02')
    expect(raw.uri).toMatch(/^file:\/\//)
    const out = translated(raw)
    expect(out.view).toBeUndefined()
    expect(out.error).toEqual({ message: 'Ledger out of balance', type: 'TypeError', stack: raw.stack, handled: true, source: 'custom' })
    expect(out.context).toEqual({ job: 'nightly', _trackx: { client: 'node', version: '0.6.1', event_type: 'programmatic' } })
  })
})

describe('translateTrackxEvent: the fields', () => {
  const base: Payload = { name: 'Error', message: 'boom', stack: 'Error: boom\n    at f (https://shop.example/app.js:1:2)', type: 4, uri: 'https://shop.example/cart', meta: { _c: 'd', _v: '0.6.1' } }
  const withPayload = (change: Partial<Payload> & Record<string, unknown>) => translateTrackxEvent({ ...base, ...change }, { receivedAt: RECEIVED_AT })

  it('maps every EventType', () => {
    const expected: Array<[number | undefined, string, boolean | undefined, string]> = [
      [1, 'source', false, 'unhandled_error'],
      [2, 'source', false, 'unhandled_rejection'],
      [3, 'console', true, 'console_error'],
      [4, 'custom', true, 'programmatic'],
      [70, 'logger', true, 'custom_logger'],
      [97, 'custom', undefined, 'unknown_event'],
      [98, 'custom', undefined, 'unknown'],
      [99, 'custom', undefined, 'test'],
      [undefined, 'custom', undefined, 'unknown_event'],
      [0, 'custom', undefined, 'other_0'],
      [42, 'custom', undefined, 'other_42'],
    ]
    for (const [type, source, handled, name] of expected) {
      const result = withPayload({ type: type as number })
      const out = (result as { event: ErrorOut }).event
      expect(out.error.source).toBe(source)
      expect(out.error.handled).toBe(handled)
      expect(out.context._trackx.event_type).toBe(name)
      expectDecodesCleanly(out)
    }
    expect(Object.keys(TRACKX_EVENT_TYPES).map(Number)).toEqual([1, 2, 3, 4, 70, 97, 98, 99])
  })

  it('report kinds are unsupported on /event; a type outside 0–99 or not an integer is invalid', () => {
    for (const type of [5, 6, 7, 8, 9, 10, 11, 12, 13, 96]) expect(withPayload({ type })).toEqual({ skip: 'unsupported' })
    for (const type of [-1, 100, 1.5, Number.NaN, '1', null, true, [1], { n: 1 }]) expect(withPayload({ type } as never)).toEqual({ skip: 'invalid' })
  })

  it('something to report is required: a message, a name or a stack', () => {
    expect(withPayload({ message: undefined, name: undefined, stack: undefined } as never)).toEqual({ skip: 'invalid' })
    expect(withPayload({ message: '', name: '', stack: '' })).toEqual({ skip: 'invalid' })
    const nameOnly = (withPayload({ message: undefined, stack: undefined } as never) as { event: ErrorOut }).event
    expect(nameOnly.error).toMatchObject({ message: '', type: 'Error' })
    expectDecodesCleanly(nameOnly)
    // Wrong types are ignored like absent fields, as long as something remains.
    const odd = (withPayload({ name: 7, uri: {}, meta: 'x' } as never) as { event: ErrorOut }).event
    expect(odd.error.type).toBeUndefined()
    expect(odd.view).toBeUndefined()
    expect(odd.context).toEqual({ _trackx: { event_type: 'programmatic' } })
    expectDecodesCleanly(odd)
  })

  it('release from meta.release or else meta.version, env from meta.environment or else meta.env', () => {
    const a = (withPayload({ meta: { release: 'r1', version: 'v1', env: 'prod', a: 1 } }) as { event: ErrorOut }).event
    expect(a).toMatchObject({ release: 'r1', env: 'prod' })
    expect(a.context).toEqual({ version: 'v1', a: 1, _trackx: { event_type: 'programmatic' } })
    const b = (withPayload({ meta: { version: 'v2', environment: 'staging', env: 'x' } }) as { event: ErrorOut }).event
    expect(b).toMatchObject({ release: 'v2', env: 'staging' })
    expect(b.context).toEqual({ env: 'x', _trackx: { event_type: 'programmatic' } })
    const c = (withPayload({ meta: { release: 3, version: '' } }) as { event: ErrorOut }).event
    expect(c.release).toBeUndefined()
    expect(c.context).toEqual({ release: 3, version: '', _trackx: { event_type: 'programmatic' } })
  })

  it('an unknown client code is kept short; a meta key named _trackx cannot replace the client facts', () => {
    const out = (withPayload({ meta: { _c: 'z'.repeat(100), _v: 'v'.repeat(100), _trackx: { client: 'forged' } } }) as { event: ErrorOut }).event
    expect(out.context._trackx.client).toHaveLength(CAPS.short)
    expect(out.context._trackx.version).toHaveLength(CAPS.short)
    expect(Object.keys(out.context)).toEqual(['_trackx'])
  })

  it('a stack of an object without a name is kept whole unless it has the client-made shape', () => {
    const own = 'CustomThing: nope\n    at a (https://x/a.js:1:1)\n    at b (https://x/b.js:1:1)'
    expect((withPayload({ name: undefined, stack: own }) as { event: ErrorOut }).event.error.stack).toBe(own)
    // Firefox and Safari print no header line: the client's two frames are the first two lines.
    const gecko = 'f@https://x/trackx.js:61:13\nerror@https://x/trackx.js:79:7\nlogFailure@https://x/app.js:22:11\n'
    expect((withPayload({ name: undefined, stack: gecko }) as { event: ErrorOut }).event.error.stack).toBe('logFailure@https://x/app.js:22:11\n')
    expect((withPayload({ name: undefined, stack: 'f@https://x/trackx.js:61:13\nonerror@https://x/trackx.js:74:7\n' }) as { event: ErrorOut }).event.error.stack).toBeUndefined()
  })

  it('strings are capped, NULs replaced, line breaks kept out of the type', () => {
    const out = (withPayload({ message: 'm\u0000'.repeat(10_000), name: 'Type\nError', uri: `https://x/${'a'.repeat(10_000)}`, meta: { ['k'.repeat(500)]: 'v'.repeat(10_000) } }) as { event: ErrorOut }).event
    expect(out.error.message).toHaveLength(CAPS.message)
    expect(out.error.message).not.toContain('\u0000')
    expect(out.error.type).toBe('Type Error')
    expect(out.view!.url).toHaveLength(CAPS.url)
    const [key, value] = Object.entries(out.context).find(([k]) => k !== '_trackx')!
    expect(key).toHaveLength(CAPS.freeFormKey)
    expect(value).toHaveLength(CAPS.freeFormString)
    const batch = decoded([out])
    expect(batch.problems).toEqual([])
    expect(batch.events).toEqual([out])
  })

  it('meta nested past the depth limit keeps its shallow values', () => {
    let deep: Record<string, unknown> = { leaf: 1 }
    for (let i = 0; i < 20; i++) deep = { nested: deep, list: [[[[[[[[[1]]]]]]]]] }
    const out = (withPayload({ meta: { deep, flat: 'kept' } }) as { event: ErrorOut }).event
    expect(out.context.flat).toBe('kept')
    expect(JSON.stringify(out.context)).toContain('"[Object]"')
    expect(JSON.stringify(out.context)).toContain('"[Array]"')
    const batch = decoded([out])
    expect(batch.problems).toEqual([])
    expect(batch.events).toEqual([out])
  })
})

describe('translateTrackxEvent: size', () => {
  it('an event over the size limit sheds its largest meta first and keeps the error', () => {
    const raw: Payload = {
      name: 'Error',
      message: 'big',
      stack: 'Error: big\n    at f (https://shop.example/app.js:1:2)',
      type: 1,
      uri: 'https://shop.example/',
      meta: { small: 'kept', huge: Array.from({ length: 40 }, () => 'x'.repeat(4000)), large: 'y'.repeat(4000), _c: 'd', _v: '0.6.1' },
    }
    const out = translated(raw)
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(LIMITS.eventBytes)
    expect(out.context).toEqual({ small: 'kept', large: 'y'.repeat(4000), _trackx: { client: 'default', version: '0.6.1', event_type: 'unhandled_error' } })
    expectDecodesCleanly(out)
  })

  it('a huge multi-byte message and stack are cut to fit, newest frames kept', () => {
    const frames = Array.from({ length: 3000 }, (_, i) => `    at fn${i} (https://shop.example/${'é'.repeat(20)}.js:${i}:1)`)
    const raw = { name: 'Error', message: '€'.repeat(100_000), stack: ['Error: x', ...frames].join('\n'), type: 1, meta: { a: '€'.repeat(4000) } }
    const out = translated(raw)
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(LIMITS.eventBytes)
    expect(out.error.message.length).toBeGreaterThanOrEqual(1024)
    expect(out.error.stack!.split('\n')[1]).toBe(frames[0])
    expect(out.error.stack!.length).toBeLessThanOrEqual(CAPS.stack)
    const batch = decoded([out])
    expect(batch.problems).toEqual([])
    expect(batch.events).toEqual([out])
  })
})

describe('translateTrackxReport: browser reports on /report', () => {
  it('every captured report decodes into report events the server decoder accepts', () => {
    for (const f of REPORTS) {
      const result = translateTrackxReport(f.body, RECEIVED_AT)
      if (!result.ok) throw new Error(`${f.file}: ${result.code}`)
      expect(result.problems).toEqual([])
      expect(result.events).toHaveLength(1)
      const batch = decoded(result.events)
      expect(batch.problems).toEqual([])
      expect(batch.events).toEqual(result.events)
    }
  })

  it('both CSP forms store alike, without the user agent, the policy or the sample', () => {
    const legacyBody = REPORTS.find((f) => f.file.startsWith('csp-report-uri'))!.body
    const modernBody = REPORTS.find((f) => f.file.startsWith('csp-report-to'))!.body
    const legacy = translateTrackxReport(legacyBody, RECEIVED_AT)
    const modern = translateTrackxReport(modernBody, RECEIVED_AT)
    if (!legacy.ok || !modern.ok) throw new Error('not decoded')
    for (const event of [legacy.events[0]!, modern.events[0]!]) {
      expect(event.report.type).toBe('csp-violation')
      expect(Object.keys(event.report.body).sort()).toEqual(['blockedURL', 'disposition', 'documentURL', 'effectiveDirective', 'lineNumber', 'sourceFile', 'statusCode'])
      expect(event.report.body).toMatchObject({ blockedURL: 'https://blocked.example/pixel.gif', effectiveDirective: 'img-src', disposition: 'enforce' })
      expect(event.view?.url).toMatch(/\/shop\/cart\?coupon=SAVE10$/)
      expect(JSON.stringify(event)).not.toMatch(/Mozilla|original|sample|user_agent/i)
    }
    expect(modern.events[0]!.ts).toBe(RECEIVED_AT - (JSON.parse(modernBody) as Array<{ age: number }>)[0]!.age)
  })

  it('an obsolete Expect-CT report is invalid, and nothing throws', () => {
    const result = translateTrackxReport('{"expect-ct-report":{"hostname":"shop.example","port":443}}', RECEIVED_AT)
    expect(result).toMatchObject({ ok: true, events: [], invalid: 1 })
    for (const body of ['', 'nope', '[', '[]', 'null', '7', '"x"', '[[[]]]', '{"csp-report":1}', undefined as unknown as string]) {
      expect(() => translateTrackxReport(body, RECEIVED_AT)).not.toThrow()
    }
  })
})

describe('trackxPing', () => {
  it('a browser ping becomes a custom event the decoder accepts; an image ping is answered with the GIF', () => {
    const image = trackxPing({ receivedAt: RECEIVED_AT, accept: fixture('default-01').headers.accept })
    expect(image.event).toEqual({ type: 'custom', ts: RECEIVED_AT, custom: { name: TRACKX_PING_EVENT } })
    expect(image.answer).toEqual({ status: 200, headers: { 'content-type': 'image/gif', 'cache-control': 'no-store' }, body: TRACKX_PING_GIF })
    expect(TRACKX_PING_GIF.subarray(0, 6).toString('latin1')).toBe('GIF89a')
    expect(TRACKX_PING_GIF).toHaveLength(35)
    const post = trackxPing({ receivedAt: RECEIVED_AT, accept: fixture('modern-01').headers.accept })
    expect(post.answer.body).toBe('ok')
    expect(post.event).toEqual(image.event)
    const batch = decoded([image.event])
    expect(batch.problems).toEqual([])
    expect(batch.events).toEqual([image.event])
  })

  it('a server client ping is only counted', () => {
    const node = trackxPing({ receivedAt: RECEIVED_AT, accept: fixture('node-01').headers.accept, serverClient: true })
    expect(node.event).toBeUndefined()
    expect(node.answer.status).toBe(200)
  })
})

describe('translateTrackxEvent: hostile input never throws, and what it returns always decodes', () => {
  function randomValue(next: () => number, depth: number): unknown {
    switch (Math.floor(next() * 12)) {
      case 0: return null
      case 1: return next() < 0.5
      case 2: return Math.floor(next() * 200) - 50
      case 3: return next() * 1e12
      case 4: return 'Error\n    at f (https://a.example/a.js:1:2)\n    at g (https://a.example/a.js:1:2)'
      case 5: return 'x\n    at f (https://a.example/a.js:1:2)\u2028\ud800\u0000'
      case 6: return 'é'.repeat(Math.floor(next() * 40))
      case 7: return depth > 3 ? [] : Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1))
      case 8: return depth > 3 ? {} : Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, (_, i) => [['name', 'message', 'stack', 'type', 'uri', 'meta', '__proto__', '_c', 'release'][i % 9]!, randomValue(next, depth + 1)]))
      case 9: return -1
      case 10: return 'x'.repeat(Math.floor(next() * 70_000))
      default: return ''
    }
  }

  const mutate = (value: unknown, next: () => number) => mutateJson(value, next, randomValue)

  it('5,000 mutations of the captured events', () => {
    const next = seededRandom(9)
    const parsed = EVENTS.map((f) => JSON.parse(f.body) as unknown)
    const outputs: Array<Record<string, unknown>> = []
    for (let round = 0; round < 5000; round++) {
      let raw: unknown = parsed[round % parsed.length]
      for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) raw = mutate(raw, next)
      let result: TrackxTranslation | undefined
      expect(() => (result = translateTrackxEvent(raw, { receivedAt: RECEIVED_AT }))).not.toThrow()
      if (result && 'event' in result) outputs.push(result.event)
    }
    expect(outputs.length).toBeGreaterThan(1000)
    for (let i = 0; i < outputs.length; i += 100) {
      const batch = decoded(outputs.slice(i, i + 100))
      expect(batch.problems).toEqual([])
      expect(batch.tooLarge).toBe(0)
    }
  })

  it('deep JSON, odd objects and odd text', () => {
    const deep = JSON.parse('{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)) as unknown
    const deepArray = JSON.parse('['.repeat(20_000) + ']'.repeat(20_000)) as unknown
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    const wide: Record<string, unknown> = {}
    for (let i = 0; i < 30; i++) wide[`k${i}`] = wide
    const cases: unknown[] = [
      undefined, null, 0, true, [], [{ message: 'm', type: 1 }], 'not json', '{"message":', '', '"text"', '{"__proto__":{"type":1},"message":"m"}',
      { message: 'm', type: 1, meta: deep },
      { message: 'm', type: 1, meta: { deepArray } },
      { message: deep, name: deepArray, stack: deep, type: 1, uri: deep },
      { message: 'm', type: 1, meta: cyclic },
      { message: 'm', type: 1, meta: wide },
      { message: 'm', type: 1, meta: { n: Number.POSITIVE_INFINITY, b: 10n, f: () => 1, s: Symbol('s'), u: undefined, d: new Date(0) } },
      { message: 'm', type: 1, meta: Object.create(null) as object },
      { message: 'm', type: 1, meta: { get boom(): never { throw new Error('getter') } } },
      { get message(): never { throw new Error('getter') }, type: 1 },
      new Proxy({}, { get() { throw new Error('proxy') } }),
      new Proxy({ message: 'm', type: 1, meta: {} }, { ownKeys() { throw new Error('proxy') } }),
      { message: 'm', type: 1, meta: new Proxy({}, { ownKeys() { throw new Error('proxy') } }) },
    ]
    for (const raw of cases) {
      let result: TrackxTranslation | undefined
      expect(() => (result = translateTrackxEvent(raw, { receivedAt: RECEIVED_AT }))).not.toThrow()
      if (result && 'event' in result) expectDecodesCleanly(result.event)
    }
    expect(translateTrackxEvent('{"message":"m","type":1}', { receivedAt: Number.NaN })).toMatchObject({ event: { type: 'error' } })
  })
})

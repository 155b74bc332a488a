import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { parseEnvelope } from '../../src/compat/sentry/parseEnvelope.js'
import { MAX_BREADCRUMBS, translateSentryEvent, type TranslatedSentryEvent } from '../../src/compat/sentry/translateSentryEvent.js'
import { groupError } from '../../src/errors/groupError.js'
import { MAX_FRAMES, parseStack, type StackFrame } from '../../src/errors/parseStack.js'
import { LIMITS } from '../../src/protocol/limits.js'
import { mutateJson, seededRandom } from './jsonMutations.js'
import { decoded, expectDecodesCleanly } from './decodesCleanly.js'

const FIXTURES = join(import.meta.dirname, '../fixtures/sentry')

type SentryEvent = Record<string, unknown> & {
  exception?: { values: Array<{ type?: string; value?: string; stacktrace?: { frames: SentryFrame[] }; mechanism?: { handled?: boolean } }> }
}
interface SentryFrame {
  function?: string
  filename?: string
  abs_path?: string
  lineno?: number
  colno?: number
}
type ErrorOut = { type: 'error'; error: { message: string; type?: string; stack?: string; handled?: boolean; source?: string; fingerprint?: string } } & Record<string, unknown>

/** Every `event` item of every captured envelope, by file. */
function capturedEvents(): Array<{ file: string; event: SentryEvent }> {
  const events: Array<{ file: string; event: SentryEvent }> = []
  for (const file of readdirSync(FIXTURES).filter((name) => /\.envelope(\.gz)?$/.test(name)).sort()) {
    const raw = readFileSync(join(FIXTURES, file))
    const envelope = parseEnvelope(file.endsWith('.gz') ? gunzipSync(raw) : raw)
    if (!envelope.ok) throw new Error(`${file}: ${envelope.message}`)
    for (const item of envelope.items) if (item.type === 'event') events.push({ file, event: JSON.parse(item.payload.toString('utf8')) as SentryEvent })
  }
  return events
}

const EVENTS = capturedEvents()
const byFile = (prefix: string): SentryEvent => EVENTS.find((entry) => entry.file.startsWith(prefix))!.event

function translated(raw: unknown): ErrorOut {
  const result = translateSentryEvent(raw)
  if (!('event' in result)) throw new Error(`expected an event, got skip: ${result.skip}`)
  return result.event as ErrorOut
}

const clone = <T>(value: T): T => structuredClone(value)

describe('translateSentryEvent: the captured SDK events', () => {
  it('has the events of both SDKs', () => {
    expect(EVENTS.filter((entry) => entry.file.startsWith('browser')).length).toBeGreaterThanOrEqual(6)
    expect(EVENTS.filter((entry) => entry.file.startsWith('node')).length).toBeGreaterThanOrEqual(5)
  })

  it('every event translates and passes the server decoder with zero problems, unchanged by it', () => {
    const out = EVENTS.map(({ event }) => translated(event))
    const batch = decoded(out)
    expect(batch.problems).toEqual([])
    expect(batch).toMatchObject({ invalid: 0, tooLarge: 0 })
    // The decoder keeps only fields it knows and caps strings: nothing of the translation was unknown or too long.
    expect(batch.events).toEqual(out)
  })

  for (const { file, event } of EVENTS) {
    it(`${file}: the rebuilt stack parses into the Sentry frames, newest first`, () => {
      const out = translated(event)
      const values = event.exception?.values ?? []
      const primary = values[values.length - 1]!
      expect(out.error.type).toBe(primary.type)
      expect(out.error.message).toBe(primary.value)
      expect(out.error.handled).toBe(primary.mechanism?.handled)
      expect(out.release).toBe('1.2.3')
      expect(out.env).toBe('prod')
      expect(out.ts).toBe(Math.round((event.timestamp as number) * 1000))

      const expected = (primary.stacktrace?.frames ?? [])
        .slice()
        .reverse()
        .map((frame) => {
          const file = frame.abs_path || frame.filename || '<anonymous>'
          const name = frame.function?.endsWith('.?') ? `${frame.function.slice(0, -1)}<anonymous>` : frame.function
          const parsed: Partial<StackFrame> = { file }
          if (name && name !== '?') parsed.function = name
          if (frame.lineno !== undefined) parsed.line = frame.lineno
          if (frame.colno !== undefined) parsed.column = frame.colno
          return parsed
        })
        // V8 never prints a script without a position: such a frame is not a frame to the parser.
        .filter((frame) => frame.line !== undefined || frame.file === '<anonymous>')
      const frames = parseStack(out.error.stack!).map(({ inApp: _inApp, ...rest }) => rest)
      expect(frames).toEqual(expected)
      expect(out.error.stack!.split('\n', 1)[0]).toBe(primary.type ? `${primary.type}: ${primary.value}` : primary.value)
    })
  }

  it('the uncaught TypeError from a named function: handled false, source, grouped by its in-app frames', () => {
    const out = translated(byFile('browser-06'))
    expect(out.error).toMatchObject({ type: 'TypeError', message: "Cannot read properties of undefined (reading 'percent')", handled: false, source: 'source' })
    const frames = parseStack(out.error.stack!)
    expect(frames[0]).toMatchObject({ function: 'applyDiscount', line: 3, column: 22, inApp: true })
    expect(frames[0]!.file).toMatch(/^http:\/\/localhost:\d+\/app\.js$/)
    expect(frames.map((frame) => frame.function)).toEqual(['applyDiscount', 'Object.onCheckoutClick', 'HTMLButtonElement.onclick'])
    expect(groupError(out.error)).toMatchObject({ title: "TypeError: Cannot read properties of undefined (reading 'percent')", culprit: 'applyDiscount (app.js)' })
    expect(out.view).toEqual({ id: '', url: expect.stringMatching(/^http:\/\/localhost:\d+\/shop\/cart\?coupon=SAVE10$/) })
  })

  it('captureException with a cause: the last value is the error, the cause goes to context.exception_chain', () => {
    const browser = translated(byFile('browser-04'))
    expect(browser.error).toMatchObject({ type: 'Error', message: 'Order could not be placed', handled: true, source: 'custom' })
    expect(browser.context).toMatchObject({ exception_chain: [{ type: 'SyntaxError', value: expect.stringContaining('JSON') }] })
    const node = translated(byFile('node-04'))
    expect(node.error).toMatchObject({ type: 'Error', message: 'Config could not be loaded', fingerprint: 'config-load' })
    expect(node.context).toMatchObject({ exception_chain: [{ type: 'SyntaxError' }] })
    expect(parseStack(node.error.stack!)[0]).toMatchObject({ function: 'loadConfig', line: 26, column: 13, inApp: true })
    expect(groupError(node.error).fingerprint).toBe(groupError({ message: 'anything', fingerprint: 'config-load' }).fingerprint)
  })

  it('captureMessage: a message without a type, source logger, level in context', () => {
    for (const [file, message, platform] of [
      ['browser-03', 'checkout started', 'javascript'],
      ['node-05', 'queue depth high', 'node'],
    ] as const) {
      const out = translated(byFile(file))
      expect(out.error).toMatchObject({ message, handled: true, source: 'logger' })
      expect(out.error.type).toBeUndefined()
      expect(out.error.stack!.split('\n', 1)[0]).toBe(message)
      expect(out.context).toMatchObject({ level: 'warning', platform })
      expect(groupError(out.error).title).toBe(message)
    }
  })

  it('the node uncaught exception: handled false, level fatal, V8 names kept', () => {
    const out = translated(byFile('node-08'))
    expect(out.error).toMatchObject({ type: 'TypeError', handled: false, source: 'source' })
    expect(out.context).toMatchObject({ level: 'fatal', platform: 'node' })
    expect(parseStack(out.error.stack!).slice(0, 2).map((frame) => frame.function)).toEqual(['chargeCard', 'Timeout.explode [as _onTimeout]'])
    // Sentry's `Object.?` is V8's `Object.<anonymous>` again.
    expect(translated(byFile('node-04')).error.stack).toContain('at Object.<anonymous> (/tmp/sentry-node-capture/sentryNodeChild.cjs:74:1)')
  })

  it('tags, breadcrumbs (console, fetch, click, custom) and user come through; extra lands in context.extra', () => {
    const out = translated(byFile('browser-07'))
    expect(out.usr).toEqual({ id: 'u-1001', email: 'ada@example.com' })
    expect(out.context).toMatchObject({ tags: { plan: 'pro' }, extra: { arguments: [] }, event_id: expect.stringMatching(/^[0-9a-f]{32}$/) })
    const crumbs = (out.context as { breadcrumbs: Array<Record<string, unknown>> }).breadcrumbs
    expect(crumbs.slice(0, 4)).toEqual([
      { category: 'console', message: 'cart loaded 3', level: 'log', timestamp: expect.any(Number) },
      { category: 'fetch', message: 'GET /api/price?sku=42 [200]', timestamp: expect.any(Number) },
      { category: 'ui.click', message: 'body > button#noop', timestamp: expect.any(Number) },
      { category: 'auth', message: 'signed in as ada@example.com', level: 'info', timestamp: expect.any(Number) },
    ])
    expect(crumbs.at(-1)).toMatchObject({ category: 'ui.click', message: 'body > button#buy.checkout.primary' })
    expect(translated(byFile('node-04')).usr).toEqual({ id: 'u-2002', name: 'grace', email: 'grace@example.com' })
  })

  it('the node request handler: request.url is the view, transaction its name', () => {
    const out = translated(byFile('node-06'))
    expect(out.view).toEqual({ id: '', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/checkout\?order=991&token=\[Filtered\]$/), name: 'POST /checkout' })
  })

  it('the gzip-sent large event keeps its extra, capped like any context string', () => {
    const out = translated(EVENTS.find((entry) => entry.file.endsWith('.gz'))!.event)
    const blob = (out.context as { extra: { blob: string } }).extra.blob
    expect(blob.length).toBe(4096)
    expectDecodesCleanly(out)
  })
})

describe('translateSentryEvent: what is never carried', () => {
  const PLANTED = {
    ua: 'Mozilla/5.0 (PlantedOS 77) PlantedKit/1.2 PlantedBrowser/99.1',
    cookie: 'sid=PLANTEDCOOKIEVALUE',
    ips: ['198.51.100.23', '198.51.100.24', '198.51.100.25', '2001:db8::77'],
  }

  function plantedEvent(): SentryEvent {
    const event = clone(byFile('node-06'))
    event.request = {
      url: 'https://shop.example/checkout',
      method: 'POST',
      headers: { 'User-Agent': PLANTED.ua, Cookie: PLANTED.cookie, Referer: 'https://PLANTEDREFERRER.example/', Authorization: 'Bearer PLANTEDBEARER', 'X-Forwarded-For': PLANTED.ips[0] },
      cookies: { sid: 'PLANTEDCOOKIE2' },
      env: { REMOTE_ADDR: PLANTED.ips[1] },
      data: { card: 'PLANTEDBODY' },
      query_string: 'PLANTEDQUERY=1',
    }
    event.user = { id: 'u-1', ip_address: PLANTED.ips[2], geo: { city: 'PLANTEDCITY', country_code: 'PL' }, data: { note: 'PLANTEDUSERDATA' }, segment: 'PLANTEDSEGMENT' }
    event.contexts = { browser: { name: 'PLANTEDBROWSERCTX' }, os: { name: 'PLANTEDOSCTX' }, device: { model: 'PLANTEDDEVICE' }, cart: { id: 'PLANTEDCONTEXT' } }
    event.sdk = { name: 'PLANTEDSDK', packages: [] }
    event.debug_meta = { images: [{ debug_id: 'PLANTEDDEBUGID' }] }
    event.modules = { PLANTEDMODULE: '1.0.0' }
    event.server_name = 'PLANTEDHOSTNAME'
    event.threads = { values: [{ name: 'PLANTEDTHREAD' }] }
    event.breadcrumbs = [{ category: 'console', message: 'ok', data: { arguments: ['PLANTEDARGUMENT'], cookie: PLANTED.cookie } }]
    const frames = event.exception!.values.at(-1)!.stacktrace!.frames as Array<Record<string, unknown>>
    frames[frames.length - 1]!.vars = { password: 'PLANTEDVARIABLE' }
    frames[frames.length - 1]!.pre_context = ['const secret = "PLANTEDSOURCE"']
    return event
  }

  it('request headers (User-Agent, cookies, Referer, Authorization), request env/data/query, user.ip_address and geo, contexts, sdk, debug_meta', () => {
    const out = translated(plantedEvent())
    const text = JSON.stringify(out)
    expect(text).not.toContain('PLANTED')
    expect(text).not.toContain('Planted')
    expect(text).not.toContain(PLANTED.cookie)
    for (const ip of PLANTED.ips) expect(text).not.toContain(ip)
    expect(text).not.toMatch(/ip_address|user_agent|headers|cookies|contexts/i)
    expect(out.view).toEqual({ id: '', url: 'https://shop.example/checkout', name: 'POST /checkout' })
    expect(out.usr).toEqual({ id: 'u-1' })
    expectDecodesCleanly(out)
  })

  it('nothing of the real captured request data: the planted User-Agent, X-Forwarded-For address and cookies', () => {
    const text = JSON.stringify(EVENTS.map(({ event }) => translated(event)))
    for (const planted of ['Planted UA', 'PlantedBrowser', '203.0.113.77', 'sid=', 'planted-cookie', 'Bearer', '{{auto}}', 'Mozilla/5.0', 'Referer', 'infer_ip', 'sentry.javascript']) {
      expect(text).not.toContain(planted)
    }
  })

  it('{{auto}} or any placeholder in user fields is not a value', () => {
    expect(translated({ message: 'm', user: { id: '{{auto}}', email: '{{ auto }}', username: '{{auto}}', ip_address: '{{auto}}' } }).usr).toBeUndefined()
  })
})

describe('translateSentryEvent: the fields', () => {
  const base = (fields: Record<string, unknown> = {}) => ({
    event_id: 'f'.repeat(32),
    exception: { values: [{ type: 'TypeError', value: 'x is undefined', stacktrace: { frames: [{ function: 'outer', filename: 'https://a.example/app.js', lineno: 10, colno: 5 }, { function: 'inner', filename: 'https://a.example/app.js', lineno: 2, colno: 7 }] }, mechanism: { type: 'generic', handled: true } }] },
    ...fields,
  })

  it('the legacy /store/ shape: exception as an array, ISO timestamp, tags as pairs, message object', () => {
    const out = translated({
      exception: [{ type: 'Error', value: 'boom', stacktrace: { frames: [{ function: 'f', abs_path: 'https://a.example/x.js', filename: '/x.js', lineno: 1, colno: 2 }] } }],
      timestamp: '2026-03-01T10:00:00.500Z',
      tags: [['browser', 'Chrome'], ['plan', 'pro'], ['bad'], [3, 'x']],
      platform: 'javascript',
    })
    expect(out.error).toMatchObject({ type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (https://a.example/x.js:1:2)' })
    expect(out.ts).toBe(Date.parse('2026-03-01T10:00:00.500Z'))
    expect(out.context).toMatchObject({ tags: { browser: 'Chrome', plan: 'pro' } })
    expect(translated({ message: { formatted: 'formatted text', message: 'raw %s', params: ['secret'] } }).error.message).toBe('formatted text')
    expectDecodesCleanly(out)
  })

  it('message events: logentry.formatted, then logentry.message (params never substituted), then message', () => {
    expect(translated({ logentry: { message: 'user %s failed', params: ['ada@example.com'] } }).error).toEqual({ message: 'user %s failed', handled: true, source: 'logger' })
    expect(translated({ logentry: { formatted: 'a', message: 'b' }, message: 'c' }).error.message).toBe('a')
    expect(translated({ message: 'plain' }).error.message).toBe('plain')
    expect(translated({ message: 'from console', logger: 'console' }).error.source).toBe('console')
    // An event-level stacktrace (older SDKs' attachStacktrace) becomes the message's stack.
    expect(translated({ message: 'm', stacktrace: { frames: [{ function: 'f', filename: 'https://a.example/x.js', lineno: 3, colno: 4 }] } }).error.stack).toBe('m\n    at f (https://a.example/x.js:3:4)')
  })

  it('is invalid without anything to say, or when it is not an error event', () => {
    for (const raw of [null, undefined, 'text', 42, [], [{ message: 'x' }], {}, { exception: { values: [] } }, { exception: { values: [{}] } }, { message: '' }, { tags: { a: 'b' } }, { type: 'transaction', message: 'x' }, { type: 'csp', message: 'x' }, { type: 7, message: 'x' }]) {
      expect(translateSentryEvent(raw), JSON.stringify(raw) ?? String(raw)).toEqual({ skip: 'invalid' })
    }
    expect('event' in translateSentryEvent({ type: 'error', message: 'x' })).toBe(true)
    expect('event' in translateSentryEvent({ type: 'default', message: 'x' })).toBe(true)
    // A type alone (`throw new TypeError()`) is an error.
    expect(translated({ exception: { values: [{ type: 'TypeError' }] } }).error).toMatchObject({ type: 'TypeError', message: '' })
  })

  it('handled: from the primary exception only; absent when Sentry does not say', () => {
    expect(translated(base()).error).toMatchObject({ handled: true, source: 'custom' })
    const unknown = base()
    delete (unknown.exception.values[0] as { mechanism?: unknown }).mechanism
    expect(translated(unknown).error.handled).toBeUndefined()
    expect(translated(unknown).error.source).toBe('custom')
  })

  it('fingerprint: one value as is, several as a JSON list, {{ default }} and unknown variables ignored, known ones filled', () => {
    const cases: Array<[unknown, string | undefined]> = [
      [['checkout-failure'], 'checkout-failure'],
      [['a', 'b'], '["a","b"]'],
      [['a b'], 'a b'],
      [[42], '42'],
      [['{{ default }}'], undefined],
      [['{{default}}'], undefined],
      [['{{ default }}', 'checkout'], undefined],
      [['{{ function }}', 'x'], undefined],
      [['{{ type }}', '{{ message }}'], '["TypeError","x is undefined"]'],
      [['{{ transaction }}'], '/cart'],
      [[], undefined],
      ['not-a-list', undefined],
      [[{ a: 1 }], undefined],
      [[null], undefined],
    ]
    for (const [fingerprint, expected] of cases) {
      expect(translated(base({ fingerprint, transaction: '/cart' })).error.fingerprint, JSON.stringify(fingerprint)).toBe(expected)
    }
  })

  it('timestamp: seconds (float or numeric string) or an ISO date, in ms; anything else left to the server', () => {
    expect(translated(base({ timestamp: 1795402752.6779 })).ts).toBe(1795402752678)
    expect(translated(base({ timestamp: '1795402752.5' })).ts).toBe(1795402752500)
    expect(translated(base({ timestamp: '2026-11-23T02:59:12Z' })).ts).toBe(Date.parse('2026-11-23T02:59:12Z'))
    for (const timestamp of ['yesterday', '', -5, Number.POSITIVE_INFINITY, 1e300, {}, null, true]) expect(translated(base({ timestamp })).ts, String(timestamp)).toBeUndefined()
  })

  it('breadcrumbs: the last 20, from an array or { values }, only category, message, level and timestamp', () => {
    const crumbs = Array.from({ length: 100 }, (_, i) => ({ category: 'c', message: `m${i}`, level: 'info', timestamp: 1700000000 + i, type: 'default', data: { secret: 'x' }, event_id: 'e' }))
    for (const breadcrumbs of [crumbs, { values: crumbs }]) {
      const kept = (translated(base({ breadcrumbs })).context as { breadcrumbs: unknown[] }).breadcrumbs
      expect(kept).toHaveLength(MAX_BREADCRUMBS)
      expect(kept[0]).toEqual({ category: 'c', message: 'm80', level: 'info', timestamp: 1700000080000 })
      expect(kept.at(-1)).toEqual({ category: 'c', message: 'm99', level: 'info', timestamp: 1700000099000 })
    }
    const described = (translated(base({ breadcrumbs: [
      { type: 'http', category: 'xhr', data: { method: 'POST', url: '/api/pay', status_code: 502 } },
      { category: 'navigation', data: { from: '/cart', to: '/checkout' } },
      { category: 'fetch', data: { url: '/x' } },
      { category: 'ui.click', data: { secret: 'y' } },
      'not a crumb',
      {},
    ] })).context as { breadcrumbs: unknown[] }).breadcrumbs
    expect(described).toEqual([
      { category: 'xhr', message: 'POST /api/pay [502]' },
      { category: 'navigation', message: '/cart → /checkout' },
      { category: 'fetch', message: '/x' },
      { category: 'ui.click' },
    ])
  })

  it('user: id (numbers too), username as name, email; nothing else', () => {
    expect(translated(base({ user: { id: 7, username: 'ada', email: 'a@example.com', name: 'Ada L' } })).usr).toEqual({ id: '7', name: 'ada', email: 'a@example.com' })
    expect(translated(base({ user: { name: 'Ada L' } })).usr).toEqual({ name: 'Ada L' })
    expect(translated(base({ user: { ip_address: '198.51.100.1' } })).usr).toBeUndefined()
    expect(translated(base({ user: 'ada' })).usr).toBeUndefined()
  })

  it('tags: primitives as strings, objects and prototype keys dropped', () => {
    const tags = JSON.parse('{"a":"x","n":1,"b":true,"o":{"x":1},"__proto__":{"polluted":1},"constructor":"c","":"empty"}') as unknown
    const out = translated(base({ tags }))
    expect(out.context).toMatchObject({ tags: { a: 'x', n: '1', b: 'true' } })
    expect(Object.keys((out.context as { tags: object }).tags)).toEqual(['a', 'n', 'b'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('extra: copied as JSON, deeper levels than the decoder allows become [Object]/[Array], prototype keys dropped', () => {
    let deep: unknown = { leaf: 'value' }
    for (let i = 0; i < 20; i++) deep = { level: deep, list: [[i]] }
    const extra = JSON.parse(`{"__proto__":{"polluted":true},"deep":${JSON.stringify(deep)},"n":1,"s":"${'y'.repeat(5000)}"}`) as unknown
    const out = translated(base({ extra }))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const copied = (out.context as { extra: Record<string, unknown> }).extra
    expect(Object.keys(copied)).toEqual(['deep', 'n', 's'])
    expect(JSON.stringify(copied)).toContain('"[Object]"')
    expect(JSON.stringify(copied)).toContain('"[Array]"')
    expectDecodesCleanly(out)
  })

  it('frames: the newest MAX_FRAMES, line breaks in names and files flattened, no file → <anonymous>, no function → V8 anonymous form', () => {
    const frames = Array.from({ length: MAX_FRAMES + 50 }, (_, i) => ({ function: `f${i}`, filename: 'https://a.example/app.js', lineno: i + 1, colno: 1 }))
    const long = translated(base({ exception: { values: [{ type: 'E', value: 'v', stacktrace: { frames } }] } }))
    const parsed = parseStack(long.error.stack!)
    expect(parsed).toHaveLength(MAX_FRAMES)
    expect(parsed[0]).toMatchObject({ function: `f${MAX_FRAMES + 49}`, line: MAX_FRAMES + 50 })
    expect(parsed.at(-1)).toMatchObject({ function: 'f50' })

    const odd = translated({ exception: { values: [{ type: 'E', value: 'v', stacktrace: { frames: [
      { function: 'evil\n    at injected (https://evil.example/x.js:1:1)', filename: 'https://a.example/a\nb.js', lineno: 1, colno: 2 },
      { filename: 'https://a.example/app.js', lineno: 3, colno: 4 },
      { function: '?', filename: 'https://a.example/app.js', lineno: 5 },
      { function: 'noFile', lineno: 6, colno: 7 },
      { function: 'noPosition', filename: 'https://a.example/app.js' },
      { function: 'badNumbers', filename: 'https://a.example/app.js', lineno: -1, colno: 1.5 },
      'not a frame',
      null,
    ] } }] } })
    expect(odd.error.stack).toBe([
      'E: v',
      '    at badNumbers (https://a.example/app.js)',
      '    at noPosition (https://a.example/app.js)',
      '    at noFile (<anonymous>:6:7)',
      '    at https://a.example/app.js:5',
      '    at https://a.example/app.js:3:4',
      '    at evil     at injected (https://evil.example/x.js:1:1) (https://a.example/a b.js:1:2)',
    ].join('\n'))
    expect(parseStack(odd.error.stack!).map((frame) => frame.function)).toEqual(['noFile', undefined, undefined, 'evil     at injected (https://evil.example/x.js:1:1)'])
  })

  it('a message whose later lines look like frames does not add frames', () => {
    const out = translated(base({ exception: { values: [{ type: 'Error', value: 'first line\n    at planted (https://evil.example/x.js:1:1)', stacktrace: { frames: [{ function: 'real', filename: 'https://a.example/app.js', lineno: 1, colno: 1 }] } }] } }))
    expect(out.error.message).toBe('first line\n    at planted (https://evil.example/x.js:1:1)')
    expect(parseStack(out.error.stack!).map((frame) => frame.function)).toEqual(['real'])
  })

  it('a frameless exception has no stack, and the chain keeps at most 10 causes, nearest first', () => {
    const values = Array.from({ length: 15 }, (_, i) => ({ type: `E${i}`, value: `v${i}` }))
    const out = translated({ exception: { values } })
    expect(out.error).toMatchObject({ type: 'E14', message: 'v14' })
    expect(out.error.stack).toBeUndefined()
    const chain = (out.context as { exception_chain: Array<{ type: string }> }).exception_chain
    expect(chain.map((entry) => entry.type)).toEqual(['E13', 'E12', 'E11', 'E10', 'E9', 'E8', 'E7', 'E6', 'E5', 'E4'])
  })

  it('request.url without a transaction; a transaction without a request goes to context', () => {
    expect(translated(base({ request: { url: 'https://a.example/p' } })).view).toEqual({ id: '', url: 'https://a.example/p' })
    const out = translated(base({ transaction: 'worker:send-mail' }))
    expect(out.view).toBeUndefined()
    expect(out.context).toMatchObject({ transaction: 'worker:send-mail' })
  })
})

describe('translateSentryEvent: size', () => {
  it('an event far over 64 KiB sheds context, then old frames, and still decodes', () => {
    const frames = Array.from({ length: 100 }, (_, i) => ({ function: `fn${i}${'n'.repeat(300)}`, filename: `https://a.example/${'p'.repeat(500)}.js`, lineno: i + 1, colno: 1 }))
    const raw = {
      exception: { values: [{ type: 'Error', value: '\u0001'.repeat(20_000), stacktrace: { frames } }] },
      breadcrumbs: Array.from({ length: 100 }, () => ({ message: 'b'.repeat(4000) })),
      extra: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'e'.repeat(4000)])),
      tags: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`t${i}`, 't'.repeat(200)])),
      release: '1.0',
    }
    const out = translated(raw)
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(LIMITS.eventBytes)
    expectDecodesCleanly(out)
    expect(out.release).toBe('1.0')
    // The message (8,192 characters after the cap, 6 bytes each in JSON) was shortened, to no less than the
    // stack header's 1,024, before any frame went; the newest frames are kept.
    expect(out.error.message.length).toBeLessThan(8192)
    expect(out.error.message.length).toBeGreaterThanOrEqual(1024)
    const kept = parseStack(out.error.stack!)
    expect(kept.length).toBeGreaterThanOrEqual(10)
    expect(kept.map((frame) => frame.function)).toEqual(frames.slice(-kept.length).reverse().map((frame) => frame.function))
  })

  it('an event just under the limit is left whole', () => {
    const out = translated({ message: 'm', extra: { a: 'x'.repeat(4000), b: 'y'.repeat(4000) } })
    expect((out.context as { extra: object }).extra).toEqual({ a: 'x'.repeat(4000), b: 'y'.repeat(4000) })
  })
})

describe('translateSentryEvent: hostile input never throws, and what it returns always decodes', () => {
  function randomValue(next: () => number, depth: number): unknown {
    const pick = Math.floor(next() * 11)
    switch (pick) {
      case 0: return null
      case 1: return next() < 0.5
      case 2: return Math.floor(next() * 2e9) - 1e9
      case 3: return next() * 1e12
      case 4: return '{{ default }}'
      case 5: return 'x\n    at f (https://a.example/a.js:1:2)\u2028\ud800'
      case 6: return 'é'.repeat(Math.floor(next() * 40))
      case 7: return depth > 3 ? [] : Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1))
      case 8: return depth > 3 ? {} : Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, (_, i) => [['type', 'value', 'frames', 'values', 'message', '__proto__', 'lineno'][i % 7]!, randomValue(next, depth + 1)]))
      case 9: return -1
      default: return ''
    }
  }

  const mutate = (value: unknown, next: () => number) => mutateJson(value, next, randomValue)

  it('5,000 mutations of the captured events', () => {
    const next = seededRandom(42)
    const outputs: Array<Record<string, unknown>> = []
    for (let round = 0; round < 5000; round++) {
      let raw: unknown = EVENTS[round % EVENTS.length]!.event
      for (let edits = 1 + Math.floor(next() * 4); edits > 0; edits--) raw = mutate(raw, next)
      let result: TranslatedSentryEvent | undefined
      expect(() => (result = translateSentryEvent(raw))).not.toThrow()
      if (result && 'event' in result) outputs.push(result.event)
    }
    expect(outputs.length).toBeGreaterThan(1000)
    for (let i = 0; i < outputs.length; i += 400) {
      const batch = decoded(outputs.slice(i, i + 400))
      expect(batch.problems).toEqual([])
    }
  })

  it('deep JSON and odd objects', () => {
    const deep = JSON.parse('{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)) as unknown
    const deepArray = JSON.parse('['.repeat(20_000) + ']'.repeat(20_000)) as unknown
    const cases: unknown[] = [
      { message: 'm', extra: deep, tags: deep, breadcrumbs: deepArray, user: deep, request: deep, fingerprint: deepArray },
      { exception: deep },
      { exception: { values: deepArray } },
      { exception: { values: [{ type: 'E', value: 'v', stacktrace: deep, mechanism: deep }] } },
      { exception: { values: [{ type: 'E', value: 'v', stacktrace: { frames: deepArray } }] } },
      Object.create(null),
      { message: 'm', extra: { get boom(): never { throw new Error('getter') } } },
      new Proxy({}, { get() { throw new Error('proxy') } }),
    ]
    for (const raw of cases) {
      let result: TranslatedSentryEvent | undefined
      expect(() => (result = translateSentryEvent(raw))).not.toThrow()
      if (result && 'event' in result) expectDecodesCleanly(result.event)
    }
  })
})

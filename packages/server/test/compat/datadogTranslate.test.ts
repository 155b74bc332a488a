import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { parseDdtags, translateDatadogEvent, type DatadogBatch, type DatadogTranslation } from '../../src/compat/datadog/translateDatadogEvent.js'
import { rewriteDatadogStack } from '../../src/compat/datadog/rewriteDatadogStack.js'
import { parseStack } from '../../src/errors/parseStack.js'
import { decodeBatch, type DecodedBatch } from '../../src/protocol/decodeBatch.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/datadog')
const TOKEN = 'tc_DatadogFixture0123456789abcdefgh'

interface CapturedRequest {
  file: string
  run: string
  method: string
  url: string
  headers: Record<string, string>
  body?: string
  bodyBase64?: string
}

type Raw = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any -- fixture JSON, read loosely
type Event = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any -- translated events, read loosely

function loadRequests(): CapturedRequest[] {
  const requests: CapturedRequest[] = []
  for (const file of readdirSync(FIXTURES).filter((name) => name.endsWith('.requests.ndjson')).sort()) {
    for (const line of readFileSync(join(FIXTURES, file), 'utf8').split('\n')) {
      if (line.trim() !== '') requests.push({ file, ...(JSON.parse(line) as Omit<CapturedRequest, 'file'>) })
    }
  }
  return requests
}

/** The forwarded intake path and query: what the SDK put in `ddforward`. */
function forwarded(request: CapturedRequest): URL {
  const outer = new URL(request.url, 'http://intake.invalid')
  return new URL(outer.searchParams.get('ddforward') ?? '', 'http://ddforward.invalid')
}

function bodyText(request: CapturedRequest): string {
  return request.bodyBase64 !== undefined ? inflateSync(Buffer.from(request.bodyBase64, 'base64')).toString('utf8') : (request.body ?? '')
}

function rawEvents(request: CapturedRequest): Raw[] {
  return bodyText(request)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Raw)
}

function batchOf(request: CapturedRequest, extra: Partial<DatadogBatch> = {}): DatadogBatch {
  return { tags: parseDdtags(forwarded(request).searchParams.get('ddtags') ?? undefined), ...extra }
}

const REQUESTS = loadRequests()
const ALL_RAW = REQUESTS.flatMap((request) => rawEvents(request).map((raw) => ({ request, raw })))

function translateAll(run?: string): { events: Event[]; skips: Array<{ raw: Raw; skip: string }> } {
  const events: Event[] = []
  const skips: Array<{ raw: Raw; skip: string }> = []
  for (const { request, raw } of ALL_RAW) {
    if (run !== undefined && request.run !== run) continue
    for (const translation of translateDatadogEvent(raw, batchOf(request))) {
      if ('skip' in translation) skips.push({ raw, skip: translation.skip })
      else events.push(translation.event)
    }
  }
  return { events, skips }
}

function events(translations: DatadogTranslation[]): Event[] {
  return translations.flatMap((t) => ('event' in t ? [t.event] : []))
}

function decodeAll(list: Event[]): DecodedBatch {
  const result = decodeBatch(list.map((event) => JSON.stringify(event)).join('\n'))
  if (!result.ok) throw new Error(`decodeBatch refused the batch: ${result.code}`)
  return result
}

const TRANSLATED = translateAll()
/** The main run's events: the specific assertions below are about its session (the deflate run repeats some). */
const MAIN = translateAll('main')
const find = (type: string, predicate: (event: Event) => boolean = () => true): Event => {
  const found = MAIN.events.find((event) => event.type === type && predicate(event))
  if (!found) throw new Error(`no translated ${type} event matches`)
  return found
}
const rawOf = (type: string, predicate: (raw: Raw) => boolean): Raw => {
  const found = ALL_RAW.find(({ request, raw }) => request.run === 'main' && raw.type === type && predicate(raw))
  if (!found) throw new Error(`no captured ${type} event matches`)
  return found.raw
}

describe('the captured requests (what @datadog/browser-rum 7.16.2 sends through a string proxy)', () => {
  it('has every kind of request and event the capture script produced', () => {
    expect(new Set(REQUESTS.map((r) => r.file))).toEqual(
      new Set(['rum-beacon.requests.ndjson', 'rum-deflate-run-plain.requests.ndjson', 'rum-deflate.requests.ndjson', 'rum-fetch.requests.ndjson', 'telemetry.requests.ndjson']),
    )
    expect(new Set(ALL_RAW.map(({ raw }) => raw.type))).toEqual(new Set(['view', 'action', 'error', 'resource', 'long_task', 'vital', 'telemetry']))
  })

  it('posts text/plain to the proxy with one ddforward parameter holding /api/v2/rum and its query', () => {
    for (const request of REQUESTS) {
      expect(request.method).toBe('POST')
      const outer = new URL(request.url, 'http://intake.invalid')
      expect(outer.pathname).toBe('/api/compat/datadog')
      expect([...outer.searchParams.keys()]).toEqual(['ddforward'])
      const target = forwarded(request)
      expect(target.pathname).toBe('/api/v2/rum')
      const query = target.searchParams
      expect(query.get('ddsource')).toBe('browser')
      // The client token: a query parameter of the forwarded URL, never a header.
      expect(query.get('dd-api-key')).toBe(TOKEN)
      expect(query.get('dd-evp-origin-version')).toBe('7.16.2')
      expect(query.get('dd-evp-origin')).toBe('browser')
      expect(query.get('dd-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(Number(query.get('batch_time'))).toBeGreaterThan(0)
      expect(['fetch', 'beacon']).toContain(query.get('_dd.api'))
      // v7 tags every event instead of the batch.
      expect(query.has('ddtags')).toBe(false)
      expect(request.headers['content-type']).toMatch(/^text\/plain/)
      expect(request.headers['content-encoding']).toBeUndefined()
      expect(request.headers.origin).toMatch(/^http:\/\/localhost:\d+$/)
    }
  })

  it('signals deflate only with dd-evp-encoding=deflate, and the body is a zlib stream', () => {
    const [deflated] = REQUESTS.filter((r) => r.file === 'rum-deflate.requests.ndjson')
    expect(forwarded(deflated!).searchParams.get('dd-evp-encoding')).toBe('deflate')
    expect(deflated!.headers['content-type']).toBe('text/plain')
    expect(Buffer.from(deflated!.bodyBase64!, 'base64').subarray(0, 2).toString('hex')).toBe('789c')
    expect(rawEvents(deflated!).length).toBeGreaterThan(5)
    // The same session's page-exit request is plain: no parameter, no compression.
    const [plain] = REQUESTS.filter((r) => r.file === 'rum-deflate-run-plain.requests.ndjson')
    expect(forwarded(plain!).searchParams.has('dd-evp-encoding')).toBe(false)
    expect(rawEvents(plain!).map((e) => e.type)).toEqual(['view'])
  })

  it('left no cookie, localStorage or IndexedDB entry with sessionPersistence memory: only _dd_tab_id in sessionStorage', () => {
    const observed = JSON.parse(readFileSync(join(FIXTURES, 'storage-observed.json'), 'utf8')) as Record<string, Raw>
    for (const run of ['main', 'deflate']) {
      expect(observed[run]).toEqual({
        cookies: [],
        documentCookie: '',
        localStorage: [],
        sessionStorage: { _dd_tab_id: 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx' },
        indexedDB: [],
        writes: ['sessionStorage _dd_tab_id'],
      })
    }
  })
})

describe('translateDatadogEvent on the captured payloads', () => {
  it("translates every captured line into events Tacit's decoder accepts without a single problem", () => {
    const decoded = decodeAll(TRANSLATED.events)
    expect(decoded.problems).toEqual([])
    expect(decoded.invalid + decoded.tooLarge).toBe(0)
    expect(decoded.events).toHaveLength(TRANSLATED.events.length)
    // Each request on its own too, as the intake route translates and decodes them.
    for (const request of REQUESTS) {
      const list = rawEvents(request).flatMap((raw) => events(translateDatadogEvent(raw, batchOf(request))))
      if (list.length > 0) expect(decodeAll(list).problems).toEqual([])
    }
  })

  it('skips only telemetry and operation-step vitals, as unsupported; nothing captured is invalid', () => {
    expect(TRANSLATED.skips.map(({ skip }) => skip)).not.toContain('invalid')
    expect(new Set(TRANSLATED.skips.map(({ raw }) => (raw.type === 'vital' ? `vital:${raw.vital.type}` : raw.type)))).toEqual(
      new Set(['telemetry', 'vital:operation_step']),
    )
    const telemetry = REQUESTS.find((r) => r.file === 'telemetry.requests.ndjson')!
    for (const raw of rawEvents(telemetry)) expect(translateDatadogEvent(raw, batchOf(telemetry))).toEqual([{ skip: 'unsupported' }])
  })

  it('never carries the SDK session, tab, account, device, application or _dd fields', () => {
    const serialized = JSON.stringify(TRANSLATED.events)
    const forbiddenValues = new Set<string>()
    for (const { raw } of ALL_RAW) {
      if (raw.session?.id) forbiddenValues.add(raw.session.id)
      if (raw.tab?.id) forbiddenValues.add(raw.tab.id)
      if (raw.account?.id) forbiddenValues.add(raw.account.id)
      if (raw.application?.id) forbiddenValues.add(raw.application.id)
    }
    // Two runs: a session id and a tab id each, one account id and one application id.
    expect(forbiddenValues.size).toBe(6)
    for (const value of forbiddenValues) expect(serialized).not.toContain(value)
    for (const event of TRANSLATED.events) {
      for (const key of ['session', 'tab', 'account', 'device', 'os', 'display', 'connectivity', 'application', '_dd', 'ddtags', 'date', 'synthetics', 'ci_test', 'privacy', 'source']) {
        expect(event).not.toHaveProperty(key)
      }
      if (event.usr) expect(Object.keys(event.usr).sort()).toEqual(['email', 'id', 'name'])
    }
    expect(serialized).not.toContain('Example Corp')
    expect(serialized).not.toContain('"selector"')
  })

  it('maps the common fields: date, service, env from the per-event ddtags, version, view, context, usr', () => {
    const raw = rawOf('error', (e) => e.error.handling === 'unhandled')
    const error = find('error', (e) => e.error.handled === false)
    expect(error).toMatchObject({
      ts: raw.date,
      service: 'shop',
      env: 'prod',
      release: '1.2.3',
      view: { id: raw.view.id, url: raw.view.url },
      context: { plan: 'pro' },
      usr: { id: 'user-1234', name: 'Test Person', email: 'test.person@example.com' },
    })
    // A direct visit has an empty referrer, which is left out; the route change's is the previous page.
    expect(error.view).not.toHaveProperty('referrer')
    expect(find('action', (e) => e.view.url.endsWith('/checkout')).view.referrer).toMatch(/\/cart$/)
  })

  it('turns a view into a Tacit view: version from _dd.document_version, nanoseconds into milliseconds, counts', () => {
    const ended = rawOf('view', (e) => e.view.is_active === false)
    const view = find('view', (e) => e.view.id === ended.view.id && e.view.version === 4)
    expect(view.ts).toBe(ended.date)
    expect(view.view).toEqual({
      id: ended.view.id,
      url: ended.view.url,
      loading_type: 'initial_load',
      version: 4,
      time_spent: 34891, // 34891000000 ns
      first_byte: 10.8, // 10800000 ns
      dom_interactive: 141.6,
      dom_content_loaded: 141.9,
      dom_complete: 142.6,
      load_event: 142.7,
      action_count: 3,
      error_count: 3,
      resource_count: 6,
      long_task_count: 2,
    })
    // Every update of the view is translated with its own version; the store keeps the highest.
    const versions = TRANSLATED.events.filter((e) => e.type === 'view' && e.view.id === ended.view.id).map((e) => e.view.version)
    expect(versions.sort()).toEqual([1, 3, 4])
    expect(find('view', (e) => e.view.url.endsWith('/checkout')).view).toMatchObject({ loading_type: 'route_change', version: 3, time_spent: 4066 })
  })

  it('yields Web Vitals only from the view that ended (is_active false), once each, with their targets', () => {
    const vitals = TRANSLATED.events.filter((e) => e.type === 'vital')
    const ended = rawOf('view', (e) => e.view.is_active === false)
    expect(vitals.map((v) => v.vital)).toEqual([
      { name: 'LCP', value: 176, rating: 'good', target: 'BODY>MAIN>H1' },
      { name: 'FCP', value: 176, rating: 'good' },
      { name: 'CLS', value: 0.1279, rating: 'needs-improvement', target: 'BODY' },
      { name: 'INP', value: 168, rating: 'good', target: '#recalculate' },
      { name: 'TTFB', value: 10.8, rating: 'good' },
    ])
    for (const vital of vitals) {
      expect(vital.view).toEqual({ id: ended.view.id, url: ended.view.url })
      expect(vital).toMatchObject({ ts: ended.date, service: 'shop', env: 'prod', release: '1.2.3' })
    }
    // Active updates of the same view (versions 1 and 3) yield none.
    const active = rawOf('view', (e) => e.view.id === ended.view.id && e._dd.document_version === 3)
    expect(translateDatadogEvent(active, { tags: {} })).toHaveLength(1)
  })

  it('with pageExit, the last view of the page (never ended by the SDK) yields its vitals too', () => {
    const beacon = REQUESTS.find((r) => r.file === 'rum-beacon.requests.ndjson')!
    const last = rawEvents(beacon).find((e) => e.type === 'view' && e.view.is_active === true)!
    expect(events(translateDatadogEvent(last, batchOf(beacon))).map((e) => e.type)).toEqual(['view'])
    const translated = events(translateDatadogEvent(last, batchOf(beacon, { pageExit: true })))
    // A route-change view has no paint or navigation timings: only CLS and INP.
    expect(translated.map((e) => e.type === 'vital' && [e.vital.name, e.vital.value])).toEqual([false, ['CLS', 0], ['INP', 0]])
    expect(decodeAll(translated).problems).toEqual([])
  })

  it('translates actions: type, target name, frustration, loading time', () => {
    expect(find('action', (e) => e.action.name === 'Buy now' && e.view.url.endsWith('/cart')).action).toEqual({ type: 'click', name: 'Buy now', duration: 19 })
    expect(find('action', (e) => e.action.name === 'Buy now' && e.view.url.endsWith('/checkout')).action.duration).toBe(14)
    expect(find('action', (e) => e.action.name === 'Recalculate').action).toEqual({ type: 'click', name: 'Recalculate', frustration: ['dead_click'] })
    const custom = find('action', (e) => e.action.type === 'custom')
    expect(custom.action).toEqual({ type: 'custom', name: 'checkout' })
    expect(custom.context).toEqual({ plan: 'pro', cart_items: 3 })
  })

  it('translates errors, printing the stack back in V8 format so Tacit parses its frames', () => {
    const uncaught = find('error', (e) => e.error.type === 'TypeError').error
    expect(uncaught).toMatchObject({ message: "Cannot read properties of undefined (reading 'percent')", handled: false, source: 'source' })
    expect(uncaught.stack).toMatch(/^TypeError: Cannot read properties of undefined \(reading 'percent'\)\n {4}at applyDiscount \(http:\/\/localhost:\d+\/app\.js:3:22\)\n {4}at http:\/\/localhost:\d+\/app\.js:24:33$/)
    expect(parseStack(uncaught.stack)).toEqual([
      { function: 'applyDiscount', file: expect.stringMatching(/\/app\.js$/), line: 3, column: 22, inApp: true },
      { file: expect.stringMatching(/\/app\.js$/), line: 24, column: 33, inApp: true },
    ])
    const handled = find('error', (e) => e.error.type === 'SyntaxError')
    expect(handled.error).toMatchObject({ handled: true, source: 'custom' })
    expect(handled.context).toEqual({ plan: 'pro', step: 'checkout' })
    expect(parseStack(handled.error.stack)[1]).toMatchObject({ function: 'Object.handled', line: 26, column: 16 })
    expect(find('error', (e) => e.error.source === 'console').error).toEqual({ message: 'Payment widget failed to load', handled: true, source: 'console' })
  })

  it('translates resources: duration, type, method, status, sizes, render blocking', () => {
    expect(find('resource', (e) => e.resource.url.endsWith('/api/cart?sku=42') && e.view.url.endsWith('/cart')).resource).toEqual({
      url: expect.stringMatching(/\/api\/cart\?sku=42$/),
      duration: 6, // 6000000 ns
      type: 'fetch',
      method: 'GET',
      status_code: 200,
      size: 33,
      transfer_size: 333,
      render_blocking: false,
    })
    expect(find('resource', (e) => e.resource.url.endsWith('/api/cart?sku=42') && e.view.url.endsWith('/checkout')).resource.duration).toBe(4.8)
    expect(find('resource', (e) => e.resource.url.endsWith('/datadog-rum.js')).resource).toMatchObject({ duration: 24.9, type: 'js', render_blocking: true })
    expect(find('resource', (e) => e.resource.url.endsWith('/favicon.ico')).resource).toMatchObject({ status_code: 404, size: 0 })
  })

  it('translates long animation frames with the longest script', () => {
    expect(find('long_task', (e) => e.long_task.script_function === 'onRecalculate').long_task).toEqual({
      duration: 163.7,
      type: 'long-animation-frame',
      blocking_duration: 113.3,
      script_url: expect.stringMatching(/\/app\.js$/),
      script_function: 'onRecalculate',
      invoker: 'BUTTON#recalculate.onclick',
      invoker_type: 'event-listener',
    })
    // The page-load frame ran two scripts (the SDK 13.3 ms, the inline one 39.4 ms); an empty function name is left out.
    expect(find('long_task', (e) => e.long_task.duration === 94.1).long_task).toEqual({
      duration: 94.1,
      type: 'long-animation-frame',
      blocking_duration: 0,
      script_url: expect.stringMatching(/\/cart$/),
      invoker: expect.stringMatching(/\/cart$/),
      invoker_type: 'classic-script',
    })
  })

  it('turns a custom duration vital into a custom event with vital_duration_ms', () => {
    const custom = find('custom')
    expect(custom.custom).toEqual({ name: 'image_upload' })
    expect(custom.context).toEqual({ plan: 'pro', format: 'png', vital_duration_ms: 250 })
    expect(TRANSLATED.events.filter((e) => e.type === 'custom')).toHaveLength(1)
  })
})

const VIEW = { id: 'a99c1650-ccbc-4fe9-984a-6f0e859aff7c', url: 'https://shop.example/cart' }
const translate = (raw: unknown, tags: Record<string, string> = {}) => translateDatadogEvent(raw, { tags })
const only = (raw: unknown, tags: Record<string, string> = {}): Event => {
  const [first, ...rest] = translate(raw, tags)
  expect(rest).toEqual([])
  if (!first || !('event' in first)) throw new Error(`expected one event, got ${JSON.stringify(first)}`)
  return first.event
}

describe('translateDatadogEvent: tags and versions', () => {
  it("takes env from the event's own ddtags, else the batch's (v5/v6 send them in the query)", () => {
    const error = { type: 'error', date: 1, view: VIEW, error: { message: 'x', source: 'source' } }
    expect(only({ ...error, ddtags: 'env:staging,service:shop' }, { env: 'prod' }).env).toBe('staging')
    expect(only(error, parseDdtags('sdk_version:6.22.0,env:prod,service:legacy-shop,version:0.9'))).toMatchObject({ env: 'prod', service: 'legacy-shop', release: '0.9' })
    expect(only({ ...error, service: 'shop', version: '2.0.0' }, { service: 'other', version: '1' })).toMatchObject({ service: 'shop', release: '2.0.0' })
    expect(only(error)).not.toHaveProperty('env')
  })

  it('skips the event types Tacit does not store as unsupported, and unknown ones as invalid', () => {
    for (const type of ['telemetry', 'view_update', 'transition']) expect(translate({ type, view: VIEW })).toEqual([{ skip: 'unsupported' }])
    for (const type of ['websocket', 'operation_step']) expect(translate({ type: 'vital', view: VIEW, vital: { id: 'v', type, name: 'n' } })).toEqual([{ skip: 'unsupported' }])
    for (const type of ['session', 'replay', 'VIEW', '']) expect(translate({ type, view: VIEW })).toEqual([{ skip: 'invalid' }])
  })

  it('reads a v5 custom vital, whose duration is keyed by name under vital.custom', () => {
    expect(only({ type: 'vital', view: VIEW, vital: { id: 'v', type: 'duration', name: 'boot', custom: { boot: 1_500_000 } } })).toMatchObject({
      type: 'custom',
      custom: { name: 'boot' },
      context: { vital_duration_ms: 1.5 },
    })
  })

  it('maps the remaining enumerations: native resources, long tasks, webview errors, loading types, mobile frustrations', () => {
    expect(only({ type: 'resource', view: VIEW, resource: { url: 'https://x/a', duration: 1e6, type: 'native' } }).resource.type).toBe('other')
    expect(only({ type: 'long_task', view: VIEW, long_task: { duration: 80e6, entry_type: 'long-task' } }).long_task).toEqual({ duration: 80, type: 'longtask' })
    expect(only({ type: 'error', view: VIEW, error: { message: 'm', source: 'webview' } }).error).toEqual({ message: 'm', source: 'custom' })
    expect(only({ type: 'view', view: { ...VIEW, loading_type: 'bf_cache' } }).view).toEqual(VIEW)
    expect(only({ type: 'action', view: VIEW, action: { type: 'tap', target: { name: 'Buy' }, frustration: { type: ['rage_tap', 'error_click', 'error_click'] } } }).action).toEqual({
      type: 'tap',
      name: 'Buy',
      frustration: ['error_click'],
    })
    expect(translate({ type: 'action', view: VIEW, action: { type: 'hover', target: { name: 'x' } } })).toEqual([{ skip: 'invalid' }])
  })
})

describe('translateDatadogEvent: hostile input', () => {
  it('never throws, and skips what is not a Datadog event as invalid', () => {
    const throwing = new Proxy({}, { get: () => { throw new Error('boom') }, has: () => { throw new Error('boom') }, getOwnPropertyDescriptor: () => { throw new Error('boom') } })
    for (const raw of [null, undefined, 1, 'view', true, [], [{ type: 'view' }], {}, { type: 7 }, { type: 'view' }, { type: 'view', view: 'x' }, { type: 'view', view: { id: 1, url: 'u' } }, Object.create({ type: 'view', view: VIEW }), throwing]) {
      expect(translate(raw)).toEqual([{ skip: 'invalid' }])
    }
    expect(translate({ type: 'error', view: VIEW, error: { message: 42 } })).toEqual([{ skip: 'invalid' }])
    expect(translate({ type: 'action', view: VIEW, action: { type: 'click' } })).toEqual([{ skip: 'invalid' }])
    expect(translate({ type: 'vital', view: VIEW, vital: { type: 'duration', name: 'x' } })).toEqual([{ skip: 'invalid' }])
    expect(translate({ type: 'vital', view: VIEW, vital: 'duration' })).toEqual([{ skip: 'invalid' }])
  })

  it('skips a resource or long task without a valid duration, and drops other negative or non-numeric durations', () => {
    for (const duration of [undefined, -1, '5', null, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(translate({ type: 'resource', view: VIEW, resource: { url: 'https://x/a', duration } })).toEqual([{ skip: 'invalid' }])
      expect(translate({ type: 'long_task', view: VIEW, long_task: { duration } })).toEqual([{ skip: 'invalid' }])
    }
    const view = only({
      type: 'view',
      date: -5,
      view: { ...VIEW, time_spent: -1, first_byte: '10', load_event: Number.NaN, action: { count: -2 }, error: { count: 1.5 }, resource: { count: 2 ** 60 }, is_active: false, largest_contentful_paint: -3, cumulative_layout_shift: -0.1 },
      _dd: { document_version: -1 },
    })
    expect(view).toEqual({ type: 'view', view: VIEW })
  })

  it('keeps huge but finite numbers finite, and the decoder accepts them', () => {
    const translated = events(translate({ type: 'view', date: 1e300, view: { ...VIEW, time_spent: 1e308, is_active: false, largest_contentful_paint: 1e308, cumulative_layout_shift: 1e308 }, _dd: { document_version: Number.MAX_SAFE_INTEGER } }))
    expect(translated.map((e) => e.type)).toEqual(['view', 'vital', 'vital'])
    expect(translated[0]!.view).toMatchObject({ time_spent: 1e302, version: Number.MAX_SAFE_INTEGER })
    expect(decodeAll(translated).problems).toEqual([])
  })

  it('drops prototype keys and never reads inherited properties', () => {
    const raw = JSON.parse(
      `{"type":"error","view":${JSON.stringify(VIEW)},"error":{"message":"m"},"context":{"__proto__":{"polluted":1},"constructor":{"x":1},"prototype":1,"kept":true},"usr":{"__proto__":{"id":"x"}}}`,
    ) as unknown
    const error = only(raw)
    expect(Object.keys(error.context as object)).toEqual(['kept'])
    expect(error).not.toHaveProperty('usr')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(decodeAll([error]).problems).toEqual([])
    // parseDdtags too: a tag named __proto__ is not a tag.
    expect(Object.keys(parseDdtags('__proto__:x,constructor:y,env:prod'))).toEqual(['env'])
  })

  it('never maps SDK identifiers, whatever else an event carries', () => {
    const error = only({
      type: 'error',
      view: VIEW,
      error: { message: 'm' },
      session: { id: 'sess-1', type: 'user' },
      tab: { id: 'tab-1' },
      _dd_tab_id: 'tab-2',
      usr: { id: 'u1', anonymous_id: 'anon-1', account: { id: 'acct-1' } },
      account: { id: 'acct-2' },
      _dd: { document_version: 3 },
      application: { id: 'app-1' },
    })
    expect(error).toEqual({ type: 'error', view: VIEW, usr: { id: 'u1' }, error: { message: 'm', source: 'custom' } })
  })
})

describe('parseDdtags', () => {
  it('reads key:value tags, splitting at the first colon', () => {
    expect(parseDdtags('sdk_version:7.16.2,env:prod,service:shop,version:1.2.3')).toEqual({ sdk_version: '7.16.2', env: 'prod', service: 'shop', version: '1.2.3' })
    expect(parseDdtags('version:1.2.3:rc1, env : prod ,bare,,env:other')).toEqual({ version: '1.2.3:rc1', env: 'prod', bare: '' })
    expect(parseDdtags(undefined)).toEqual({})
    expect(parseDdtags('')).toEqual({})
  })

  it('reads a bounded number of tags', () => {
    expect(Object.keys(parseDdtags(Array.from({ length: 10_000 }, (_, i) => `k${i}:v`).join(',')))).toHaveLength(64)
  })
})

describe('rewriteDatadogStack', () => {
  it("prints Datadog's frames the way V8 does", () => {
    expect(rewriteDatadogStack('Error: x\n  at fn @ https://a/b.js:1:2\n  at <anonymous> @ https://a/c.js:3:4\n  at Array.map(native) @ native\n  at ? @ https://a/d.js:5')).toBe(
      'Error: x\n    at fn (https://a/b.js:1:2)\n    at https://a/c.js:3:4\n    at Array.map (native)\n    at https://a/d.js:5',
    )
  })

  it('leaves other stacks and the message alone', () => {
    const v8 = 'TypeError: a @ b\n    at f (https://a/b.js:1:2)'
    expect(rewriteDatadogStack(v8)).toBe(v8)
    expect(rewriteDatadogStack('f@https://a/b.js:1:2')).toBe('f@https://a/b.js:1:2')
  })
})

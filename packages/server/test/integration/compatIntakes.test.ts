import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join, resolve } from 'node:path'
import { brotliCompressSync, deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixtureBundle, SITE, type FixtureBundle } from '../sourcemaps/buildFixtureBundle.js'
import { databaseBytes, readStoredEvents } from '../support/storedData.js'
import { makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'

/**
 * The three foreign-SDK intakes (issue 9) on a real `tacit serve`, from the outside: bad input gets a clear
 * `{error, message}` and loses nothing that was good, compressed and legacy bodies work, the answers are the
 * ones each SDK acts on (Sentry's ids and rate-limit headers, TrackX's 200s and GIF, Datadog's 202s), errors
 * sent through any of them are grouped into one issue and shown de-minified from an uploaded source map, and
 * what the SDKs carry about the visitor (request headers, IPs, the SDK's own session and user ids) never
 * reaches the database or the debug log.
 */

const FIXTURES = resolve(import.meta.dirname, '../fixtures')
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36'
const SHOP_ORIGIN = 'https://shop.example'
const MIB = 1024 * 1024

interface App {
  id: number
  name: string
  token: string
}

interface Answer {
  status: number
  headers: Headers
  bytes: Buffer
  text: string
  json: Record<string, unknown> | undefined
}

interface Counts {
  accepted: Record<string, number>
  dropped: Record<string, number>
}

let root: ReturnType<typeof makeTempDir>
let dataDir: string
let server: ServerProcess
let build: FixtureBundle
let decoy: Server
let decoyPort: number
const decoyHits: string[] = []
let decoyConnections = 0

const apps = {} as Record<'dd' | 'ddPlain' | 'sentry' | 'sentryB' | 'limited' | 'tx' | 'maps' | 'priv', App>
const trackxKeys = { tx: '', revocable: '', revocableId: 0, maps: '' }

// ---------------------------------------------------------------------------------------------------------
// Helpers

async function tacit(args: string[]): Promise<string> {
  const result = await runTacit(args, { dataDir })
  if (result.code !== 0) throw new Error(`tacit ${args.join(' ')} exited with ${result.code}: ${result.stderr}`)
  return result.stdout
}

async function tacitJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await tacit([...args, '--json'])) as T
}

async function createApp(name: string, ...options: string[]): Promise<App> {
  return tacitJson<App>(['app', 'create', name, ...options])
}

async function send(path: string, init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Answer> {
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : new Uint8Array(init.body)
  const response = await fetch(`${server.url}${path}`, { method: init.method ?? 'POST', body, headers: init.headers })
  const bytes = Buffer.from(await response.arrayBuffer())
  const text = bytes.toString('utf8')
  let json: Record<string, unknown> | undefined
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, bytes, text, json }
}

/** A refusal as every Tacit endpoint gives it: the status, JSON `{error, message}` and nothing else. */
function expectRefusal(answer: Answer, status: number, error: string): void {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/)
  expect(Object.keys(answer.json ?? {}).sort()).toEqual(['error', 'message'])
  expect(answer.json!.error).toBe(error)
  expect(answer.json!.message).toEqual(expect.stringMatching(/^[A-Z].{15,}/))
}

function storedCount(app: App): number {
  return readStoredEvents(dataDir, app.id).length
}

/** `tacit stats` summed over its days (two, so a run across midnight UTC still adds up). */
async function stats(app: App): Promise<Counts> {
  const report = await tacitJson<{ days: Counts[] }>(['stats', app.name, '--days', '2'])
  const sum: Counts = { accepted: {}, dropped: {} }
  for (const day of report.days) {
    for (const kind of ['accepted', 'dropped'] as const) {
      for (const [key, n] of Object.entries(day[kind])) sum[kind][key] = (sum[kind][key] ?? 0) + n
    }
  }
  return sum
}

function growth(before: Counts, after: Counts): Counts {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.entries(b).flatMap(([key, n]) => (n - (a[key] ?? 0) === 0 ? [] : [[key, n - (a[key] ?? 0)]])))
  return { accepted: diff(before.accepted, after.accepted), dropped: diff(before.dropped, after.dropped) }
}

interface IssueJson {
  id: number
  count: number
  title: string
  latest_event: {
    env: string | null
    release: string | null
    frames: Array<{ function: string | null; file: string | null; resolved?: boolean; minified?: { function: string | null; file: string | null } }>
  }
}

// Datadog ----------------------------------------------------------------------------------------------------

/** The URL a string `proxy` makes the Datadog SDK post to. */
function ddForward(token: string | undefined, params: Record<string, string> = {}, track = 'rum'): string {
  const query = new URLSearchParams({ ddsource: 'browser', ...(token !== undefined && { 'dd-api-key': token }), 'dd-evp-origin': 'browser', ...params })
  return `/api/compat/datadog?ddforward=${encodeURIComponent(`/api/v2/${track}?${query.toString()}`)}`
}

interface CapturedRequest {
  url: string
  headers: Record<string, string>
  body?: string
  bodyBase64?: string
}

function capturedRequests(file: string): CapturedRequest[] {
  return readFileSync(join(FIXTURES, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CapturedRequest)
}

/** A captured request's URL with our token in place of the fixture's, and optionally without some parameters. */
function withToken(url: string, token: string, drop: string[] = []): string {
  const outer = new URL(url, 'http://captured.invalid')
  const forward = new URL(outer.searchParams.get('ddforward')!, 'http://captured.invalid')
  forward.searchParams.set('dd-api-key', token)
  for (const name of drop) forward.searchParams.delete(name)
  return `/api/compat/datadog?ddforward=${encodeURIComponent(`${forward.pathname}${forward.search}`)}`
}

function ddLine(type: string, body: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type, date: Date.now(), service: 'shop', version: '1.0.0', view: { id: 'dd-view-1', url: 'https://shop.example/cart' }, ...body, ...extra })
}

const ddHeaders = { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': CHROME }

// Sentry -----------------------------------------------------------------------------------------------------

function sentryPath(projectId: number | string, key: string | undefined, kind: 'envelope' | 'store' = 'envelope'): string {
  const query = new URLSearchParams({ sentry_version: '7', ...(key !== undefined && { sentry_key: key }), sentry_client: 'sentry.javascript.browser/11.12.0' })
  return `/api/${projectId}/${kind}/?${query.toString()}`
}

function eventId(): string {
  return randomUUID().replaceAll('-', '')
}

/** An envelope as the SDKs write it: JSON items without `length`, no trailing newline. */
function envelope(header: Record<string, unknown>, items: Array<[Record<string, unknown>, unknown]>): string {
  return [JSON.stringify(header), ...items.flatMap(([itemHeader, payload]) => [JSON.stringify(itemHeader), JSON.stringify(payload)])].join('\n')
}

function sentryEvent(id: string, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: id,
    timestamp: Date.now() / 1000,
    platform: 'javascript',
    level: 'error',
    release: '1.0.0',
    environment: 'prod',
    exception: {
      values: [{ type: 'Error', value: message, mechanism: { type: 'generic', handled: true }, stacktrace: { frames: [{ function: 'placeOrder', filename: 'https://shop.example/app.js', lineno: 3, colno: 7, in_app: true }] } }],
    },
    ...extra,
  }
}

function eventEnvelope(id: string, message: string, extra: Record<string, unknown> = {}): string {
  return envelope({ event_id: id, sent_at: new Date().toISOString(), sdk: { name: 'sentry.javascript.browser', version: '11.12.0' } }, [[{ type: 'event' }, sentryEvent(id, message, extra)]])
}

// Stacks into the minified fixture bundle ---------------------------------------------------------------------

interface SiteFrame {
  function?: string
  url: string
  line: number
  column: number
}

/** The bundle's stack as a browser would print it: its header and the frames in the site's script only. */
function siteStack(): { header: string; frames: SiteFrame[]; v8: string } {
  const [header = '', ...lines] = build.stack.split('\n')
  const frames: SiteFrame[] = []
  for (const line of lines) {
    const match = /^\s+at (?:(.+?) \()?(https:\/\/[^\s()]+):(\d+):(\d+)\)?$/.exec(line)
    if (!match) continue
    frames.push({ ...(match[1] !== undefined && { function: match[1] }), url: match[2]!, line: Number(match[3]), column: Number(match[4]) })
  }
  const v8 = [header, ...frames.map((f) => `    at ${f.function ? `${f.function} (${f.url}:${f.line}:${f.column})` : `${f.url}:${f.line}:${f.column}`}`)].join('\n')
  return { header, frames, v8 }
}

// ---------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  root = makeTempDir('tacit-compat-')
  dataDir = join(root.path, 'data')
  decoy = createServer((request, response) => {
    decoyHits.push(`${request.method ?? ''} ${request.url ?? ''}`)
    response.end('stolen')
  })
  decoy.on('connection', () => decoyConnections++)
  await new Promise<void>((done) => decoy.listen(0, '127.0.0.1', done))
  decoyPort = (decoy.address() as { port: number }).port

  const built = buildFixtureBundle(join(root.path, 'build'), 'terser')
  server = await startServerProcess({ dataDir, args: ['--log-level', 'debug'] })
  const [dd, ddPlain, sentry, sentryB, limited, tx, maps, priv] = await Promise.all([
    createApp('dd'),
    createApp('dd-plain'),
    createApp('sentry', '--origin', SHOP_ORIGIN),
    createApp('sentry-b'),
    createApp('limited'),
    createApp('tx'),
    createApp('maps'),
    createApp('priv'),
  ])
  Object.assign(apps, { dd, ddPlain, sentry, sentryB, limited, tx, maps, priv })
  build = await built
  const trackxKey = (app: string) => tacitJson<{ id: number; key: string }>(['key', 'create', app, '--kind', 'trackx'])
  const [txKey, revocable, mapsKey] = await Promise.all([
    trackxKey('tx'),
    trackxKey('tx'),
    trackxKey('maps'),
    // README "App settings": `rate_limit` is the app's events per second (its bucket holds 500 events).
    tacit(['app', 'set', 'limited', 'rate_limit=1']),
    tacit(['sourcemaps', 'upload', 'maps', build.dist, '--release', '3.0.0']),
  ])
  Object.assign(trackxKeys, { tx: txKey.key, revocable: revocable.key, revocableId: revocable.id, maps: mapsKey.key })
}, 60_000)

afterAll(async () => {
  await server?.stop()
  await new Promise((done) => (decoy ? decoy.close(done) : done(undefined)))
  root?.remove()
})

// ---------------------------------------------------------------------------------------------------------

describe('the Datadog intake', () => {
  it('refuses a post without ddforward, or whose ddforward has no or an unknown dd-api-key, with a JSON error', async () => {
    const before = storedCount(apps.dd)
    const body = ddLine('action', { action: { type: 'click', target: { name: 'Buy now' } } })
    expectRefusal(await send('/api/compat/datadog', { body, headers: ddHeaders }), 400, 'missing_ddforward')
    expectRefusal(await send(`/api/compat/datadog?dd-api-key=${apps.dd.token}`, { body, headers: ddHeaders }), 400, 'missing_ddforward')
    expectRefusal(await send(ddForward(undefined), { body, headers: ddHeaders }), 401, 'missing_token')
    expectRefusal(await send(ddForward('tc_NoSuchToken0123456789abcdefABCD'), { body, headers: ddHeaders }), 401, 'invalid_token')
    // The function form of `proxy` posts to the track's path itself.
    expectRefusal(await send('/api/compat/datadog/api/v2/rum?ddsource=browser', { body, headers: ddHeaders }), 401, 'missing_token')
    expect(storedCount(apps.dd)).toBe(before)
  })

  it('answers 404 unknown_track to a ddforward or a path naming another track than rum, replay or logs', async () => {
    const body = ddLine('action', { action: { type: 'click', target: { name: 'Buy now' } } })
    expectRefusal(await send(ddForward(apps.dd.token, {}, 'evil'), { body, headers: ddHeaders }), 404, 'unknown_track')
    expectRefusal(await send(`/api/compat/datadog/api/v2/evil?dd-api-key=${apps.dd.token}`, { body, headers: ddHeaders }), 404, 'unknown_track')
    const v1 = `/api/compat/datadog?ddforward=${encodeURIComponent(`/v1/input/${apps.dd.token}?ddsource=browser`)}`
    expectRefusal(await send(v1, { body, headers: ddHeaders }), 404, 'unknown_track')
  })

  it('never fetches a ddforward naming another host: an absolute URL is 400 missing_ddforward, a //host one is read as a path', async () => {
    const before = storedCount(apps.dd)
    const body = ddLine('action', { action: { type: 'click', target: { name: 'Buy now' } } })
    const via = (forward: string) => `/api/compat/datadog?ddforward=${encodeURIComponent(forward)}`
    const host = `127.0.0.1:${decoyPort}`
    expectRefusal(await send(via(`http://${host}/steal?dd-api-key=${apps.dd.token}`), { body, headers: ddHeaders }), 400, 'missing_ddforward')
    expectRefusal(await send(via(`http://${host}/api/v2/rum?dd-api-key=${apps.dd.token}`), { body, headers: ddHeaders }), 400, 'missing_ddforward')
    // Protocol-relative: only its path and query are read, so it is an unknown track…
    expectRefusal(await send(via(`//${host}/steal?dd-api-key=${apps.dd.token}`), { body, headers: ddHeaders }), 404, 'unknown_track')
    // …or, with the rum path, an ordinary batch stored here: the host part is ignored, never connected to.
    const local = await send(via(`//${host}/api/v2/rum?dd-api-key=${apps.dd.token}`), { body, headers: ddHeaders })
    expect(local.status, local.text).toBe(202)
    expect(storedCount(apps.dd)).toBe(before + 1)
    await new Promise((done) => setTimeout(done, 300))
    expect(decoyConnections).toBe(0)
    expect(decoyHits).toEqual([])
  })

  it('stores the same events from the SDK\'s deflate body as from the same batch sent plain', async () => {
    const [captured] = capturedRequests('datadog/rum-deflate.requests.ndjson')
    const compressed = Buffer.from(captured!.bodyBase64!, 'base64')
    const plain = inflateSync(compressed)
    const headers = { ...captured!.headers, 'user-agent': CHROME }

    const viaDeflate = await send(withToken(captured!.url, apps.dd.token), { body: compressed, headers })
    expect(viaDeflate.status, viaDeflate.text).toBe(202)
    expect(viaDeflate.json).toEqual({})
    const viaPlain = await send(withToken(captured!.url, apps.ddPlain.token, ['dd-evp-encoding']), { body: plain, headers })
    expect(viaPlain.status, viaPlain.text).toBe(202)

    // What differs by nature: the app, the session Tacit gave each visitor, and when each request came in.
    const comparable = (app: App) =>
      readStoredEvents(dataDir, app.id).map(({ received_at: _received, session: _session, ...rest }) => rest)
    const fromPlain = comparable(apps.ddPlain)
    expect(fromPlain.length).toBeGreaterThan(5)
    expect(comparable(apps.dd).slice(-fromPlain.length)).toEqual(fromPlain)
  })

  it('answers 400 bad_encoding to a body that is not deflate data or inflates past 1 MiB, and stores nothing', async () => {
    const before = storedCount(apps.dd)
    const deflated = ddForward(apps.dd.token, { 'dd-evp-encoding': 'deflate' })
    expectRefusal(await send(deflated, { body: Buffer.from('definitely not a zlib stream'), headers: ddHeaders }), 400, 'bad_encoding')
    // A deflate bomb: 2 MiB of valid NDJSON that compresses to a few KiB.
    const line = ddLine('action', { action: { type: 'click', target: { name: 'Buy now' } } })
    const bomb = deflateSync(Buffer.from(`${line}\n`.repeat(Math.ceil((2 * MIB) / (line.length + 1)))))
    expect(bomb.length).toBeLessThan(64 * 1024)
    expectRefusal(await send(deflated, { body: bomb, headers: ddHeaders }), 400, 'bad_encoding')
    // The same through Content-Encoding (the ingest edge's decoder): 413, and 400 for bytes that are no gzip.
    const gzipBomb = gzipSync(Buffer.from(`${line}\n`.repeat(Math.ceil((2 * MIB) / (line.length + 1)))))
    expectRefusal(await send(ddForward(apps.dd.token), { body: gzipBomb, headers: { ...ddHeaders, 'content-encoding': 'gzip' } }), 413, 'body_too_large')
    expectRefusal(await send(ddForward(apps.dd.token), { body: Buffer.from('not gzip'), headers: { ...ddHeaders, 'content-encoding': 'gzip' } }), 400, 'bad_encoding')
    expect(storedCount(apps.dd)).toBe(before)
  })

  it('answers 202 to a telemetry-only batch, /api/v2/logs and /api/v2/replay, counting them unsupported and storing nothing', async () => {
    const storedBefore = storedCount(apps.dd)
    const before = await stats(apps.dd)

    const [telemetry] = capturedRequests('datadog/telemetry.requests.ndjson')
    const telemetryLines = telemetry!.body!.split('\n').filter((line) => line.trim() !== '').length
    const answer = await send(withToken(telemetry!.url, apps.dd.token), { body: telemetry!.body!, headers: { ...telemetry!.headers, 'user-agent': CHROME } })
    expect(answer.status, answer.text).toBe(202)
    expect(answer.json).toEqual({})

    const logs = [1, 2].map((n) => JSON.stringify({ date: Date.now(), message: `console log ${n}`, status: 'info', origin: 'console' })).join('\n')
    const logsAnswer = await send(ddForward(apps.dd.token, {}, 'logs'), { body: logs, headers: ddHeaders })
    expect(logsAnswer.status, logsAnswer.text).toBe(202)
    const boundary = 'ddReplayBoundary7'
    const replay = `--${boundary}\r\nContent-Disposition: form-data; name="segment"; filename="x"\r\nContent-Type: application/octet-stream\r\n\r\nbytes\r\n--${boundary}--\r\n`
    const replayAnswer = await send(ddForward(apps.dd.token, {}, 'replay'), { body: replay, headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'user-agent': CHROME } })
    expect(replayAnswer.status, replayAnswer.text).toBe(202)

    expect(growth(before, await stats(apps.dd))).toEqual({ accepted: {}, dropped: { unsupported: telemetryLines + 2 + 1 } })
    expect(storedCount(apps.dd)).toBe(storedBefore)
  })

  it('counts every line of a deflate-compressed /api/v2/logs batch as unsupported, as it does for a plain one', async () => {
    // @datadog/browser-logs with compressIntakeRequests: true deflates its batches like the RUM SDK does.
    // Fails as of 82a781b: datadogIntakeRoutes.ts counts the lines of the body before inflating it.
    const before = await stats(apps.dd)
    // Fixed content, so the compressed bytes (and what a line count of them gives) are the same on every run.
    const logs = Array.from({ length: 5 }, (_, n) => JSON.stringify({ date: 1795402880000 + n, message: `console log ${n}`, status: 'info', origin: 'console' })).join('\n')
    const answer = await send(ddForward(apps.dd.token, { 'dd-evp-encoding': 'deflate' }, 'logs'), { body: deflateSync(logs), headers: ddHeaders })
    expect(answer.status, answer.text).toBe(202)
    expect(growth(before, await stats(apps.dd))).toEqual({ accepted: {}, dropped: { unsupported: 5 } })
  })

  it('stores the good lines of a batch with malformed ones, counting those as invalid', async () => {
    const storedBefore = storedCount(apps.dd)
    const before = await stats(apps.dd)
    const batch = [
      ddLine('error', { error: { message: 'good line one', type: 'Error', source: 'source', handling: 'unhandled' } }),
      '{"type":"error","error":{"message":"cut off',
      'not json at all',
      ddLine('action', { action: { type: 'click', target: { name: 'Buy now' } } }),
      '{"type":"no_such_type"}',
      '[1,2,3]',
      ddLine('resource', { resource: { url: 'https://shop.example/app.js', duration: 12_000_000, type: 'js' } }),
      '',
    ].join('\n')
    const answer = await send(ddForward(apps.dd.token), { body: batch, headers: ddHeaders })
    expect(answer.status, answer.text).toBe(202)
    expect(growth(before, await stats(apps.dd))).toEqual({ accepted: { error: 1, action: 1, resource: 1 }, dropped: { invalid: 4 } })
    expect(storedCount(apps.dd)).toBe(storedBefore + 3)
  })

  it('answers 413 to a body of 1 MiB + 1 byte', async () => {
    const before = storedCount(apps.dd)
    expectRefusal(await send(ddForward(apps.dd.token), { body: 'x'.repeat(MIB + 1), headers: ddHeaders }), 413, 'body_too_large')
    expect(storedCount(apps.dd)).toBe(before)
  })
})

// ---------------------------------------------------------------------------------------------------------

describe('the Sentry intake', () => {
  it('refuses a missing or unknown key, a project that is not a number and another app\'s key, with a JSON error', async () => {
    const before = storedCount(apps.sentry) + storedCount(apps.sentryB)
    const body = eventEnvelope(eventId(), 'refused')
    expectRefusal(await send(sentryPath(apps.sentry.id, undefined), { body }), 401, 'missing_token')
    expectRefusal(await send(sentryPath(apps.sentry.id, ''), { body, headers: { 'x-sentry-auth': 'Sentry sentry_version=7, sentry_client=x/1' } }), 401, 'missing_token')
    expectRefusal(await send(sentryPath(apps.sentry.id, 'tc_NoSuchToken0123456789abcdefABCD'), { body }), 401, 'invalid_token')
    expectRefusal(await send(sentryPath('shop', apps.sentry.token), { body }), 404, 'invalid_project')
    expectRefusal(await send(sentryPath(`${apps.sentry.id}x`, apps.sentry.token, 'store'), { body }), 404, 'invalid_project')
    const mismatch = await send(sentryPath(apps.sentryB.id, apps.sentry.token), { body })
    expectRefusal(mismatch, 403, 'project_mismatch')
    expect(mismatch.json!.message).toContain(`/${apps.sentry.id}`)
    expect(storedCount(apps.sentry) + storedCount(apps.sentryB)).toBe(before)
  })

  it('answers 400 invalid_envelope to malformed envelopes, storing nothing', async () => {
    const before = storedCount(apps.sentry)
    const id = eventId()
    const whole = eventEnvelope(id, 'never stored')
    const path = sentryPath(apps.sentry.id, apps.sentry.token)
    const malformed = {
      'truncated in its header': whole.slice(0, 20),
      'truncated in an item header': `${whole.split('\n')[0]!}\n{"type":"ev`,
      'a length past the end': `{"event_id":"${id}"}\n{"type":"event","length":5000}\n${JSON.stringify(sentryEvent(id, 'never stored'))}`,
      'a payload longer than its length': `{"event_id":"${id}"}\n{"type":"event","length":2}\n{"message":"never stored"}`,
      'a negative length': `{}\n{"type":"attachment","length":-1}\nabc`,
      'an item without a type': `{}\n{"length":3}\nabc`,
      'no envelope header': '',
      'a header that is an array': '[1]\n{"type":"event"}\n{}',
    }
    for (const [what, body] of Object.entries(malformed)) {
      const answer = await send(path, { body })
      expect(answer.status, `${what}: ${answer.text}`).toBe(400)
      expectRefusal(answer, 400, 'invalid_envelope')
    }
    // A cut inside a length-less event payload leaves a well-formed envelope with an unreadable event:
    // answered 200 (as Relay does) and counted invalid.
    const beforeStats = await stats(apps.sentry)
    const cut = await send(path, { body: whole.slice(0, whole.length - 10) })
    expect(cut.status, cut.text).toBe(200)
    expect(growth(beforeStats, await stats(apps.sentry)).dropped).toEqual({ invalid: 1 })
    expect(storedCount(apps.sentry)).toBe(before)
  })

  it('takes the key from X-Sentry-Auth or Authorization: Sentry …, and answers 200 {"id"} for an event envelope', async () => {
    const before = storedCount(apps.sentry)
    const path = sentryPath(apps.sentry.id, undefined)
    const viaAuthHeader = eventId()
    const first = await send(path, {
      body: eventEnvelope(viaAuthHeader, 'via X-Sentry-Auth'),
      headers: { 'x-sentry-auth': `Sentry sentry_version=7, sentry_client=sentry.javascript.browser/11.12.0, sentry_key=${apps.sentry.token}` },
    })
    expect(first.status, first.text).toBe(200)
    expect(first.json).toEqual({ id: viaAuthHeader })
    const viaAuthorization = eventId()
    const second = await send(path, { body: eventEnvelope(viaAuthorization, 'via Authorization'), headers: { authorization: `Sentry sentry_key=${apps.sentry.token}, sentry_version=7` } })
    expect(second.status, second.text).toBe(200)
    expect(second.json).toEqual({ id: viaAuthorization })
    // Sentry's `tunnel` option: the key only in the envelope header's DSN.
    const viaTunnel = eventId()
    const tunnelled = envelope({ event_id: viaTunnel, dsn: `https://${apps.sentry.token}@tacit.example/${apps.sentry.id}` }, [[{ type: 'event' }, sentryEvent(viaTunnel, 'via a tunnel')]])
    const tunnelAnswer = await send(path, { body: tunnelled })
    expect(tunnelAnswer.status, tunnelAnswer.text).toBe(200)
    expect(tunnelAnswer.json).toEqual({ id: viaTunnel })
    const wrongDsn = envelope({ event_id: eventId(), dsn: 'not a url' }, [[{ type: 'event' }, sentryEvent(eventId(), 'no key')]])
    expectRefusal(await send(path, { body: wrongDsn }), 401, 'missing_token')
    // A session update alone: nothing to store, still 200 (an empty object: no event id to give back).
    const session = readFileSync(join(FIXTURES, 'sentry/browser-01-session.envelope'))
    const third = await send(sentryPath(apps.sentry.id, apps.sentry.token), { body: session })
    expect(third.status, third.text).toBe(200)
    expect(third.json).toEqual({})

    const messages = readStoredEvents(dataDir, apps.sentry.id).map((event) => (event.error as { message?: string } | undefined)?.message)
    expect(messages.slice(before)).toEqual(['via X-Sentry-Auth', 'via Authorization', 'via a tunnel'])
  })

  it('reads gzip, deflate and br bodies and the legacy /store/ JSON body', async () => {
    const before = storedCount(apps.sentry)
    const path = sentryPath(apps.sentry.id, apps.sentry.token)
    const gzipped = readFileSync(join(FIXTURES, 'sentry/node-07-gzip.envelope.gz'))
    // The fixture's envelope header (its first line) holds the event id the answer must give back.
    const gzipId = (JSON.parse(gunzipSync(gzipped).toString('utf8').split('\n')[0]!) as { event_id: string }).event_id
    const gzip = await send(path, { body: gzipped, headers: { 'content-encoding': 'gzip', 'user-agent': 'sentry.javascript.node/11.12.0' } })
    expect(gzip.status, gzip.text).toBe(200)
    expect(gzip.json).toEqual({ id: gzipId })

    const deflateId = eventId()
    const deflate = await send(path, { body: deflateSync(eventEnvelope(deflateId, 'deflated envelope')), headers: { 'content-encoding': 'deflate' } })
    expect(deflate.status, deflate.text).toBe(200)
    expect(deflate.json).toEqual({ id: deflateId })

    const brId = eventId()
    const br = await send(path, { body: brotliCompressSync(eventEnvelope(brId, 'brotli envelope')), headers: { 'content-encoding': 'br' } })
    expect(br.status, br.text).toBe(200)
    expect(br.json).toEqual({ id: brId })

    const storeId = eventId()
    const legacy = await send(sentryPath(apps.sentry.id, apps.sentry.token, 'store'), { body: JSON.stringify(sentryEvent(storeId, 'legacy store body')), headers: { 'content-type': 'application/json' } })
    expect(legacy.status, legacy.text).toBe(200)
    expect(legacy.json).toEqual({ id: storeId })

    const messages = readStoredEvents(dataDir, apps.sentry.id).map((event) => (event.error as { message?: string } | undefined)?.message)
    expect(messages.slice(before)).toEqual(['big payload', 'deflated envelope', 'brotli envelope', 'legacy store body'])
  })

  it('answers a CORS preflight from an allowed origin with the headers the SDKs send, and refuses other origins', async () => {
    const path = sentryPath(apps.sentry.id, apps.sentry.token)
    const preflight = (origin: string) =>
      send(path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-sentry-auth' } })
    const allowed = await preflight(SHOP_ORIGIN)
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get('access-control-allow-origin')).toBe(SHOP_ORIGIN)
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST')
    const allowHeaders = (allowed.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/)
    expect(allowHeaders).toEqual(expect.arrayContaining(['content-type', 'content-encoding', 'x-sentry-auth', 'authorization']))
    expect((await preflight('https://evil.example')).status).toBe(403)

    const id = eventId()
    const post = await send(path, { body: eventEnvelope(id, 'cross-origin event'), headers: { origin: SHOP_ORIGIN } })
    expect(post.status, post.text).toBe(200)
    expect(post.headers.get('access-control-allow-origin')).toBe(SHOP_ORIGIN)
    expect(exposed(post)).toEqual(expect.arrayContaining(['x-sentry-rate-limits', 'retry-after']))
    expectRefusal(await send(path, { body: eventEnvelope(eventId(), 'from elsewhere'), headers: { origin: 'https://evil.example' } }), 403, 'origin_not_allowed')

    // The Datadog intake's preflight reads the token inside ddforward (or the function proxy's query) too.
    for (const datadog of [ddForward(apps.sentry.token), `/api/compat/datadog/api/v2/rum?dd-api-key=${apps.sentry.token}`]) {
      const ask = (origin: string) => send(datadog, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } })
      expect((await ask(SHOP_ORIGIN)).headers.get('access-control-allow-origin')).toBe(SHOP_ORIGIN)
      expect((await ask('https://evil.example')).status).toBe(403)
    }
  })

  it('answers 429 with Retry-After, X-Sentry-Rate-Limits and both exposed to the page once the app\'s rate limit is spent', async () => {
    const before = await stats(apps.limited)
    // 100 events an envelope: the app's bucket (rate_limit=1) holds 500.
    const body = envelope({ sent_at: new Date().toISOString() }, Array.from({ length: 100 }, (_, n) => [{ type: 'event' }, { message: `burst ${n}`, level: 'info' }] as [Record<string, unknown>, unknown]))
    let limited: Answer | undefined
    let accepted = 0
    for (let attempt = 0; attempt < 10 && !limited; attempt++) {
      const answer = await send(sentryPath(apps.limited.id, apps.limited.token), { body, headers: { origin: SHOP_ORIGIN } })
      if (answer.status === 429) limited = answer
      else {
        expect(answer.status, answer.text).toBe(200)
        accepted++
      }
    }
    expect(accepted).toBe(5)
    expectRefusal(limited!, 429, 'rate_limited')
    const retryAfter = limited!.headers.get('retry-after')
    expect(retryAfter).toMatch(/^\d+$/)
    expect(limited!.headers.get('x-sentry-rate-limits')).toBe(`${retryAfter!}::organization`)
    expect(limited!.headers.get('access-control-allow-origin')).toBe(SHOP_ORIGIN)
    expect(exposed(limited!)).toEqual(expect.arrayContaining(['x-sentry-rate-limits', 'retry-after']))
    // Refused whole, and counted: nothing is lost silently.
    expect(growth(before, await stats(apps.limited))).toEqual({ accepted: { error: 500 }, dropped: { rate_limited: 100 } })
  })
})

function exposed(answer: Answer): string[] {
  return (answer.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/)
}

// ---------------------------------------------------------------------------------------------------------

describe('the TrackX intake', () => {
  const eventBody = (message: string) =>
    JSON.stringify({ name: 'TypeError', message, stack: `TypeError: ${message}\n    at applyDiscount (https://shop.example/app.js:3:22)`, type: 1, uri: 'https://shop.example/cart', meta: { _c: 'd', _v: '0.6.1', release: '1.0.0' } })
  const jsonHeaders = { 'content-type': 'application/json', 'user-agent': CHROME, origin: SHOP_ORIGIN }

  it('stores an event sent with a valid key and answers 200 ok', async () => {
    const before = storedCount(apps.tx)
    const answer = await send(`/v1/${trackxKeys.tx}/event`, { body: eventBody('trackx works'), headers: jsonHeaders })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.text).toBe('ok')
    expect(storedCount(apps.tx)).toBe(before + 1)
  })

  it('refuses an unknown key with 401 invalid_key, a wrong Content-Type with 415 and a body over 1 MiB with 413', async () => {
    const before = storedCount(apps.tx)
    expectRefusal(await send('/v1/tacit_trackx_NoSuchKey0123456789/event', { body: eventBody('unknown key'), headers: jsonHeaders }), 401, 'invalid_key')
    expectRefusal(await send('/v1/tacit_trackx_NoSuchKey0123456789/ping', { method: 'GET', headers: { accept: 'image/*', 'user-agent': CHROME } }), 401, 'invalid_key')
    expectRefusal(await send(`/v1/${trackxKeys.tx}/event`, { body: eventBody('as xml'), headers: { ...jsonHeaders, 'content-type': 'application/xml' } }), 415, 'unsupported_media_type')
    const huge = JSON.stringify({ name: 'Error', message: 'x'.repeat(MIB), type: 1 })
    expectRefusal(await send(`/v1/${trackxKeys.tx}/event`, { body: huge, headers: jsonHeaders }), 413, 'body_too_large')
    expect(storedCount(apps.tx)).toBe(before)
  })

  it('answers 200 to garbage JSON and counts it invalid', async () => {
    const storedBefore = storedCount(apps.tx)
    const before = await stats(apps.tx)
    for (const body of ['{"name":"TypeError","message":', 'not json', '[]', '{"type":"one"}']) {
      const answer = await send(`/v1/${trackxKeys.tx}/event`, { body, headers: jsonHeaders })
      expect(answer.status, `${body}: ${answer.text}`).toBe(200)
    }
    expect(growth(before, await stats(apps.tx))).toEqual({ accepted: {}, dropped: { invalid: 4 } })
    expect(storedCount(apps.tx)).toBe(storedBefore)
  })

  it('answers an image ping with a GIF that is never cached', async () => {
    const accept = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'
    const ping = await send(`/v1/${trackxKeys.tx}/ping`, { method: 'GET', headers: { accept, origin: SHOP_ORIGIN, 'user-agent': CHROME } })
    expect(ping.status).toBe(200)
    expect(ping.headers.get('content-type')).toBe('image/gif')
    expect(ping.headers.get('cache-control')).toBe('no-store')
    expect(ping.bytes.subarray(0, 6).toString('latin1')).toBe('GIF89a')
    expect(ping.headers.get('access-control-allow-origin')).toBe(SHOP_ORIGIN)
  })

  it('refuses a revoked key with 401 within a second', async () => {
    const path = `/v1/${trackxKeys.revocable}/event`
    expect((await send(path, { body: eventBody('before revocation'), headers: jsonHeaders })).status).toBe(200)
    await tacit(['key', 'revoke', String(trackxKeys.revocableId)])
    const revokedAt = Date.now()
    let answer: Answer
    do {
      answer = await send(path, { body: eventBody('after revocation'), headers: jsonHeaders })
      if (answer.status !== 401) await new Promise((done) => setTimeout(done, 50))
    } while (answer.status !== 401 && Date.now() - revokedAt < 3000)
    expectRefusal(answer, 401, 'invalid_key')
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(1000)
  })
})

// ---------------------------------------------------------------------------------------------------------

describe('errors from the three intakes with an uploaded source map', () => {
  let issueId: number

  async function onlyIssue(): Promise<IssueJson> {
    const issues = await tacitJson<Array<{ id: number }>>(['issues', 'maps'])
    expect(issues).toHaveLength(1)
    issueId = issues[0]!.id
    return tacitJson<IssueJson>(['issue', String(issueId)])
  }

  function expectDeminified(issue: IssueJson, env: string): void {
    expect(issue.latest_event.env).toBe(env)
    expect(issue.latest_event.release).toBe('3.0.0')
    const [top, caller] = issue.latest_event.frames
    expect(top).toMatchObject({ resolved: true, function: 'applyDiscount', file: 'src/cart.ts' })
    expect(top!.minified).toMatchObject({ file: `${SITE}/${build.bundleName}` })
    expect(top!.minified!.function).not.toBe('applyDiscount')
    expect(caller).toMatchObject({ resolved: true, function: 'checkout', file: 'src/cart.ts' })
  }

  it('shows a Sentry event\'s frames as the original functions and files', async () => {
    const { header, frames } = siteStack()
    const [type, ...message] = header.split(': ')
    const id = eventId()
    const event = {
      event_id: id,
      timestamp: Date.now() / 1000,
      platform: 'javascript',
      level: 'error',
      release: '3.0.0',
      environment: 'from-sentry',
      request: { url: 'https://shop.example.com/cart' },
      exception: {
        values: [{
          type,
          value: message.join(': '),
          mechanism: { type: 'onerror', handled: false },
          // Sentry lists frames oldest first and writes an anonymous function as `?`.
          stacktrace: {
            frames: frames
              .map((f) => ({ function: f.function?.replace('<anonymous>', '?') ?? '?', filename: f.url, abs_path: f.url, lineno: f.line, colno: f.column, in_app: true }))
              .reverse(),
          },
        }],
      },
    }
    const body = envelope({ event_id: id, sent_at: new Date().toISOString(), sdk: { name: 'sentry.javascript.browser', version: '11.12.0' } }, [[{ type: 'event' }, event]])
    const answer = await send(sentryPath(apps.maps.id, apps.maps.token), { body, headers: { 'user-agent': CHROME } })
    expect(answer.status, answer.text).toBe(200)
    const issue = await onlyIssue()
    expect(issue.count).toBe(1)
    expectDeminified(issue, 'from-sentry')
  })

  it('groups a Datadog error of the same crash into that issue and shows it de-minified', async () => {
    const { header, frames } = siteStack()
    const [type, ...message] = header.split(': ')
    // browser-core's toStackTraceString: `  at <function> @ <url>:<line>:<column>`.
    const stack = [header, ...frames.map((f) => `  at ${f.function ?? '<anonymous>'} @ ${f.url}:${f.line}:${f.column}`)].join('\n')
    const line = JSON.stringify({
      type: 'error',
      date: Date.now(),
      service: 'shop',
      version: '3.0.0',
      ddtags: 'sdk_version:7.16.2,api:fetch,env:from-datadog,service:shop,version:3.0.0',
      view: { id: randomUUID(), url: 'https://shop.example.com/cart' },
      error: { message: message.join(': '), type, stack, source: 'source', handling: 'unhandled' },
    })
    const answer = await send(ddForward(apps.maps.token), { body: line, headers: ddHeaders })
    expect(answer.status, answer.text).toBe(202)
    const issue = await onlyIssue()
    expect(issue.count).toBe(2)
    expectDeminified(issue, 'from-datadog')
  })

  it('groups a TrackX event of the same crash into that issue and shows it de-minified', async () => {
    const { header, v8 } = siteStack()
    const [type, ...message] = header.split(': ')
    const body = JSON.stringify({ name: type, message: message.join(': '), stack: v8, type: 1, uri: 'https://shop.example.com/cart', meta: { _c: 'd', _v: '0.6.1', release: '3.0.0', environment: 'from-trackx' } })
    const answer = await send(`/v1/${trackxKeys.maps}/event`, { body, headers: { 'content-type': 'application/json', 'user-agent': CHROME } })
    expect(answer.status, answer.text).toBe(200)
    const issue = await onlyIssue()
    expect(issue.count).toBe(3)
    expectDeminified(issue, 'from-trackx')
  })
})

// ---------------------------------------------------------------------------------------------------------

describe('what the SDKs carry about the visitor', () => {
  it('reaches neither the database files nor the debug log', async () => {
    const planted = {
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) PlantedCompatUA/7.3.1',
      cookie: 'PlantedCookieValue5521',
      authorization: 'PlantedAuthorization8830',
      forwardedFor: '198.51.100.201',
      ipAddress: '198.51.100.202',
      sentryContext: 'PlantedSentryContext4471',
      sentryCulture: 'Planted/Timezone9',
      sentryDid: 'PlantedSessionDid2290',
      ddSession: randomUUID(),
      ddTab: randomUUID(),
      ddAnonymous: 'PlantedAnonymousId3391',
      ddInternal: 'PlantedDdInternal7781',
      ddAccountId: 'PlantedAccountId6612',
      ddAccountName: 'Planted Account Corp',
    }
    const httpHeaders = { 'user-agent': planted.userAgent, 'x-forwarded-for': planted.forwardedFor }
    const requestLines = () => server.output().split('\n').filter((line) => line.includes('"msg":"request"')).length
    const requestLinesBefore = requestLines()

    const id = eventId()
    const sentry = sentryEvent(id, 'privacy probe from sentry', {
      request: {
        url: 'https://shop.example/checkout',
        method: 'POST',
        headers: { 'User-Agent': planted.userAgent, Cookie: `theme=${planted.cookie}`, Authorization: `Token ${planted.authorization}`, 'X-Forwarded-For': planted.forwardedFor },
        cookies: { theme: planted.cookie },
        env: { REMOTE_ADDR: planted.ipAddress },
      },
      user: { ip_address: planted.ipAddress },
      contexts: { app: { planted: planted.sentryContext }, culture: { timezone: planted.sentryCulture }, browser: { name: planted.sentryContext } },
    })
    // The session update the browser SDK sends beside it: `did` is the setUser id, attrs the visitor's UA.
    const session = { sid: randomUUID().replaceAll('-', ''), did: planted.sentryDid, init: true, status: 'ok', attrs: { release: '1.0.0', ip_address: planted.ipAddress, user_agent: planted.userAgent } }
    const viaSentry = await send(sentryPath(apps.priv.id, apps.priv.token), {
      body: envelope({ event_id: id, sent_at: new Date().toISOString() }, [[{ type: 'event' }, sentry], [{ type: 'session' }, session]]),
      headers: { ...httpHeaders, cookie: `theme=${planted.cookie}` },
    })
    expect(viaSentry.status, viaSentry.text).toBe(200)

    const datadog = ddLine('error', {
      error: { message: 'privacy probe from datadog', type: 'Error', source: 'source', handling: 'unhandled' },
      session: { id: planted.ddSession, type: 'user' },
      tab: { id: planted.ddTab },
      usr: { anonymous_id: planted.ddAnonymous },
      account: { id: planted.ddAccountId, name: planted.ddAccountName },
      _dd: { format_version: 2, drift: 0, planted: planted.ddInternal, configuration: { session_sample_rate: 100 } },
    })
    const viaDatadog = await send(ddForward(apps.priv.token), { body: datadog, headers: { ...ddHeaders, ...httpHeaders } })
    expect(viaDatadog.status, viaDatadog.text).toBe(202)

    // Both were stored (so the scan below means something)…
    const messages = readStoredEvents(dataDir, apps.priv.id).map((event) => (event.error as { message?: string } | undefined)?.message)
    expect(messages).toEqual(['privacy probe from sentry', 'privacy probe from datadog'])
    // …and the debug log has their request lines (written after the answers: wait for them).
    const deadline = Date.now() + 3000
    while (requestLines() < requestLinesBefore + 2 && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50))
    expect(requestLines()).toBeGreaterThanOrEqual(requestLinesBefore + 2)
    expect(server.output()).toMatch(/"level":20[^\n]*"route":"\/api\/:project\/envelope\/"[^\n]*"status":200/)

    const disk = databaseBytes(dataDir)
    const log = server.output()
    // What is stored is there to be found: the scan reads the bytes the events went to.
    expect(disk.includes('privacy probe from sentry') && disk.includes('privacy probe from datadog')).toBe(true)
    for (const [what, value] of Object.entries({ ...planted, uaProduct: 'PlantedCompatUA' })) {
      expect(disk.includes(value), `the database files hold ${what} (${value})`).toBe(false)
      expect(log.includes(value), `the debug log holds ${what} (${value})`).toBe(false)
    }
    // Nor did any request of this file leave its credential in the log (they travel in URLs and headers).
    const credentials = [...Object.values(apps).map((app) => app.token), trackxKeys.tx, trackxKeys.revocable, trackxKeys.maps]
    for (const credential of credentials) expect(log.includes(credential), `the debug log holds ${credential}`).toBe(false)
  })
})

import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { activeToken, createTestApp, readStoredEvents } from '../support/storedData.js'
import { ingest, makeTempDir, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'

const error = (message: string, extra: Record<string, unknown> = {}) => ({ type: 'error', error: { message }, ...extra })
const ndjson = (...events: unknown[]) => events.map((event) => JSON.stringify(event)).join('\n')

describe('POST /api/v1/ingest against a real server process', () => {
  const dir = makeTempDir()
  let server: ServerProcess
  let token: string
  let appId: number
  const stored = () => readStoredEvents(dir.path, appId)
  // Each test tags its events with a unique context.case so it can find exactly what it stored.
  const storedCase = (name: string) => stored().filter((event) => (event.context as { case?: string } | undefined)?.case === name)

  beforeAll(async () => {
    server = await startServerProcess({ dataDir: dir.path })
    token = server.demoToken!
    appId = 1
  })
  afterAll(async () => {
    await server?.stop()
    dir.remove()
  })

  it('stores a batch sent as NDJSON, a JSON array or a single pretty-printed object', async () => {
    const context = { case: 'forms' }
    const a = await ingest(server.url, token, ndjson(error('one', { context }), error('two', { context })), { 'content-type': 'text/plain;charset=UTF-8' })
    const b = await ingest(server.url, token, JSON.stringify([error('three', { context })]), { 'content-type': 'application/json' })
    const c = await ingest(server.url, token, JSON.stringify(error('four', { context }), null, 2), { 'content-type': 'application/json; charset=utf-8' })
    const d = await ingest(server.url, token, ndjson(error('five', { context })), { 'content-type': 'application/x-ndjson' })
    expect([a, b, c, d].map((r) => [r.status, r.body.accepted])).toEqual([[202, 2], [202, 1], [202, 1], [202, 1]])
    expect(a.body.dropped).toEqual({})
    expect(storedCase('forms').map((event) => (event.error as { message: string }).message).sort()).toEqual(['five', 'four', 'one', 'three', 'two'])
  })

  it('takes the token from the X-Tacit-Token header too', async () => {
    const response = await ingest(server.url, undefined, ndjson(error('header', { context: { case: 'header' } })), {
      'content-type': 'text/plain',
      'x-tacit-token': token,
    })
    expect(response.status).toBe(202)
    expect(storedCase('header')).toHaveLength(1)
  })

  it('answers 401 for a missing, unknown or malformed token and stores nothing', async () => {
    const body = ndjson(error('no token', { context: { case: 'tokens' } }))
    for (const bad of [undefined, 'tc_doesnotexist00000000000000000000', "'; DROP TABLE events; --", 'x'.repeat(5000)]) {
      const response = await ingest(server.url, bad === undefined ? undefined : encodeURIComponent(bad), body)
      expect(response.status).toBe(401)
      expect(response.body.error).toMatch(/token/)
    }
    expect(storedCase('tokens')).toHaveLength(0)
  })

  it('accepts gzip and deflate, and refuses decompression bombs, corrupt data and unknown encodings', async () => {
    const body = ndjson(error('zipped', { context: { case: 'encoding' } }))
    expect((await ingest(server.url, token, gzipSync(body), { 'content-type': 'text/plain', 'content-encoding': 'gzip' })).status).toBe(202)
    expect((await ingest(server.url, token, deflateSync(body), { 'content-type': 'text/plain', 'content-encoding': 'deflate' })).status).toBe(202)
    expect((await ingest(server.url, token, brotliCompressSync(body), { 'content-type': 'text/plain', 'content-encoding': 'br' })).status).toBe(202)
    expect(storedCase('encoding')).toHaveLength(3)

    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20))
    expect(bomb.length).toBeLessThan(1024 * 1024)
    const bombed = await ingest(server.url, token, bomb, { 'content-type': 'text/plain', 'content-encoding': 'gzip' })
    expect([bombed.status, bombed.body.error]).toEqual([413, 'body_too_large'])
    const corrupt = await ingest(server.url, token, Buffer.from('not gzip at all'), { 'content-type': 'text/plain', 'content-encoding': 'gzip' })
    expect([corrupt.status, corrupt.body.error]).toEqual([400, 'bad_encoding'])
    const brotliBomb = await ingest(server.url, token, brotliCompressSync(Buffer.alloc(50 * 1024 * 1024, 0x20)), { 'content-type': 'text/plain', 'content-encoding': 'br' })
    expect([brotliBomb.status, brotliBomb.body.error]).toEqual([413, 'body_too_large'])
    const unknown = await ingest(server.url, token, body, { 'content-type': 'text/plain', 'content-encoding': 'zstd' })
    expect([unknown.status, unknown.body.error]).toEqual([415, 'unsupported_encoding'])
  })

  it('refuses bodies over 1 MiB and batches over 500 events with 413', async () => {
    const big = await ingest(server.url, token, 'x'.repeat(1024 * 1024 + 1))
    expect([big.status, big.body.error]).toEqual([413, 'body_too_large'])
    const many = Array.from({ length: 501 }, () => error('many', { context: { case: 'many' } }))
    expect((await ingest(server.url, token, ndjson(...many))).status).toBe(413)
    expect((await ingest(server.url, token, JSON.stringify(many), { 'content-type': 'application/json' })).status).toBe(413)
    expect(storedCase('many')).toHaveLength(0)
  })

  it('refuses other content types with 415', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'image/png', 'multipart/form-data; boundary=x', 'text/html']) {
      const response = await ingest(server.url, token, ndjson(error('typed')), { 'content-type': type })
      expect(response.status, type).toBe(415)
      expect(response.body.message).toMatch(/text\/plain/)
    }
  })

  it('stores the valid events of a mixed batch and names each problem by line, path and code without quoting input', async () => {
    const marker = 'SECRET-MARKER-7731'
    const context = { case: 'mixed' }
    const body = [
      JSON.stringify(error('kept 1', { context })),
      `{"type":"error","error":{"message":"${marker}"`, // truncated JSON
      JSON.stringify({ type: 'error', error: { message: 42, [marker]: marker } }),
      JSON.stringify({ type: marker }),
      JSON.stringify({ error: { message: marker } }),
      JSON.stringify([marker]),
      JSON.stringify({ type: 'vital', vital: { name: marker, value: 3 } }),
      JSON.stringify({ type: 'resource', resource: { url: marker, duration: -1 } }),
      '',
      JSON.stringify(error('kept 2', { context })),
    ].join('\n')
    const response = await ingest(server.url, token, body)
    expect(response.status).toBe(202)
    expect(response.body.accepted).toBe(2)
    expect(response.body.dropped).toEqual({ invalid: 7 })
    const problems = response.body.problems as Array<{ line: number; path: string; code: string; message: string }>
    expect(problems.map((p) => [p.line, p.path, p.code])).toEqual([
      [2, '', 'malformed_json'],
      [3, '/error/message', 'wrong_type'],
      [4, '/type', 'unknown_type'],
      [5, '/type', 'missing_type'],
      [6, '', 'not_an_object'],
      [7, '/vital/name', 'not_allowed'],
      [8, '/resource/duration', 'out_of_range'],
    ])
    expect(JSON.stringify(response.body)).not.toContain(marker)
    expect(storedCase('mixed')).toHaveLength(2)
  })

  it('answers 400 naming the first problem when nothing in the body is valid', async () => {
    const response = await ingest(server.url, token, '{"type":"error","error":{}}\n{"oops"')
    expect(response.status).toBe(400)
    expect(response.body.error).toBe('invalid_batch')
    expect(response.body.message).toContain('line 1: /error/message is required (missing_field)')
    for (const body of ['   \n  ', '[1, 2', '{"a": 1}']) {
      const bad = await ingest(server.url, token, body)
      expect(bad.status, body).toBe(400)
    }
    expect((await ingest(server.url, token, '')).status).toBe(400)
  })

  it('drops events over 64 KiB, too deep or not UTF-8, and keeps the rest', async () => {
    const context = { case: 'hostile' }
    let deep: unknown = 'bottom'
    for (let i = 0; i < 20; i++) deep = { deeper: deep }
    const lines = [
      Buffer.from(JSON.stringify(error('x'.repeat(1_000_000), { context }))),
      Buffer.from(JSON.stringify(error('deep', { context: { ...context, deep } }))),
      Buffer.concat([Buffer.from('{"type":"error","error":{"message":"bad '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}')]),
      Buffer.from(JSON.stringify(error('survivor', { context }))),
    ]
    const response = await ingest(server.url, token, Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])))
    expect(response.status).toBe(202)
    expect(response.body.dropped).toEqual({ too_large: 1, invalid: 2 })
    expect((response.body.problems as Array<{ code: string }>).map((p) => p.code)).toEqual(['event_too_large', 'too_deep', 'invalid_utf8'])
    expect(storedCase('hostile').map((event) => (event.error as { message: string }).message)).toEqual(['survivor'])
  })

  it('drops prototype keys and unknown fields, and never takes server-owned fields from the client', async () => {
    const body =
      '{"type":"error","error":{"message":"proto","extra":"x"},"__proto__":{"polluted":true},"session":{"id":"client-session"},' +
      '"received_at":1,"device":{"type":"tv"},"ip":"198.51.100.23","unknown":"x","issue":{"fingerprint":"client-issue","title":"forged"},' +
      '"context":{"case":"proto","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"nested":{"__proto__":{"x":1},"ok":1}}}'
    const response = await ingest(server.url, token, body, { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' })
    expect(response.status).toBe(202)
    const [event] = storedCase('proto')
    // `issue` is the server's grouping of the error (fingerprintError), never the client's.
    expect(Object.keys(event!).sort()).toEqual(['context', 'device', 'error', 'issue', 'received_at', 'session', 'ts', 'type'])
    expect((event!.session as { id: string }).id).not.toBe('client-session')
    expect(event!.issue).toEqual({ fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/), title: 'proto' })
    expect(event!.error).toEqual({ message: 'proto' })
    expect(event!.context).toEqual({ case: 'proto', nested: { ok: 1 } })
    expect(event!.device).toEqual({ type: 'desktop', browser: 'Firefox', browser_version: '128', os: 'Linux' })
    expect(event!.received_at).toBeGreaterThan(1_700_000_000_000)
    expect(JSON.stringify(event)).not.toContain('198.51.100.23')
  })

  it('clamps ts to the window around the receive time and defaults it to the receive time', async () => {
    const context = { case: 'clock' }
    const before = Date.now()
    await ingest(server.url, token, ndjson(error('future', { ts: 9_999_999_999_999, context }), error('past', { ts: 1, context }), error('none', { context })))
    const byMessage = Object.fromEntries(storedCase('clock').map((event) => [(event.error as { message: string }).message, event]))
    const received = byMessage.future!.received_at as number
    expect(byMessage.future!.ts).toBe(received + 5 * 60 * 1000)
    expect(byMessage.past!.ts).toBe(received - 24 * 60 * 60 * 1000)
    expect(byMessage.none!.ts).toBe(byMessage.none!.received_at)
    expect(received).toBeGreaterThanOrEqual(before)
  })

  it('keeps the highest version of a view re-sent as it progresses', async () => {
    const view = (version: number, time_spent: number) => ({
      type: 'view',
      view: { id: 'view-upsert-1', url: 'https://shop.example/cart', version, time_spent },
      context: { case: 'views' },
    })
    expect((await ingest(server.url, token, ndjson(view(1, 100)))).status).toBe(202)
    expect((await ingest(server.url, token, ndjson(view(3, 300)))).status).toBe(202)
    expect((await ingest(server.url, token, ndjson(view(2, 200)))).status).toBe(202)
    const views = storedCase('views')
    expect(views).toHaveLength(1)
    expect(views[0]!.view).toMatchObject({ id: 'view-upsert-1', version: 3, time_spent: 300 })
  })

  it('answers CORS per app from its allowed origins, preflight included', async () => {
    const shop = await createTestApp(dir.path, 'shop', ['origins=https://shop.example,https://*.cdn.example'])
    const body = ndjson(error('cors', { context: { case: 'cors' } }))
    const allowed = await ingest(server.url, shop.token, body, { 'content-type': 'text/plain', origin: 'https://shop.example' })
    expect(allowed.status).toBe(202)
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    // The browser SDK reads Retry-After cross-origin only when it is exposed.
    expect(allowed.headers.get('access-control-expose-headers')).toBe('Retry-After')
    expect((await ingest(server.url, shop.token, body, { 'content-type': 'text/plain', origin: 'https://a.cdn.example' })).status).toBe(202)
    const denied = await ingest(server.url, shop.token, body, { 'content-type': 'text/plain', origin: 'https://evil.example' })
    expect([denied.status, denied.body.error]).toEqual([403, 'origin_not_allowed'])
    expect(denied.headers.get('access-control-allow-origin')).toBeNull()
    expect(readStoredEvents(dir.path, shop.appId)).toHaveLength(2)

    const preflight = (origin: string, query = `?token=${shop.token}`) =>
      fetch(`${server.url}/api/v1/ingest${query}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      })
    const ok = await preflight('https://shop.example')
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST')
    expect((await preflight('https://evil.example')).status).toBe(403)

    // The demo app has no origins configured: any origin may send.
    const open = await ingest(server.url, token, body, { 'content-type': 'text/plain', origin: 'https://anywhere.example' })
    expect(open.headers.get('access-control-allow-origin')).toBe('https://anywhere.example')
  })

  it('rate-limits an app with 429 and Retry-After, and counts the drop', async () => {
    const limited = await createTestApp(dir.path, 'limited', ['rate_limit=1'])
    const batch = ndjson(...Array.from({ length: 300 }, () => error('burst')))
    expect((await ingest(server.url, limited.token, batch)).status).toBe(202)
    const refused = await ingest(server.url, limited.token, batch)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(readStoredEvents(dir.path, limited.appId)).toHaveLength(300)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/tacit_events_dropped_total\{reason="rate_limited"\} 300/)
  })

  it('serves health, readiness, metrics and the published schema', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' })
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'ready' })
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    for (const name of ['tacit_events_accepted_total{type="error"}', 'tacit_events_dropped_total{reason="invalid"}', 'tacit_batch_commit_seconds_bucket', 'tacit_writer_queue_depth']) {
      expect(metrics).toContain(name)
    }
    expect(metrics).not.toContain(token)
    const schema = (await (await fetch(`${server.url}/api/v1/schema`)).json()) as { oneOf: unknown[] }
    expect(schema.oneOf).toHaveLength(8)
    const missing = await fetch(`${server.url}/nope?token=${token}`)
    expect(missing.status).toBe(404)
  })

  it('is still up and answering after all of the above', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect(server.child.exitCode).toBeNull()
  })
})

describe('per-client and per-token request limits', () => {
  const dir = makeTempDir()
  afterAll(() => dir.remove())

  it('answers 429 with Retry-After past the limit of one address or one token, and counts the drop', async () => {
    const server = await startServerProcess({ dataDir: dir.path, args: ['--ip-rate-limit', '3', '--token-rate-limit', '0'] })
    try {
      const body = ndjson(error('limited'))
      const statuses: number[] = []
      let refused: Awaited<ReturnType<typeof ingest>> | undefined
      for (let i = 0; i < 12; i++) {
        const answer = await ingest(server.url, server.demoToken, body)
        statuses.push(answer.status)
        if (answer.status === 429) refused ??= answer
      }
      // A burst of twice the rate passes, then the address is refused.
      expect(statuses.slice(0, 6)).toEqual([202, 202, 202, 202, 202, 202])
      expect(statuses).toContain(429)
      expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(refused!.body.message).toMatch(/client address/)
      const metrics = await (await fetch(`${server.url}/metrics`)).text()
      expect(metrics).toMatch(/tacit_events_dropped_total\{reason="rate_limited"\} [1-9]/)
    } finally {
      await server.stop()
    }
    const byToken = await startServerProcess({ dataDir: dir.path, args: ['--ip-rate-limit', '0', '--token-rate-limit', '2'] })
    try {
      const token = activeToken(dir.path)
      const statuses: number[] = []
      for (let i = 0; i < 10; i++) statuses.push((await ingest(byToken.url, token, ndjson(error('token')))).status)
      expect(statuses).toContain(429)
      const refused = await ingest(byToken.url, token, ndjson(error('token')))
      expect(refused.body.message).toMatch(/client token/)
    } finally {
      await byToken.stop()
    }
  })
})

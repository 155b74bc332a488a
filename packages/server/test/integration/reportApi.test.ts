import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, readStoredEvents } from '../support/storedData.js'
import { makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'

/**
 * POST /api/v1/report against a real server process: what browsers send to `report-to` (Reporting API,
 * `application/reports+json`) and `report-uri` (legacy CSP, `application/csp-report`) becomes `report`
 * events with allow-listed bodies, through the same edge and privacy pipeline as ingest.
 */

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const REPORTS = 'application/reports+json'

async function sendReports(
  url: string,
  token: string | undefined,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': REPORTS, 'user-agent': CHROME },
): Promise<{ status: number; text: string; body: Record<string, unknown>; headers: Headers }> {
  const target = token === undefined ? `${url}/api/v1/report` : `${url}/api/v1/report?token=${token}`
  const response = await fetch(target, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers })
  const text = await response.text()
  return { status: response.status, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers }
}

const reportOf = (event: Record<string, unknown>) => event.report as { type: string; body: Record<string, unknown> }

describe('POST /api/v1/report against a real server process', () => {
  const dir = makeTempDir()
  let server: ServerProcess
  let app: { appId: number; token: string }
  /** The reports stored for the app, by their body's `id` or directive when the test needs to find one. */
  const stored = () => readStoredEvents(dir.path, app.appId)

  beforeAll(async () => {
    server = await startServerProcess({ dataDir: dir.path })
    app = await createTestApp(dir.path, 'reports')
  })
  afterAll(async () => {
    await server?.stop()
    dir.remove()
  })

  it('stores a Reporting API v1 batch (CSP, deprecation, intervention, network error) and answers 204 after the commit', async () => {
    const body = [
      {
        type: 'csp-violation',
        age: 1200,
        url: 'https://shop.example/cart',
        user_agent: CHROME,
        body: {
          documentURL: 'https://shop.example/cart',
          blockedURL: 'https://cdn.tracker.example/pixel.js',
          effectiveDirective: 'script-src-elem',
          originalPolicy: "script-src 'self'; report-to tacit",
          disposition: 'enforce',
          referrer: 'https://search.example/',
          sample: '',
          sourceFile: 'https://shop.example/app.js',
          lineNumber: 10,
          columnNumber: 3,
          statusCode: 200,
        },
      },
      {
        type: 'deprecation',
        age: 10,
        url: 'https://shop.example/cart',
        user_agent: CHROME,
        body: { id: 'UnloadHandler', message: 'Unload event listeners are deprecated.', sourceFile: 'https://shop.example/app.js', lineNumber: 1, columnNumber: 99, anticipatedRemoval: null },
      },
      { type: 'intervention', age: 0, url: 'https://shop.example/cart', user_agent: CHROME, body: { id: 'HeavyAdIntervention', message: 'Ad was removed.' } },
      {
        type: 'network-error',
        age: 60_000,
        url: 'https://api.shop.example/v1/cart',
        user_agent: CHROME,
        body: { type: 'http.error', phase: 'application', status_code: 503, elapsed_time: 143, method: 'GET', protocol: 'h2', sampling_fraction: 1, server_ip: '203.0.113.17', referrer: 'https://shop.example/cart' },
      },
    ]
    const before = Date.now()
    const answer = await sendReports(server.url, app.token, JSON.stringify(body))
    expect([answer.status, answer.text]).toEqual([204, ''])
    // Committed before the answer: a second connection sees the reports at once.
    const events = stored()
    expect(events.map((event) => [event.type, reportOf(event).type])).toEqual([
      ['report', 'csp-violation'],
      ['report', 'deprecation'],
      ['report', 'intervention'],
      ['report', 'network-error'],
    ])
    const [csp, deprecation, intervention, network] = events as Array<Record<string, unknown>>
    expect(reportOf(csp!).body).toEqual({
      effectiveDirective: 'script-src-elem',
      blockedURL: 'https://cdn.tracker.example/pixel.js',
      documentURL: 'https://shop.example/cart',
      disposition: 'enforce',
      sourceFile: 'https://shop.example/app.js',
      lineNumber: 10,
      columnNumber: 3,
      statusCode: 200,
    })
    expect(reportOf(deprecation!).body).toEqual({ id: 'UnloadHandler', message: 'Unload event listeners are deprecated.', sourceFile: 'https://shop.example/app.js', lineNumber: 1, columnNumber: 99 })
    expect(reportOf(intervention!).body).toEqual({ id: 'HeavyAdIntervention', message: 'Ad was removed.' })
    expect(reportOf(network!).body).toEqual({ type: 'http.error', phase: 'application', status_code: 503, elapsed_time: 143, method: 'GET', protocol: 'h2', sampling_fraction: 1 })
    expect(network!.view).toEqual({ id: '', url: 'https://api.shop.example/v1/cart' })
    // ts is when the browser made the report: the receive time minus its age.
    const receivedAt = csp!.received_at as number
    expect(receivedAt).toBeGreaterThanOrEqual(before)
    expect(csp!.ts).toBe(receivedAt - 1200)
    expect(network!.ts).toBe(receivedAt - 60_000)
    // The request's own User-Agent gives the device, as on ingest; the one inside the reports is discarded.
    expect(events.every((event) => (event.device as { browser?: string }).browser === 'Chrome')).toBe(true)
    expect(events.every((event) => typeof (event.session as { id?: string }).id === 'string')).toBe(true)
    expect(JSON.stringify(events)).not.toMatch(/Mozilla|203\.0\.113\.17|search\.example|originalPolicy/)
  })

  it('stores a legacy report-uri CSP report under the Reporting API names', async () => {
    const legacy = {
      'csp-report': {
        'document-uri': 'https://shop.example/legacy',
        referrer: '',
        'violated-directive': 'img-src',
        'effective-directive': 'img-src',
        'original-policy': "img-src 'self'; report-uri /api/v1/report",
        disposition: 'report',
        'blocked-uri': 'https://images.example/a.png',
        'line-number': 0,
        'status-code': 200,
        'script-sample': '',
      },
    }
    const answer = await sendReports(server.url, app.token, JSON.stringify(legacy), { 'content-type': 'application/csp-report', 'user-agent': CHROME })
    expect(answer.status).toBe(204)
    const event = stored().find((e) => e.view && (e.view as { url: string }).url === 'https://shop.example/legacy')!
    expect(reportOf(event)).toEqual({
      type: 'csp-violation',
      body: { effectiveDirective: 'img-src', blockedURL: 'https://images.example/a.png', documentURL: 'https://shop.example/legacy', disposition: 'report', lineNumber: 0, statusCode: 200 },
    })
    expect(event.ts).toBe(event.received_at)
  })

  it('takes application/json with either shape, and shows the bodies in `tacit export --type report`', async () => {
    const v1 = [{ type: 'crash', age: 5, url: 'https://shop.example/heavy', body: { reason: 'oom', is_top_level: true } }]
    const legacy = { 'csp-report': { 'document-uri': 'https://shop.example/json', 'effective-directive': 'font-src', 'blocked-uri': 'data' } }
    for (const body of [v1, legacy]) {
      const answer = await sendReports(server.url, app.token, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8', 'user-agent': CHROME })
      expect(answer.status).toBe(204)
    }
    const exported = await runTacit(['export', 'reports', '--type', 'report'], { dataDir: dir.path })
    expect(exported.code).toBe(0)
    const lines = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines.every((line) => line.type === 'report')).toBe(true)
    const reports = lines.map(reportOf)
    expect(reports).toContainEqual({ type: 'crash', body: { reason: 'oom', is_top_level: true } })
    expect(reports).toContainEqual({ type: 'csp-violation', body: { effectiveDirective: 'font-src', blockedURL: 'data', documentURL: 'https://shop.example/json' } })
    expect(reports).toContainEqual({
      type: 'network-error',
      body: { type: 'http.error', phase: 'application', status_code: 503, elapsed_time: 143, method: 'GET', protocol: 'h2', sampling_fraction: 1 },
    })
  })

  it('answers the preflight and the POST per the app’s allowed origins', async () => {
    const shop = await createTestApp(dir.path, 'shop-reports', ['origins=https://shop.example'])
    const preflight = (origin: string) =>
      fetch(`${server.url}/api/v1/report?token=${shop.token}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      })
    const ok = await preflight('https://shop.example')
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST')
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/content-type/i)
    const denied = await preflight('https://evil.example')
    expect(denied.status).toBe(403)
    expect(denied.headers.get('access-control-allow-origin')).toBeNull()

    const body = JSON.stringify([{ type: 'deprecation', url: 'https://shop.example/', body: { id: 'cors' } }])
    const allowed = await sendReports(server.url, shop.token, body, { 'content-type': REPORTS, 'user-agent': CHROME, origin: 'https://shop.example' })
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    const refused = await sendReports(server.url, shop.token, body, { 'content-type': REPORTS, 'user-agent': CHROME, origin: 'https://evil.example' })
    expect([refused.status, refused.body.error]).toEqual([403, 'origin_not_allowed'])
    expect(readStoredEvents(dir.path, shop.appId)).toHaveLength(1)
  })

  it('refuses a missing token, other content types, malformed JSON, oversized bodies and too many reports, quoting nothing', async () => {
    const marker = 'greta.lindqvist@example.org'
    const before = stored().length
    const valid = JSON.stringify([{ type: 'deprecation', url: 'https://shop.example/', body: { id: 'refused' } }])
    expect((await sendReports(server.url, undefined, valid)).status).toBe(401)
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const answer = await sendReports(server.url, app.token, valid, { 'content-type': type, 'user-agent': CHROME })
      expect([answer.status, answer.body.error], type).toEqual([415, 'unsupported_media_type'])
      expect(answer.body.message).toContain('application/reports+json')
    }
    const malformed = await sendReports(server.url, app.token, `[{"type":"csp-violation","body":{"documentURL":"${marker}"`)
    expect([malformed.status, malformed.body.error]).toEqual([400, 'malformed_json'])
    expect(malformed.text).not.toContain(marker)
    const nothingValid = await sendReports(server.url, app.token, JSON.stringify([marker, { type: marker }]))
    expect([nothingValid.status, nothingValid.body.error]).toEqual([400, 'invalid_reports'])
    expect(nothingValid.text).not.toContain(marker)
    expect((await sendReports(server.url, app.token, '')).body.error).toBe('empty_body')

    const oversized = await sendReports(server.url, app.token, JSON.stringify([{ type: 'deprecation', body: { message: 'x'.repeat(1024 * 1024) } }]))
    expect([oversized.status, oversized.body.error]).toEqual([413, 'body_too_large'])
    const many = JSON.stringify(Array.from({ length: 101 }, () => ({ type: 'deprecation', body: { id: 'many' } })))
    const tooMany = await sendReports(server.url, app.token, many)
    expect([tooMany.status, tooMany.body.error]).toEqual([413, 'too_many_reports'])
    expect(stored()).toHaveLength(before)
  })

  it('drops reports from bots like ingest does, by the request’s User-Agent, and counts them', async () => {
    const before = stored().length
    const headless = CHROME.replace('Chrome/', 'HeadlessChrome/')
    const answer = await sendReports(server.url, app.token, JSON.stringify([{ type: 'deprecation', body: { id: 'bot' } }]), { 'content-type': REPORTS, 'user-agent': headless })
    expect(answer.status).toBe(204)
    expect(stored()).toHaveLength(before)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/tacit_events_dropped_total\{reason="bot"\} [1-9]/)
    expect(metrics).toMatch(/tacit_http_requests_total\{route="\/api\/v1\/report",status="204"\}/)
  })
})

describe('browser reports: nothing personal reaches the disk, the export or the logs', () => {
  const dir = makeTempDir()
  afterAll(() => dir.remove())

  // Unique to this test, so that finding any of them anywhere proves a leak.
  const USER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Safari/537.36'
  const BODY_USER_AGENT = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.58 Mobile Safari/537.36'
  const PLANTED = {
    email: 'ingrid.halvorsen@example.net',
    githubToken: 'ghp_Z9y8X7w6V5u4T3s2R1q0PonMlkJihGfEdCb',
    password: 'tr0ub4dor-and-3',
    jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJpbmdyaWQifQ.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    sampleMarker: 'SAMPLE-MARKER-90210',
    policyMarker: 'POLICY-MARKER-4417',
    referrerMarker: 'referrer-marker.example',
    serverIp: '192.0.2.201',
  } as const

  it('keeps only scrubbed, allow-listed fields', async () => {
    const server = await startServerProcess({ dataDir: dir.path, args: ['--log-level', 'debug'] })
    const token = server.demoToken!
    const page = `https://shop.example/account/${PLANTED.email}?token=${PLANTED.githubToken}&password=${PLANTED.password}`
    const reports = [
      {
        type: 'csp-violation',
        age: 3,
        url: page,
        user_agent: BODY_USER_AGENT,
        body: {
          documentURL: page,
          referrer: `https://${PLANTED.referrerMarker}/?q=${PLANTED.email}`,
          blockedURL: `https://cdn.example/x.js?auth=${PLANTED.jwt}`,
          effectiveDirective: 'script-src-elem',
          originalPolicy: `script-src 'self' ${PLANTED.policyMarker}`,
          sourceFile: `https://shop.example/app.js?email=${PLANTED.email}`,
          sample: `fetch("/login?password=${PLANTED.password}") ${PLANTED.sampleMarker}`,
          disposition: 'enforce',
          lineNumber: 1,
          columnNumber: 1,
          statusCode: 200,
        },
      },
      {
        type: 'deprecation',
        age: 3,
        url: page,
        user_agent: BODY_USER_AGENT,
        body: { id: 'X', message: `Used by ${PLANTED.email} with Bearer ${PLANTED.jwt}`, sourceFile: page, lineNumber: 2 },
      },
      {
        type: 'network-error',
        url: page,
        user_agent: BODY_USER_AGENT,
        body: { type: 'tcp.reset', phase: 'connection', server_ip: PLANTED.serverIp, referrer: `https://${PLANTED.referrerMarker}/`, method: 'POST', elapsed_time: 9 },
      },
    ]
    const legacy = {
      'csp-report': {
        'document-uri': page,
        referrer: `https://${PLANTED.referrerMarker}/`,
        'effective-directive': 'img-src',
        'blocked-uri': `https://img.example/p.gif?email=${PLANTED.email}`,
        'original-policy': PLANTED.policyMarker,
        'script-sample': PLANTED.sampleMarker,
      },
    }
    const answers = [
      await sendReports(server.url, token, JSON.stringify(reports), { 'content-type': REPORTS, 'user-agent': USER_AGENT }),
      await sendReports(server.url, token, JSON.stringify(legacy), { 'content-type': 'application/csp-report', 'user-agent': USER_AGENT }),
      await sendReports(server.url, token, `[{"type":"csp-violation","body":{"documentURL":"${page}"`, { 'content-type': REPORTS, 'user-agent': USER_AGENT }),
    ]
    expect(answers.map((answer) => answer.status)).toEqual([204, 204, 400])
    await server.stop()

    const stored = readStoredEvents(dir.path, 1)
    expect(stored.map((event) => reportOf(event).type)).toEqual(['csp-violation', 'deprecation', 'network-error', 'csp-violation'])
    // The pipeline did read the request's User-Agent (so the scan below proves something), and scrubbed the page URL.
    expect(stored.every((event) => (event.device as { browser?: string; os?: string }).browser === 'Chrome')).toBe(true)
    expect(stored.every((event) => (event.device as { os?: string }).os === 'macOS')).toBe(true)
    expect((stored[0]!.view as { url: string }).url).toContain('[email]')
    expect(reportOf(stored[1]!).body.message).toContain('[email]')

    const exported = await runTacit(['export', 'demo', '--type', 'report'], { dataDir: dir.path })
    expect(exported.code).toBe(0)
    expect(exported.stdout.trim().split('\n')).toHaveLength(4)
    const disk = Buffer.concat(filesUnder(dir.path).map((file) => readFileSync(file))).toString('latin1')
    const texts = { export: exported.stdout, logs: server.output(), answers: JSON.stringify(answers.map((answer) => answer.text)), disk }
    const secrets = [USER_AGENT, BODY_USER_AGENT, '131.0.6778.204', '130.0.6723.58', 'Pixel 8', ...Object.values(PLANTED)]
    for (const [where, text] of Object.entries(texts)) {
      for (const secret of secrets) expect(text.includes(secret), `${where} contains ${secret}`).toBe(false)
    }
  })
})

function filesUnder(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

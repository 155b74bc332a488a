import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createVisitorCheck, type VisitorCheckOptions } from '../../src/relay/visitorCheck/createVisitorCheck.js'

/** How the operator's verifier answers: a status, a redirect to its own /welcome, or nothing at all. */
type Answer = number | 'redirect' | 'hang' | 'hold'

interface Verifier {
  url: string
  requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders }>
  answer: Answer
  /** Answers every request held with 'hold' with this status. */
  release(status: number): void
  close(): Promise<void>
}

const servers: Verifier[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function startVerifier(answer: Answer = 200): Promise<Verifier> {
  const held: ServerResponse[] = []
  const open: ServerResponse[] = []
  const server = createServer((request, response) => {
    verifier.requests.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers })
    const now = verifier.answer
    if (now === 'hang') return void open.push(response)
    if (now === 'hold') return void held.push(response)
    if (now === 'redirect') return void response.writeHead(302, { location: '/welcome' }).end()
    response.writeHead(now, { 'content-type': 'text/plain' }).end('body the relay never reads')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const verifier: Verifier = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/check?site=shop`,
    requests: [],
    answer,
    release(status) {
      for (const response of held.splice(0)) response.writeHead(status).end()
    },
    async close() {
      for (const response of open) response.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  servers.push(verifier)
  return verifier
}

function setup(verifier: { url: string }, options: Partial<Extract<VisitorCheckOptions, { method: 'verify-url' }>> = {}) {
  const clock = { t: Date.UTC(2025, 0, 15, 12), now: () => clock.t }
  const visitorCheck = createVisitorCheck({ method: 'verify-url', url: verifier.url, ...options }, { clock })
  return { clock, check: (cookie: string | undefined) => visitorCheck.check({ cookie }) }
}

const COOKIE = 'session=abc123; theme=dark'
const OK = { ok: true }
const REFUSED = { ok: false, reason: 'refused' }
const UNAVAILABLE = { ok: false, reason: 'verifier_unavailable' }
const MISSING = { ok: false, reason: 'missing' }

describe('verify-url visitor check', () => {
  it('passes on 2xx', async () => {
    const verifier = await startVerifier(200)
    expect(await setup(verifier).check(COOKIE)).toEqual(OK)
    verifier.answer = 204
    expect(await setup(verifier).check(COOKIE)).toEqual(OK)
  })

  it('refuses on 401 and 403', async () => {
    const verifier = await startVerifier(401)
    expect(await setup(verifier).check(COOKIE)).toEqual(REFUSED)
    verifier.answer = 403
    expect(await setup(verifier).check(COOKIE)).toEqual(REFUSED)
  })

  it('answers verifier_unavailable on other statuses', async () => {
    const verifier = await startVerifier()
    for (const status of [500, 502, 503, 404, 400, 429]) {
      verifier.answer = status
      expect(await setup(verifier).check(COOKIE), String(status)).toEqual(UNAVAILABLE)
    }
  })

  it('answers verifier_unavailable when the verifier does not answer in time', async () => {
    const verifier = await startVerifier('hang')
    const started = Date.now()
    expect(await setup(verifier, { timeoutMs: 200 }).check(COOKIE)).toEqual(UNAVAILABLE)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('answers verifier_unavailable when the connection is refused', async () => {
    const verifier = await startVerifier()
    await verifier.close()
    servers.splice(servers.indexOf(verifier), 1)
    expect(await setup(verifier).check(COOKIE)).toEqual(UNAVAILABLE)
  })

  it('does not follow a redirect, and a redirect is not a pass', async () => {
    const verifier = await startVerifier('redirect')
    expect(await setup(verifier).check(COOKIE)).toEqual(UNAVAILABLE)
    expect(verifier.requests.map((request) => request.path)).toEqual(['/auth/check?site=shop'])
  })

  it('sends the visitor Cookie header and nothing else of theirs', async () => {
    const verifier = await startVerifier(200)
    const cookie = 'session=s%3Aabc.def; _ga=GA1.2.3; consent={"a":1}'
    await setup(verifier).check(cookie)
    expect(verifier.requests).toHaveLength(1)
    const [request] = verifier.requests
    expect(request?.method).toBe('GET')
    expect(request?.path).toBe('/auth/check?site=shop')
    expect(request?.headers.cookie).toBe(cookie)
    expect(request?.headers['user-agent']).toBe('tacit-relay')
    for (const name of ['x-forwarded-for', 'x-real-ip', 'forwarded', 'referer', 'origin', 'authorization']) {
      expect(request?.headers[name], name).toBeUndefined()
    }
    // Everything else is what fetch itself adds, the same for every visitor.
    const fetchDefaults = ['host', 'connection', 'accept', 'accept-language', 'accept-encoding', 'sec-fetch-mode']
    expect(Object.keys(request?.headers ?? {}).filter((name) => !['cookie', 'user-agent', ...fetchDefaults].includes(name))).toEqual([])
  })

  it('answers missing without asking the verifier when there is no cookie', async () => {
    const verifier = await startVerifier(200)
    const { check } = setup(verifier)
    expect(await check(undefined)).toEqual(MISSING)
    expect(await check('')).toEqual(MISSING)
    expect(await check('   ')).toEqual(MISSING)
    expect(verifier.requests).toHaveLength(0)
  })

  it('refuses a header-injection attempt without asking the verifier', async () => {
    const verifier = await startVerifier(200)
    expect(await setup(verifier).check('session=a\r\nx-forwarded-for: 1.2.3.4')).toEqual({ ok: false, reason: 'invalid' })
    expect(verifier.requests).toHaveLength(0)
  })

  it('caches a pass for cacheMs by the injected clock', async () => {
    const verifier = await startVerifier(200)
    const { check, clock } = setup(verifier, { cacheMs: 30_000 })
    expect(await check(COOKIE)).toEqual(OK)
    verifier.answer = 401
    clock.t += 29_999
    expect(await check(COOKIE)).toEqual(OK)
    expect(verifier.requests).toHaveLength(1)
    clock.t += 1
    expect(await check(COOKIE)).toEqual(REFUSED)
    expect(verifier.requests).toHaveLength(2)
  })

  it('caches a refusal too, per cookie header', async () => {
    const verifier = await startVerifier(401)
    const { check, clock } = setup(verifier)
    expect(await check(COOKIE)).toEqual(REFUSED)
    expect(await check(COOKIE)).toEqual(REFUSED)
    expect(verifier.requests).toHaveLength(1)
    verifier.answer = 200
    expect(await check('session=logged-in-now')).toEqual(OK)
    expect(verifier.requests).toHaveLength(2)
    clock.t += 60_000
    expect(await check(COOKIE)).toEqual(OK)
    expect(verifier.requests).toHaveLength(3)
  })

  it('does not cache verifier_unavailable', async () => {
    const verifier = await startVerifier(500)
    const { check } = setup(verifier)
    expect(await check(COOKIE)).toEqual(UNAVAILABLE)
    verifier.answer = 200
    expect(await check(COOKIE)).toEqual(OK)
    expect(verifier.requests).toHaveLength(2)
  })

  it('does not cache at all with cacheMs 0', async () => {
    const verifier = await startVerifier(200)
    const { check } = setup(verifier, { cacheMs: 0 })
    await check(COOKIE)
    await check(COOKIE)
    expect(verifier.requests).toHaveLength(2)
  })

  it('shares one in-flight call among concurrent checks of the same cookie', async () => {
    const verifier = await startVerifier('hold')
    const { check } = setup(verifier)
    const same = Array.from({ length: 5 }, () => check(COOKIE))
    const other = check('session=someone-else')
    await waitUntil(() => verifier.requests.length === 2)
    verifier.release(200)
    expect(await Promise.all([...same, other])).toEqual(Array(6).fill(OK))
    expect(verifier.requests.map((request) => request.headers.cookie).sort()).toEqual([COOKIE, 'session=someone-else'])
  })

  it('lets a new call start once a shared one failed', async () => {
    const verifier = await startVerifier('hold')
    const { check } = setup(verifier)
    const first = [check(COOKIE), check(COOKIE)]
    await waitUntil(() => verifier.requests.length === 1)
    verifier.release(503)
    expect(await Promise.all(first)).toEqual([UNAVAILABLE, UNAVAILABLE])
    verifier.answer = 200
    expect(await check(COOKIE)).toEqual(OK)
    expect(verifier.requests).toHaveLength(2)
  })

  it('bounds the cache, evicting the oldest entry', async () => {
    const verifier = await startVerifier(200)
    const { check } = setup(verifier, { maxCacheEntries: 2 })
    await check('v=a')
    await check('v=b')
    await check('v=c')
    expect(verifier.requests).toHaveLength(3)
    await check('v=c')
    await check('v=b')
    expect(verifier.requests).toHaveLength(3)
    await check('v=a')
    expect(verifier.requests).toHaveLength(4)
    // 'a' came back in place of 'b', the oldest then.
    await check('v=b')
    expect(verifier.requests).toHaveLength(5)
  })

  it('validates options at creation, without quoting the URL', () => {
    const create = (options: Record<string, unknown>) => () =>
      createVisitorCheck({ method: 'verify-url', url: 'https://example.com/check', ...options } as VisitorCheckOptions, { clock: { now: () => 0 } })
    expect(create({})).not.toThrow()
    expect(create({ url: 'not a url?token=SECRET' })).toThrow(/absolute http/)
    expect(create({ url: 'not a url?token=SECRET' })).not.toThrow(/SECRET/)
    expect(create({ url: 'file:///etc/passwd' })).toThrow(/http:\/\/ or https:\/\//)
    expect(create({ url: 'https://user:pass@example.com/check' })).toThrow(/user name or password/)
    expect(create({ url: undefined })).toThrow(/"url"/)
    expect(create({ cacheMs: -1 })).toThrow(/cacheMs/)
    expect(create({ cacheMs: 1.5 })).toThrow(/cacheMs/)
    expect(create({ timeoutMs: 0 })).toThrow(/timeoutMs/)
    expect(create({ maxCacheEntries: Number.POSITIVE_INFINITY })).toThrow(/maxCacheEntries/)
  })
})

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  if (!condition()) throw new Error('condition not met in 5 s')
}

import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { verifyWebhookSignature } from '../../src/alerts/signWebhook.js'

/**
 * A real HTTP webhook receiver on 127.0.0.1 for the alert tests. It checks every request's signature the way
 * docs/ALERTS.md tells receivers to, and answers as told: `ok`, `fail` (500 with a body that must never be
 * stored), `hang` (never answers), `redirect` (302 to its own `/moved`, which must never be requested).
 */
export type ReceiverMode = 'ok' | 'fail' | 'hang' | 'redirect'

export interface ReceivedRequest {
  path: string
  headers: IncomingHttpHeaders
  body: string
  json: Record<string, unknown>
  /** The signature matched the secret and the timestamp was within 5 minutes of `nowSeconds`. */
  verified: boolean
}

/** What a failing receiver answers: a test scans the database for it. */
export const RECEIVER_SECRET_BODY = 'receiver-internal-detail-7f3a9c'

export interface WebhookReceiver {
  url: string
  requests: ReceivedRequest[]
  /** Answers with these modes in turn, then with `then` (default `ok`). */
  script(modes: ReceiverMode[], then?: ReceiverMode): void
  setSecret(secret: string): void
  /** Resolves once `n` requests (to any path) arrived. */
  waitFor(n: number): Promise<void>
  close(): Promise<void>
}

export async function startWebhookReceiver(options: { nowSeconds: () => number }): Promise<WebhookReceiver> {
  let secret = ''
  let modes: ReceiverMode[] = []
  let fallback: ReceiverMode = 'ok'
  const requests: ReceivedRequest[] = []
  const hanging = new Set<ServerResponse>()
  let waiters: Array<{ n: number; resolve: () => void }> = []

  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const header = (name: string) => {
        const value = request.headers[name]
        return Array.isArray(value) ? value[0] : value
      }
      let json: Record<string, unknown> = {}
      try {
        json = JSON.parse(body) as Record<string, unknown>
      } catch {
        // Left empty: the tests assert on `json` and would fail.
      }
      requests.push({
        path: request.url ?? '',
        headers: request.headers,
        body,
        json,
        verified: verifyWebhookSignature({ secret, body, timestamp: header('x-tacit-timestamp'), signature: header('x-tacit-signature'), nowSeconds: options.nowSeconds() }),
      })
      waiters = waiters.filter((waiter) => (requests.length >= waiter.n ? (waiter.resolve(), false) : true))
      const mode = modes.shift() ?? fallback
      if (mode === 'hang') {
        hanging.add(response)
        return
      }
      if (mode === 'redirect') {
        response.writeHead(302, { location: `${url}/moved` }).end()
        return
      }
      if (mode === 'fail') {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(RECEIVER_SECRET_BODY)
        return
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end(RECEIVER_SECRET_BODY)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    requests,
    script(next, then = 'ok') {
      modes = [...next]
      fallback = then
    },
    setSecret(value) {
      secret = value
    },
    waitFor(n) {
      if (requests.length >= n) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ n, resolve }))
    },
    async close() {
      for (const response of hanging) response.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

import http from 'node:http'
import https from 'node:https'

/** The upstream could not be reached or did not answer in time: the request may be spooled and replayed. */
export class UpstreamUnavailableError extends Error {}

export interface UpstreamAnswer {
  status: number
  /** Only the headers a browser or the relay needs back; nothing else of the upstream's answer is passed on. */
  contentType?: string
  retryAfter?: string
  body: Buffer
}

export interface Upstream {
  /** The configured server's origin and base path, for logs and errors: never a URL from a request. */
  readonly base: string
  send(request: { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: Buffer }): Promise<UpstreamAnswer>
  /** Requests sent or waiting for a connection now. */
  inFlight(): number
  close(): void
}

export interface UpstreamOptions {
  /** http(s)://host[:port][/base], checked by relayConfig.ts. */
  url: URL
  /** Connections kept open to the upstream at most: the relay's bounded concurrency. */
  maxConnections: number
  /** No answer within this (default 10 s) counts as unavailable. */
  timeoutMs?: number
  userAgent: string
}

/** An upstream answer this large is not a Tacit server's: it is cut off rather than buffered. */
const MAX_ANSWER_BYTES = 64 * 1024

/**
 * How the relay reaches its configured upstream, and nothing else (SSRF safety: no part of a request — a
 * `ddforward`-style parameter, a Host header — can point it anywhere else; the only other address it ever
 * calls is an authentication proxy's configured verification URL), over keep-alive connections, at most
 * `maxConnections` at once; others wait for a free connection.
 */
export function createUpstream(options: UpstreamOptions): Upstream {
  const { url } = options
  const secure = url.protocol === 'https:'
  const agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: options.maxConnections, maxFreeSockets: options.maxConnections })
  const basePath = url.pathname.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 10_000
  let inFlight = 0

  function send(request: Parameters<Upstream['send']>[0]): Promise<UpstreamAnswer> {
    inFlight++
    return new Promise<UpstreamAnswer>((resolve, reject) => {
      const headers: Record<string, string> = { ...request.headers, 'user-agent': options.userAgent }
      if (request.body) headers['content-length'] = String(request.body.length)
      const outgoing = (secure ? https : http).request(
        { protocol: url.protocol, hostname: url.hostname, port: url.port || undefined, path: basePath + request.path, method: request.method, headers, agent, timeout: timeoutMs },
        (response) => {
          const chunks: Buffer[] = []
          let size = 0
          response.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size <= MAX_ANSWER_BYTES) chunks.push(chunk)
          })
          response.on('end', () => {
            const retryAfter = response.headers['retry-after']
            const contentType = response.headers['content-type']
            resolve({
              status: response.statusCode ?? 502,
              ...(typeof contentType === 'string' && { contentType }),
              ...(typeof retryAfter === 'string' && /^\d{1,6}$/.test(retryAfter) && { retryAfter }),
              body: Buffer.concat(chunks),
            })
          })
          response.on('error', (error) => reject(new UpstreamUnavailableError(`the upstream's answer broke off: ${error.message}`)))
        },
      )
      // A request still waiting for a free connection counts toward the timeout too.
      const timer = setTimeout(() => outgoing.destroy(new UpstreamUnavailableError(`no answer from the upstream within ${timeoutMs} ms`)), timeoutMs)
      outgoing.on('timeout', () => outgoing.destroy(new UpstreamUnavailableError(`no answer from the upstream within ${timeoutMs} ms`)))
      outgoing.on('error', (error) => reject(error instanceof UpstreamUnavailableError ? error : new UpstreamUnavailableError(`the upstream cannot be reached: ${error.message}`)))
      outgoing.on('close', () => clearTimeout(timer))
      outgoing.end(request.body)
    }).finally(() => inFlight--)
  }

  return {
    base: `${url.origin}${basePath}`,
    send,
    inFlight: () => inFlight,
    close: () => agent.destroy(),
  }
}

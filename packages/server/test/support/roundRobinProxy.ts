import { createServer, request as httpRequest, type Server } from 'node:http'

export interface RoundRobinProxy {
  url: string
  /** Requests sent to each upstream, and those answered 502 because it could not be reached. */
  counts(): { forwarded: number[]; failed: number }
  close(): Promise<void>
}

/**
 * The tiny load balancer of the multi-node tests: each request goes to the next upstream in turn, with the
 * client's address in X-Forwarded-For (the nodes trust 127.0.0.1), like a real one. An upstream that cannot be
 * reached or dies mid-request gets a 502, as nginx would answer: the client retries, as the SDK does. No
 * health checks on purpose — a dead node keeps getting its share, the worst case for the clients.
 */
export async function startRoundRobinProxy(upstreams: readonly string[], options: { clientAddress?: (headers: Record<string, string | string[] | undefined>) => string } = {}): Promise<RoundRobinProxy> {
  let next = 0
  const forwarded = upstreams.map(() => 0)
  let failed = 0
  const server: Server = createServer((incoming, outgoing) => {
    const index = next
    next = (next + 1) % upstreams.length
    forwarded[index]! += 1
    const target = new URL(incoming.url ?? '/', upstreams[index])
    const headers: Record<string, string | string[] | undefined> = { ...incoming.headers, host: target.host }
    const client = options.clientAddress?.(incoming.headers) ?? incoming.socket.remoteAddress ?? '127.0.0.1'
    headers['x-forwarded-for'] = client
    delete headers['x-test-client']
    const upstream = httpRequest(target, { method: incoming.method, headers }, (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers)
      response.pipe(outgoing)
      response.on('error', () => outgoing.destroy())
    })
    upstream.on('error', () => {
      failed += 1
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"bad_gateway"}')
      else outgoing.destroy()
    })
    incoming.pipe(upstream)
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ forwarded: [...forwarded], failed }),
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

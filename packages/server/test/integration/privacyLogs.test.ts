import { afterAll, describe, expect, it } from 'vitest'
import { createTestApp, databaseBytes } from '../support/storedData.js'
import { ingest, makeTempDir, startServerProcess } from '../support/tacitProcess.js'

/**
 * DESIGN.md P2: the raw IP and User-Agent live only in the request's scope. This runs a real server at the
 * most verbose log level behind a trusted proxy, plants a unique IP, UA, token and personal data in every
 * kind of request (valid, invalid, refused, erroring), then scans every byte the server wrote.
 */
describe('the server never writes IPs, User-Agents, tokens, query strings or bodies to its logs', () => {
  const dir = makeTempDir()
  afterAll(() => dir.remove())

  it('keeps them out of the log output, the responses and the database files', async () => {
    const ip = '203.0.113.147'
    const ipv6 = '2001:db8:5eed::77'
    const userAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.182 Safari/537.36 PlantedUA/4.2.1'
    const email = 'planted.person@example.org'
    const bodyMarker = 'BODY-MARKER-5531'
    const queryMarker = 'QUERY-MARKER-9042'

    // Start once to create the database, then add an app the way an operator would.
    const first = await startServerProcess({ dataDir: dir.path })
    await first.stop()
    const { token } = await createTestApp(dir.path, 'private')
    const server = await startServerProcess({ dataDir: dir.path, args: ['--log-level', 'trace', '--trusted-proxies', '127.0.0.0/8,::1'] })

    const headers = (forwardedFor: string) => ({ 'content-type': 'text/plain', 'user-agent': userAgent, 'x-forwarded-for': forwardedFor })
    const valid = JSON.stringify({ type: 'custom', custom: { name: 'visit' }, view: { id: 'v', url: `https://shop.example/?q=${bodyMarker}` } })
    const answers = [
      await ingest(server.url, `${token}&utm=${queryMarker}`, valid, headers(ip)),
      await ingest(server.url, token, `{"type":"error","error":{"message":"${email} ${bodyMarker}"`, headers(ipv6)),
      await ingest(server.url, `tc_unknown${queryMarker}`, valid, headers(ip)),
      await ingest(server.url, token, `${bodyMarker} not json at all`, headers(ip)),
      await ingest(server.url, token, valid, { ...headers(ip), 'content-type': 'application/xml' }),
      await ingest(server.url, token, Buffer.from(`gzip? ${bodyMarker}`), { ...headers(ip), 'content-encoding': 'gzip' }),
      await ingest(server.url, token, 'x'.repeat(1024 * 1024 + 10), headers(ip)),
      await ingest(server.url, token, JSON.stringify({ type: 'error', error: { message: email } }), { ...headers(ip), origin: `https://${bodyMarker}.example` }),
    ]
    await fetch(`${server.url}/no/such/${queryMarker}?token=${token}`, { headers: headers(ip) })
    await fetch(`${server.url}/metrics`, { headers: headers(ip) })
    expect(answers[0]!.status).toBe(202)

    const exitCode = await server.stop()
    expect(exitCode).toBe(0)
    const logs = server.output()
    expect(logs).toContain('"route":"/api/v1/ingest"') // the request log lines are there, with the route pattern
    const responses = answers.map((answer) => JSON.stringify(answer.body)).join('\n')
    const disk = databaseBytes(dir.path)

    for (const secret of [ip, ipv6, userAgent, 'PlantedUA', email, bodyMarker, queryMarker, token]) {
      expect(logs, `log output contains ${secret}`).not.toContain(secret)
      expect(responses, `a response contains ${secret}`).not.toContain(secret)
    }
    // The event body itself is stored (scrubbing comes with the privacy pipeline), but the IP and UA never are.
    for (const secret of [ip, ipv6, 'PlantedUA', '126.0.6478.182']) {
      expect(disk.includes(secret), `database bytes contain ${secret}`).toBe(false)
    }
  })
})

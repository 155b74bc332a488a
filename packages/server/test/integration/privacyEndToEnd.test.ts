import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { activeToken, createTestApp, readStoredEvents } from '../support/storedData.js'
import { ingest, makeTempDir, startServerProcess } from '../support/tacitProcess.js'

/**
 * Issue 3, "done means": events carrying a unique IP, User-Agent and planted personal data of every kind,
 * in headers and in bodies, go through a real server behind a trusted proxy; then every file in the data
 * directory and the server's debug log are scanned for them. First the test proves the pipeline really
 * used the IP and UA (a country was resolved, the browser stored), or the scan would prove nothing.
 */

// An address DB-IP places in Germany (a Hetzner network), unique to this test.
const CLIENT_IP = '78.46.221.17'
const CLIENT_IPV6 = '2a01:4f8:c2c:7b1e::29'
const USER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36'

const PLANTED = {
  email: 'greta.lindqvist@example.org',
  phone: '+44 20 7946 0958',
  ipv4: '198.51.100.203',
  ipv6: '2001:db8:85a3::8a2e:370:7334',
  card: '4111 1111 1111 1111',
  iban: 'DE89370400440532013000',
  ssn: '078-05-1120',
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  bearer: 'Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0',
  githubToken: 'ghp_R2d2C3poLukeLeiaHanChewie0123456789',
  password: 'hunter2-correct-horse',
  credentials: 'admin:s3cr3tpass',
  userId: 'user-8d2c-planted',
  userName: 'Greta Lindqvist',
} as const

describe('privacy end to end: nothing personal reaches the disk or the logs', () => {
  const dir = makeTempDir()
  afterAll(() => dir.remove())

  it('stores the derived fields and none of the planted values', async () => {
    const first = await startServerProcess({ dataDir: dir.path })
    await first.stop()
    const { appId, token } = await createTestApp(dir.path, 'shop')
    const server = await startServerProcess({ dataDir: dir.path, args: ['--log-level', 'debug', '--trusted-proxies', '127.0.0.0/8,::1'] })
    const headers = (ip: string) => ({
      'content-type': 'text/plain',
      'user-agent': USER_AGENT,
      'x-forwarded-for': ip,
      cookie: `session=${PLANTED.password}`,
      authorization: PLANTED.bearer,
      referer: `https://shop.example/account?email=${PLANTED.email}`,
    })
    const view = {
      id: 'view-e2e-1',
      url: `https://${PLANTED.credentials}@shop.example/users/${PLANTED.email}/orders?password=${PLANTED.password}&q=shoes&token=${PLANTED.githubToken}#${PLANTED.phone}`,
      referrer: `https://search.example/?q=${PLANTED.ssn}`,
    }
    const events = [
      { type: 'view', view: { ...view, version: 1, time_spent: 1200 } },
      {
        type: 'error',
        view,
        error: {
          message: `Payment failed for ${PLANTED.email} card ${PLANTED.card} iban ${PLANTED.iban} from ${PLANTED.ipv4} / ${PLANTED.ipv6}`,
          type: 'Error',
          stack: `Error: token ${PLANTED.jwt}\n    at pay (https://shop.example/app.3f9a2c1b.js:1:4821)\n    at ${PLANTED.bearer}`,
        },
      },
      { type: 'action', view, action: { type: 'click', name: `Call ${PLANTED.phone}` } },
      { type: 'resource', view, resource: { url: `https://api.shop.example/v1/users?ssn=${PLANTED.ssn}&api_key=${PLANTED.githubToken}`, duration: 120 } },
      { type: 'custom', view, custom: { name: 'checkout' }, context: { email: PLANTED.email, note: `call ${PLANTED.phone}`, nested: { password: PLANTED.password } } },
      { type: 'report', view, report: { type: 'csp-violation', body: { documentURL: `https://shop.example/?email=${PLANTED.email}`, sample: PLANTED.card } } },
      { type: 'custom', view, custom: { name: 'identified' }, usr: { id: PLANTED.userId, name: PLANTED.userName, email: PLANTED.email } },
    ]
    // Each request is its own page view: views are kept once per id.
    const body = (viewId: string) => events.map((event) => JSON.stringify(event).replaceAll('view-e2e-1', viewId)).join('\n')
    const answers = [
      await ingest(server.url, token, body('view-e2e-v4'), headers(CLIENT_IP)),
      await ingest(server.url, token, body('view-e2e-v6'), headers(CLIENT_IPV6)),
    ]
    // A malformed line carrying personal data: the answer names the problem without echoing it.
    const bad = await ingest(server.url, token, `{"type":"error","error":{"message":"${PLANTED.email}"`, headers(CLIENT_IP))
    expect(answers.map((answer) => answer.status)).toEqual([202, 202])
    expect(bad.status).toBe(400)
    await server.stop()

    const stored = readStoredEvents(dir.path, appId)
    expect(stored.length).toBe(events.length * 2)
    // The pipeline did use the IP and the UA: a country and the browser were derived, then both were dropped.
    expect(stored.map((event) => (event.geo as { country?: string } | undefined)?.country)).toContain('DE')
    expect(stored.every((event) => (event.device as { browser?: string }).browser === 'Chrome')).toBe(true)
    expect(stored.every((event) => typeof (event.session as { id?: string } | undefined)?.id === 'string')).toBe(true)

    const disk = Buffer.concat(filesUnder(dir.path).map((file) => readFileSync(file)))
    const texts = { logs: server.output(), answers: JSON.stringify([...answers, bad].map((answer) => answer.body)), disk: disk.toString('latin1') }
    const secrets = [CLIENT_IP, CLIENT_IPV6, USER_AGENT, '131.0.6778.86', ...Object.values(PLANTED)]
    for (const [where, text] of Object.entries(texts)) {
      for (const secret of secrets) {
        expect(text.includes(secret), `${where} contains ${secret}`).toBe(false)
      }
    }
  })
})

function filesUnder(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

describe('client address', () => {
  const dir = makeTempDir()
  afterAll(() => dir.remove())

  it('ignores X-Forwarded-For unless the peer is a listed proxy, so a client cannot claim an address', async () => {
    const send = async (args: string[], headers: Record<string, string>) => {
      const server = await startServerProcess({ dataDir: dir.path, args: ['--ip-rate-limit', '0', ...args] })
      const token = server.demoToken ?? activeToken(dir.path)
      const body = JSON.stringify({ type: 'custom', custom: { name: args.join(' ') || 'untrusted' } })
      const answer = await ingest(server.url, token, body, { 'content-type': 'text/plain', 'user-agent': USER_AGENT, ...headers })
      await server.stop()
      expect(answer.status).toBe(202)
    }
    const both = { 'x-forwarded-for': CLIENT_IP, forwarded: 'for=8.8.8.8' }
    await send([], both)
    await send(['--trusted-proxies', '127.0.0.0/8'], both)
    // With `--forwarded-header forwarded`, the RFC 7239 header is believed instead, and X-Forwarded-For is not.
    await send(['--trusted-proxies', '127.0.0.0/8', '--forwarded-header', 'forwarded'], { 'x-forwarded-for': '8.8.8.8', forwarded: `for="${CLIENT_IP}"` })
    const [untrusted, trusted, viaForwarded] = readStoredEvents(dir.path, 1)
    // Over loopback the socket's address has no country: only the believed header yields one.
    expect(untrusted!.geo).toBeUndefined()
    expect(trusted!.geo).toEqual({ country: 'DE' })
    expect(viaForwarded!.geo).toEqual({ country: 'DE' })
  })
})

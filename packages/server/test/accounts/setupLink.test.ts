import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseBytes } from '../support/storedData.js'
import { makeTempDir, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'

/**
 * The first-start setup link against real server processes (the built CLI: `npx tsc -b packages/server`):
 * printed as `http://…/setup#<token>` while no account exists, a new one on every start, one-time, never in
 * the JSON log lines or the database; after setup, starts print none. Then a real sign-in over HTTP.
 */

const LINK = /http:\/\/127\.0\.0\.1:(\d+)\/setup#([A-Za-z0-9_-]{43})/

let dir: ReturnType<typeof makeTempDir>
let server: ServerProcess | undefined

beforeAll(() => {
  dir = makeTempDir('tacit-setup-link-')
})
afterAll(async () => {
  await server?.stop()
  dir.remove()
})

function logLines(output: string): string {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .join('\n')
}

describe('the setup link', () => {
  it('is printed on each start until the first account exists, works once, and is kept nowhere in clear', async () => {
    server = await startServerProcess({ dataDir: dir.path })
    const first = LINK.exec(server.output())
    expect(first, server.output()).not.toBeNull()
    expect(Number(first![1])).toBe(server.port)
    await server.stop()

    server = await startServerProcess({ dataDir: dir.path })
    const second = LINK.exec(server.output())
    expect(second).not.toBeNull()
    expect(second![2]).not.toBe(first![2])
    for (const token of [first![2]!, second![2]!]) {
      expect(logLines(server.output())).not.toContain(token)
      expect(databaseBytes(dir.path).includes(Buffer.from(token))).toBe(false)
    }

    const post = (body: unknown) => fetch(`${server!.url}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const created = await post({ token: second![2], email: 'owner@example.com', password: 'owner-passphrase-1' })
    expect(created.status).toBe(201)
    // The cookie lives as long as the session is left, in whole seconds rounded down: a real server's clock may
    // tick a millisecond between creating the session and answering (the in-process tests use a fake clock).
    expect(created.headers.get('set-cookie')).toMatch(/^tacit_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=(604800|604799)$/)
    expect((await post({ token: first![2], email: 'eve@example.com', password: 'eve-passphrase-12' })).status).toBe(409)

    const login = await fetch(`${server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'owner@example.com', password: 'owner-passphrase-1' }) })
    expect(login.status).toBe(200)
    const cookie = /^(tacit_session=[^;]+)/.exec(login.headers.get('set-cookie') ?? '')![1]!
    const me = await fetch(`${server.url}/api/v1/session`, { headers: { cookie } })
    expect(((await me.json()) as { apps: Array<{ name: string; role: string }> }).apps).toEqual([{ id: expect.any(Number), name: 'demo', role: 'owner' }])
    expect(logLines(server.output())).not.toContain('owner-passphrase-1')
    expect(logLines(server.output())).not.toContain(cookie.slice('tacit_session='.length))
    await server.stop()

    server = await startServerProcess({ dataDir: dir.path })
    expect(server.output()).not.toMatch(/\/setup#/)
  }, 60_000)
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPostgresServer, type PostgresServer } from '../support/startTestPostgres.js'
import { freePort, makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'
import { createTempPostgresDatabase } from '../support/tempPostgresDatabase.js'

/**
 * Issue 7: PostgreSQL goes away under load. The node holds what it has not committed for a while, answers 503
 * with Retry-After beyond that — never 500, never a 202 for something not committed — and comes back by itself.
 * Its own PostgreSQL server, stopped (fast shutdown: every connection is ended) and started by the test.
 */
describe('tacit serve on PostgreSQL while the database stops and comes back', () => {
  let postgres: PostgresServer
  let server: ServerProcess
  let env: Record<string, string>
  const dir = makeTempDir('tacit-pg-outage-')

  beforeAll(async () => {
    postgres = await startPostgresServer(await freePort())
    const database = await createTempPostgresDatabase(postgres.url)
    env = { TACIT_DATABASE_URL: database.url }
    // Rate limits off: every refusal the test sees must come from the outage.
    server = await startServerProcess({ dataDir: dir.path, env, args: ['--ip-rate-limit', '0', '--token-rate-limit', '0'] })
  }, 60_000)

  afterAll(async () => {
    await server?.stop()
    await postgres?.stop()
    dir.remove()
  })

  it('holds through a restart, refuses with 503 and Retry-After through an outage, loses nothing acknowledged, and recovers by itself', async () => {
    const token = server.demoToken!
    const acknowledged: string[] = []
    const refusals: Array<{ status: number; retryAfter: string | null; error: unknown }> = []
    let unanswered = 0
    let stop = false
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const names = Array.from({ length: 5 }, (_, k) => `o-${w}-${i}-${k}`)
        const body = names.map((name) => JSON.stringify({ type: 'custom', custom: { name } })).join('\n')
        let response: Response
        let answer: { error?: string }
        try {
          response = await fetch(`${server.url}/api/v1/ingest?token=${token}`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'text/plain' },
            signal: AbortSignal.timeout(15_000),
          })
          answer = (await response.json()) as { error?: string }
        } catch {
          // No answer: not acknowledged, so a client sends it again, as the SDK does. Counted, and few are allowed.
          unanswered++
          await new Promise((resolve) => setTimeout(resolve, 100))
          continue
        }
        if (response.status === 202) acknowledged.push(...names)
        else {
          refusals.push({ status: response.status, retryAfter: response.headers.get('retry-after'), error: answer.error })
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
    }
    // The node must live through it all: a process that died would look like requests without answers.
    const alive = () => expect(server.child.exitCode, `the server died:\n${server.output().slice(-3000)}`).toBeNull()
    const load = Promise.all([0, 1, 2, 3].map(worker))
    await expect.poll(() => acknowledged.length, { timeout: 10_000, interval: 100 }).toBeGreaterThan(100)

    // A restart within the hold (5 s): the requests wait, none is refused. Stopping and starting take a second or
    // two of their own on a busy machine, so the pause between is short.
    await postgres.pause()
    await new Promise((resolve) => setTimeout(resolve, 300))
    await postgres.resume()
    const afterRestart = acknowledged.length
    await expect.poll(() => acknowledged.length, { timeout: 15_000, interval: 100 }).toBeGreaterThan(afterRestart + 100)
    alive()
    expect(refusals).toEqual([])

    await postgres.pause()
    // Longer than the writer holds a group (5 s): the held requests, then the new ones, are refused.
    await new Promise((resolve) => setTimeout(resolve, 8000))
    const during = refusals.length
    await postgres.resume()
    const resumedAt = acknowledged.length
    await expect.poll(() => acknowledged.length, { timeout: 20_000, interval: 200 }).toBeGreaterThan(resumedAt + 100)
    alive()
    stop = true
    await load

    expect(during).toBeGreaterThan(0)
    for (const refusal of refusals) {
      expect(refusal.status).toBe(503)
      expect(['unavailable', 'overloaded']).toContain(refusal.error)
      expect(Number(refusal.retryAfter)).toBeGreaterThan(0)
    }
    // Lost connections are rare and only near the restarts; almost every request gets an answer.
    expect(unanswered).toBeLessThan(10)
    expect(server.output()).not.toContain('"request failed"')
    const exported = await runTacit(['export', 'demo', '--type', 'custom'], { env })
    expect(exported.code).toBe(0)
    const stored = new Set(exported.stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { custom: { name: string } }).custom.name))
    expect(acknowledged.filter((name) => !stored.has(name))).toEqual([])
  }, 120_000)
})

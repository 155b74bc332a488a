import { afterAll, describe, expect, it } from 'vitest'
import { activeToken, readStoredEvents } from '../support/storedData.js'
import { makeTempDir, startServerProcess } from '../support/tacitProcess.js'

/**
 * DESIGN.md §5: events acknowledged with 202 survive a kill -9, and a request is stored whole or not at
 * all. Concurrent senders run against a real server process, which is SIGKILLed mid-load and restarted
 * on the same data directory.
 */
// Sixteen senders on one address and one token: the per-client request limits would throttle them, so
// they are turned off explicitly here (the durability of acknowledged events is what is under test).
const UNLIMITED = ['--ip-rate-limit', '0', '--token-rate-limit', '0']

describe('durability under kill -9', () => {
  const dir = makeTempDir()
  afterAll(() => dir.remove())

  it('loses no acknowledged event and stores no request partially', async () => {
    const server = await startServerProcess({ dataDir: dir.path, args: UNLIMITED })
    const token = server.demoToken!
    const perRequest = 25
    const acknowledged = new Set<string>()
    const attempted = new Set<string>()
    let stop = false

    const sender = async (worker: number) => {
      for (let n = 0; !stop; n++) {
        const request = `w${worker}-r${n}`
        const body = Array.from({ length: perRequest }, (_, i) =>
          JSON.stringify({ type: 'error', error: { message: `boom ${i}`, stack: 'Error: boom\n    at f (app.js:1:1)' }, context: { request, i } }),
        ).join('\n')
        attempted.add(request)
        try {
          const response = await fetch(`${server.url}/api/v1/ingest?token=${token}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })
          if (response.status === 202) acknowledged.add(request)
          await response.arrayBuffer()
        } catch {
          return // the server is gone
        }
      }
    }
    const senders = Array.from({ length: 16 }, (_, worker) => sender(worker))
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await server.kill()
    stop = true
    await Promise.all(senders)
    expect(acknowledged.size).toBeGreaterThan(20)

    const restarted = await startServerProcess({ dataDir: dir.path })
    expect(restarted.demoToken).toBeUndefined() // same database: no second first start
    await restarted.stop()

    const byRequest = new Map<string, number>()
    for (const event of readStoredEvents(dir.path)) {
      const request = (event.context as { request: string }).request
      byRequest.set(request, (byRequest.get(request) ?? 0) + 1)
    }
    const lost = [...acknowledged].filter((request) => byRequest.get(request) !== perRequest)
    const partial = [...byRequest].filter(([, count]) => count !== perRequest)
    expect(lost).toEqual([])
    expect(partial).toEqual([])
    for (const request of byRequest.keys()) expect(attempted.has(request)).toBe(true)
  })

  it('on SIGTERM answers what is in flight, commits it and exits cleanly', async () => {
    const server = await startServerProcess({ dataDir: dir.path, args: UNLIMITED })
    const token = activeToken(dir.path)
    const acknowledged: string[] = []
    let stopping = false
    const sender = async (worker: number) => {
      for (let n = 0; !stopping || n < 3; n++) {
        const request = `term-w${worker}-r${n}`
        try {
          const response = await fetch(`${server.url}/api/v1/ingest?token=${token}`, {
            method: 'POST',
            body: JSON.stringify({ type: 'custom', custom: { name: 'term' }, context: { request } }),
            headers: { 'content-type': 'text/plain' },
          })
          if (response.status === 202) acknowledged.push(request)
          await response.arrayBuffer()
        } catch {
          return
        }
      }
    }
    const senders = Array.from({ length: 8 }, (_, worker) => sender(worker))
    await new Promise((resolve) => setTimeout(resolve, 500))
    stopping = true
    const exitCode = await server.stop()
    await Promise.all(senders)
    expect(exitCode).toBe(0)
    expect(acknowledged.length).toBeGreaterThan(10)
    const stored = new Set(readStoredEvents(dir.path).map((event) => (event.context as { request: string }).request))
    expect(acknowledged.filter((request) => !stored.has(request))).toEqual([])
  })
})

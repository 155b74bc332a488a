import { describe, expect, it } from 'vitest'
import { resolveSettings } from '../../src/apps/appSettings.js'
import type { RequestContext } from '../../src/pipeline/runPipeline.js'
import { createAssignSession } from '../../src/pipeline/stages/assignSession.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { createMemorySessionKeyStore } from '../../src/sessions/createMemorySessionKeyStore.js'
import type { SyncSessionKeyStore } from '../../src/sessions/SessionKeyStore.js'
import { countingRandom, fakeClock } from './sessionFakes.js'

const MIN = 60_000
const T0 = Date.UTC(2024, 4, 1, 12)
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function request(overrides: Partial<RequestContext> = {}, timeoutMinutes?: number): RequestContext {
  const settings = resolveSettings(timeoutMinutes === undefined ? {} : { privacy: { sessionTimeoutMinutes: timeoutMinutes } })
  return { appId: 1, settings, receivedAt: T0, ip: '203.0.113.9', userAgent: 'Mozilla/5.0 Firefox/126.0', optOut: false, derived: {}, ...overrides }
}
function event(overrides: Record<string, unknown> = {}): StoredEvent {
  return { type: 'custom', custom: { name: 'x' }, ts: T0, received_at: T0, ...overrides } as StoredEvent
}
function setup() {
  const clock = fakeClock(T0)
  const keys = createMemorySessionKeyStore({ clock, random: cryptoRandom })
  return { clock, keys, stage: createAssignSession({ keys, random: cryptoRandom }) }
}
function sessionOf(stage: ReturnType<typeof setup>['stage'], context: RequestContext, e = event()): string {
  expect(stage.run(e, context)).toBeUndefined()
  return e.session!.id
}

describe('assignSession', () => {
  it('gives each event a random UUID v4 drawn from the RandomSource', () => {
    const random = countingRandom()
    const keys = createMemorySessionKeyStore({ clock: fakeClock(T0), random })
    const stage = createAssignSession({ keys, random })
    expect(stage.name).toBe('assignSession')
    const id = sessionOf(stage, request())
    expect(id).toMatch(UUID_V4)
    // One 32-byte salt for the day, then 16 bytes for the session id.
    expect(random.requested).toEqual([32, 16])
    const idBytes = Buffer.from(id.replaceAll('-', ''), 'hex')
    const drawn = random.drawn[1]!
    expect(idBytes.subarray(0, 6)).toEqual(drawn.subarray(0, 6))
  })

  it('overwrites a session id the client sent', () => {
    const { stage } = setup()
    const e = event({ session: { id: 'client-chosen' } })
    const id = sessionOf(stage, request(), e)
    expect(id).not.toBe('client-chosen')
    expect(id).toMatch(UUID_V4)
  })

  it('keeps a visitor in one session within the idle window and starts another after it', () => {
    const { stage } = setup()
    const first = sessionOf(stage, request())
    expect(sessionOf(stage, request({ receivedAt: T0 + 29 * MIN }))).toBe(first)
    expect(sessionOf(stage, request({ receivedAt: T0 + 59 * MIN }))).not.toBe(first)
  })

  it("uses the app's sessionTimeoutMinutes", () => {
    const { stage } = setup()
    const first = sessionOf(stage, request({}, 5))
    expect(sessionOf(stage, request({ receivedAt: T0 + 6 * MIN }, 5))).not.toBe(first)
    const second = sessionOf(stage, request({ receivedAt: T0 + 10 * MIN }, 120))
    expect(sessionOf(stage, request({ receivedAt: T0 + 100 * MIN }, 120))).toBe(second)
  })

  it('never gives two apps the same session', () => {
    const { stage } = setup()
    const shop = sessionOf(stage, request({ appId: 1 }))
    const blog = sessionOf(stage, request({ appId: 2 }))
    expect(shop).not.toBe(blog)
  })

  it('gives no session to server-side senders: no User-Agent, curl, @tacit/node', () => {
    const { stage } = setup()
    for (const userAgent of [undefined, 'curl/8.5.0', 'tacit-node/0.1.0 node/20.20.2 linux']) {
      const e = event()
      expect(stage.run(e, request({ userAgent }))).toBeUndefined()
      expect(e.session).toBeUndefined()
    }
  })

  it('asks the key store once per request, whatever the number of events', () => {
    const { keys } = setup()
    let touches = 0
    const counting: SyncSessionKeyStore = {
      ...keys,
      touchNow: (visit, createId) => {
        touches++
        return keys.touchNow(visit, createId)
      },
    }
    const stage = createAssignSession({ keys: counting, random: cryptoRandom })
    const context = request()
    const ids = Array.from({ length: 25 }, () => sessionOf(stage, context))
    expect(new Set(ids).size).toBe(1)
    expect(touches).toBe(1)
    sessionOf(stage, request())
    expect(touches).toBe(2)
  })
})

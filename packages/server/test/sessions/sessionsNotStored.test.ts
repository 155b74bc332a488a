import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { resolveSettings } from '../../src/apps/appSettings.js'
import { utcDay } from '../../src/clock.js'
import type { RequestContext } from '../../src/pipeline/runPipeline.js'
import { createAssignSession } from '../../src/pipeline/stages/assignSession.js'
import { createParseUserAgent } from '../../src/pipeline/stages/parseUserAgent.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { createMemorySessionKeyStore } from '../../src/sessions/createMemorySessionKeyStore.js'
import { visitorKey } from '../../src/sessions/visitorKey.js'
import type { SessionSummary } from '../../src/store/Store.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'
import { fakeClock } from './sessionFakes.js'

const T0 = Date.UTC(2024, 4, 1, 23, 40)
const MIN = 60_000

/** The encodings a salt or key could be written in, so the scan cannot miss one. */
function encodings(bytes: Buffer): string[] {
  return [bytes.toString('hex'), bytes.toString('hex').toUpperCase(), bytes.toString('base64'), bytes.toString('base64url')]
}

async function filesContaining(dir: string, needles: ReadonlyArray<string | Buffer>): Promise<string[]> {
  const found: string[] = []
  for (const name of await readdir(dir)) {
    const bytes = await readFile(join(dir, name))
    for (const needle of needles) if (bytes.indexOf(needle) !== -1) found.push(`${name}: ${needle.toString('hex').slice(0, 16)}…`)
  }
  return found
}

describe('sessions leave nothing in the database that links back to a visitor (DESIGN.md P3)', () => {
  let temp: TempSqliteStore
  beforeEach(async () => {
    temp = await createTempSqliteStore({ backgroundCheckpoints: true, synchronous: 'full' })
  })
  afterEach(async () => temp.cleanup())

  it('stores session ids and summaries, but no IP, User-Agent, salt or visitor key (byte scan of tacit.db, -wal, -shm)', async () => {
    const { store } = temp
    const app = await store.createApp({ name: 'shop', createdAt: T0, settings: {} })
    const clock = fakeClock(T0)
    const keys = createMemorySessionKeyStore({ clock, random: cryptoRandom })
    const stages = [createParseUserAgent(), createAssignSession({ keys, random: cryptoRandom })]
    // Digits only: a random hex marker in the User-Agent once read as a BlackBerry ("bb10") and failed the test.
    const bytes = randomBytes(12)
    const marker = [...bytes].map((b) => String(b).padStart(3, '0')).join('')
    const ip = `198.51.${bytes[0]! % 200}.${(bytes[1]! % 200) + 1}`
    const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Marker/${marker}`

    const salts = new Set<string>()
    const visitorKeys: Buffer[] = []
    const sessionIds = new Set<string>()
    // Across midnight, so two salts are in play.
    for (let i = 0; i < 8; i++) {
      const receivedAt = T0 + i * 10 * MIN
      clock.set(receivedAt)
      const context: RequestContext = { appId: app.id, settings: resolveSettings({}), receivedAt, ip, userAgent, optOut: false, derived: {} }
      const events: StoredEvent[] = [
        { type: 'view', view: { id: `view-${i}`, url: 'https://shop.example/' }, ts: receivedAt, received_at: receivedAt },
        { type: 'error', error: { message: 'boom' }, ts: receivedAt, received_at: receivedAt },
      ]
      for (const event of events) for (const stage of stages) expect(stage.run(event, context)).toBeUndefined()
      for (const event of events) sessionIds.add(event.session!.id)
      for (const held of keys.inspect()) {
        salts.add(held.salt.toString('hex'))
        visitorKeys.push(visitorKey(held.salt, app.id, ip, userAgent))
      }
      expect(await store.writeBatches([{ appId: app.id, day: utcDay(receivedAt), events, dropped: {} }])).toEqual([undefined])
    }
    expect(salts.size).toBe(2)
    // The grace rule carried the one session over midnight.
    expect(sessionIds.size).toBe(1)
    const [sessionId] = sessionIds

    const summaries: SessionSummary[] = []
    for await (const summary of store.readSessions({ appId: app.id })) summaries.push(summary)
    expect(summaries).toEqual([
      {
        appId: app.id,
        sessionId,
        start: T0,
        end: T0 + 70 * MIN,
        views: 8,
        actions: 0,
        errors: 8,
        hasError: true,
        country: null,
        browser: 'Chrome',
        os: 'Linux',
        deviceType: 'desktop',
        receivedAt: T0 + 70 * MIN,
        entryPage: '/',
        exitPage: '/',
      },
    ])

    // The scan finds what is stored, so finding nothing below means something.
    expect(await filesContaining(temp.dir, [sessionId!])).not.toEqual([])
    const forbidden: Array<string | Buffer> = [ip, userAgent, marker, ...[...salts].flatMap((hex) => [Buffer.from(hex, 'hex'), ...encodings(Buffer.from(hex, 'hex'))])]
    for (const key of visitorKeys) forbidden.push(key, ...encodings(key))
    expect(await filesContaining(temp.dir, forbidden)).toEqual([])
    await store.compact()
    expect(await filesContaining(temp.dir, forbidden)).toEqual([])
  })
})

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createAppRegistry } from '../../src/apps/createAppRegistry.js'
import { DEFAULT_RETENTION_DAYS, resolveSettings } from '../../src/apps/appSettings.js'
import { StoreUnavailableError, type Store } from '../../src/store/Store.js'
import { createTempSqliteStore, type TempSqliteStore } from '../store/tempSqliteStore.js'

const HOUR = 3_600_000
const START = Date.UTC(2024, 4, 1, 10, 15, 0)

function fakeClock(start = START) {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

/** The real store, with a count of the calls made to it: how often the registry reaches the database. */
function counting(store: Store): { store: Store; calls: Record<string, number> } {
  const calls: Record<string, number> = {}
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown
      if (typeof value !== 'function' || typeof key !== 'string') return value
      return (...args: unknown[]) => {
        calls[key] = (calls[key] ?? 0) + 1
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { store: proxy, calls }
}

describe('createAppRegistry', () => {
  let temp: TempSqliteStore
  let appId: number
  const token = 'tc_' + 'a'.repeat(32)

  beforeEach(async () => {
    temp = await createTempSqliteStore()
    const app = await temp.store.createApp({ name: 'shop', createdAt: START, settings: { rate_limit: 20, retention: { error: 60 } } })
    appId = app.id
    await temp.store.createToken({ token, appId, createdAt: START, revokedAt: null, lastUsedAt: null })
  })
  afterEach(async () => temp.cleanup())

  it('resolves a token to its app and resolved settings', async () => {
    const registry = createAppRegistry({ store: temp.store, clock: fakeClock() })
    const resolved = await registry.resolveToken(token)
    expect(resolved?.app).toMatchObject({ id: appId, name: 'shop' })
    expect(resolved?.settings).toEqual(resolveSettings({ rate_limit: 20, retention: { error: 60 } }))
    expect(resolved?.settings.retention).toEqual({ ...DEFAULT_RETENTION_DAYS, error: 60 })
  })

  it('answers unknown tokens with undefined', async () => {
    const registry = createAppRegistry({ store: temp.store, clock: fakeClock() })
    expect(await registry.resolveToken('tc_' + 'b'.repeat(32))).toBeUndefined()
    expect(await registry.resolveToken('')).toBeUndefined()
  })

  it('serves repeated lookups from its cache until the ttl passes', async () => {
    const clock = fakeClock()
    const { store, calls } = counting(temp.store)
    const registry = createAppRegistry({ store, clock, ttlMs: 500 })
    const first = registry.resolveToken(token)
    expect(registry.resolveToken(token)).toBe(first)
    await first
    clock.advance(499)
    await registry.resolveToken(token)
    expect(calls.findToken).toBe(1)
    clock.advance(1)
    await registry.resolveToken(token)
    expect(calls.findToken).toBe(2)
  })

  it('stops accepting a revoked token once the ttl has passed', async () => {
    const clock = fakeClock()
    const registry = createAppRegistry({ store: temp.store, clock, ttlMs: 500 })
    expect(await registry.resolveToken(token)).toBeDefined()
    // Revoked by another process (the CLI): this registry learns it only from the store.
    expect(await temp.store.revokeToken(token, clock.now())).toBe(true)
    clock.advance(100)
    expect(await registry.resolveToken(token)).toBeDefined()
    clock.advance(400)
    expect(await registry.resolveToken(token)).toBeUndefined()
  })

  it('sees a new setting after the ttl, or at once after invalidate', async () => {
    const clock = fakeClock()
    const registry = createAppRegistry({ store: temp.store, clock, ttlMs: 500 })
    expect((await registry.resolveToken(token))?.settings.rateLimit).toBe(20)
    await temp.store.updateAppSettings(appId, { rate_limit: 7 })
    expect((await registry.resolveToken(token))?.settings.rateLimit).toBe(20)
    registry.invalidate()
    expect((await registry.resolveToken(token))?.settings.rateLimit).toBe(7)
    await temp.store.updateAppSettings(appId, { rate_limit: 9 })
    clock.advance(500)
    expect((await registry.resolveToken(token))?.settings.rateLimit).toBe(9)
  })

  it('records last use rounded down to the hour, at most once an hour', async () => {
    const clock = fakeClock()
    const { store, calls } = counting(temp.store)
    const registry = createAppRegistry({ store, clock, ttlMs: 500 })
    const hourOf = (t: number) => Math.floor(t / HOUR) * HOUR

    await registry.resolveToken(token)
    expect(calls.touchToken).toBe(1)
    expect((await temp.store.findToken(token))?.lastUsedAt).toBe(hourOf(START))

    // Many cache misses within the same hour: no more writes.
    for (let i = 0; i < 50; i++) {
      clock.advance(1000)
      await registry.resolveToken(token)
    }
    expect(calls.findToken).toBe(51)
    expect(calls.touchToken).toBe(1)

    clock.advance(HOUR)
    await registry.resolveToken(token)
    expect(calls.touchToken).toBe(2)
    expect((await temp.store.findToken(token))?.lastUsedAt).toBe(hourOf(clock.now()))
  })

  it('does not write last use again when another process already recorded this hour', async () => {
    const clock = fakeClock()
    await temp.store.touchToken(token, Math.floor(START / HOUR) * HOUR)
    const { store, calls } = counting(temp.store)
    const registry = createAppRegistry({ store, clock })
    expect(await registry.resolveToken(token)).toBeDefined()
    expect(calls.touchToken ?? 0).toBe(0)
  })

  it('does not record use of a revoked or unknown token', async () => {
    await temp.store.revokeToken(token, START)
    const { store, calls } = counting(temp.store)
    const registry = createAppRegistry({ store, clock: fakeClock() })
    expect(await registry.resolveToken(token)).toBeUndefined()
    expect(await registry.resolveToken('tc_unknown')).toBeUndefined()
    expect(calls.touchToken ?? 0).toBe(0)
    expect((await temp.store.findToken(token))?.lastUsedAt).toBeNull()
  })

  it('stays bounded under a flood of unknown tokens', async () => {
    const clock = fakeClock()
    const { store, calls } = counting(temp.store)
    const registry = createAppRegistry({ store, clock, maxEntries: 10 })
    await registry.resolveToken(token)
    for (let i = 0; i < 100; i++) await registry.resolveToken(`tc_flood_${i}`)
    // The cache was cleared on the way: the real token is looked up again.
    await registry.resolveToken(token)
    expect(calls.findToken).toBe(102)
  })

  it('keeps answering with the last answer for a minute while the database is away, and no longer', async () => {
    const clock = fakeClock()
    let away = false
    const store = new Proxy(temp.store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown
        if (key !== 'findToken') return value
        return (t: string) => (away ? Promise.reject(new StoreUnavailableError('PostgreSQL is unavailable')) : target.findToken(t))
      },
    })
    const registry = createAppRegistry({ store, clock })
    expect((await registry.resolveToken(token))?.app.id).toBe(appId)
    away = true
    clock.advance(1000)
    expect((await registry.resolveToken(token))?.app.id).toBe(appId)
    clock.advance(58_000)
    expect((await registry.resolveToken(token))?.app.id).toBe(appId)
    // A token never seen has no last answer: the error goes to the caller (ingest answers 503).
    await expect(registry.resolveToken('tc_' + 'c'.repeat(32))).rejects.toBeInstanceOf(StoreUnavailableError)
    // A minute after the last answer the database gave, not after the last stand-in.
    clock.advance(1_000)
    await expect(registry.resolveToken(token)).rejects.toBeInstanceOf(StoreUnavailableError)
    away = false
    expect((await registry.resolveToken(token))?.app.id).toBe(appId)
  })

  it('does not stand in with the last answer when the lookup failed for another reason', async () => {
    const clock = fakeClock()
    let broken = false
    const store = new Proxy(temp.store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown
        if (key !== 'findToken') return value
        return (t: string) => (broken ? Promise.reject(new Error('a bug')) : target.findToken(t))
      },
    })
    const registry = createAppRegistry({ store, clock })
    await registry.resolveToken(token)
    broken = true
    clock.advance(1000)
    await expect(registry.resolveToken(token)).rejects.toThrow('a bug')
  })
})

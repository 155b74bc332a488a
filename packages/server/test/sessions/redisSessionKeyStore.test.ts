import { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DAY_MS } from '../../src/clock.js'
import { assertEphemeralRedis, createRedisSessionKeyStore } from '../../src/sessions/createRedisSessionKeyStore.js'
import { visitorKey } from '../../src/sessions/visitorKey.js'
import { countingRandom, fakeClock } from './sessionFakes.js'
import { describeSessionKeyStoreContract } from './sessionKeyStoreContract.js'

/**
 * The Redis SessionKeyStore against a real redis-server (test/support/startTestRedis.ts starts one per run, or
 * TACIT_TEST_REDIS_URL): the same contract as the in-process store, then what only a shared store must do.
 * Every store gets its own key prefix, deleted after.
 */
const url = inject('redisUrl')

async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

describeSessionKeyStoreContract('redis', async ({ clock, random }) => {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  const prefix = `test:${randomUUID()}:`
  const keys = createRedisSessionKeyStore({ redis, clock, random, prefix })
  return {
    keys,
    async cleanup() {
      await deletePrefix(redis, prefix)
      await redis.quit()
    },
  }
})

const MIN = 60_000
const D = Date.UTC(2024, 4, 1)
const visit = { appId: 7, ip: '203.0.113.7', userAgent: 'Mozilla/5.0 Firefox/126.0', idleTimeoutMs: 30 * MIN }

describe('Redis SessionKeyStore', () => {
  let redis: Redis
  const prefixes: string[] = []
  const store = (clock = fakeClock(D), random = countingRandom()) => {
    const prefix = `test:${randomUUID()}:`
    prefixes.push(prefix)
    return { prefix, keys: createRedisSessionKeyStore({ redis, clock, random, prefix }), clock, random }
  }
  beforeAll(async () => {
    redis = new Redis(url, { maxRetriesPerRequest: 1 })
  })
  afterAll(async () => {
    for (const prefix of prefixes) await deletePrefix(redis, prefix)
    await redis.quit()
  })

  it('gives the same visitor the same session from two nodes, and starts only one when both see a first visit at once', async () => {
    const a = store()
    // A second node: its own client and clock, the same Redis and prefix.
    const other = new Redis(url, { maxRetriesPerRequest: 1 })
    try {
      const b = createRedisSessionKeyStore({ redis: other, clock: fakeClock(D), random: countingRandom(), prefix: a.prefix })
      const at = D + 10 * 60 * MIN
      let created = 0
      const createId = () => `session-${++created}`
      const [one, two] = await Promise.all([a.keys.touch({ ...visit, at }, createId), b.touch({ ...visit, at }, createId)])
      expect(one).toBe(two)
      expect(await b.touch({ ...visit, at: at + MIN }, createId)).toBe(one)
      expect(await a.keys.touch({ ...visit, at: at + 2 * MIN }, createId)).toBe(one)
      // One salt for the day, whichever node drew first.
      expect((await a.keys.stats()).salts).toBe(1)
    } finally {
      await other.quit()
    }
  })

  it('keys visitors with HMAC-SHA256 over the stored random salt, and stores no IP or User-Agent', async () => {
    const { prefix, keys, random } = store()
    await keys.touch({ ...visit, at: D + 60 * MIN }, () => 's1')
    const [salt] = random.drawn
    const day = Math.floor((D + 60 * MIN) / DAY_MS)
    expect(await redis.getBuffer(`${prefix}salt:${day}`)).toEqual(salt)
    const entry = `${prefix}entry:${day}:${visitorKey(salt!, visit.appId, visit.ip, visit.userAgent).toString('base64')}`
    expect(JSON.parse((await redis.get(entry))!)).toMatchObject({ sessionId: 's1', lastSeen: D + 60 * MIN })
    // Nothing under the prefix holds the address or the User-Agent.
    const [, all] = await redis.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 1000)
    for (const key of all) {
      const type = await redis.type(key)
      const value = type === 'string' ? ((await redis.getBuffer(key)) ?? Buffer.alloc(0)) : Buffer.from((await redis.zrange(key, 0, -1)).join(','))
      expect(`${key} ${value.toString('latin1')}`).not.toMatch(/203\.0\.113\.7|Firefox/)
    }
  })

  it('lets Redis expire what it holds: salts at the end of the next day, entries when their session would end', async () => {
    const { prefix, keys } = store()
    const at = D + 23 * 60 * MIN
    await keys.touch({ ...visit, at }, () => 's1')
    const day = Math.floor(at / DAY_MS)
    const saltTtl = await redis.pttl(`${prefix}salt:${day}`)
    expect(saltTtl).toBeGreaterThan(DAY_MS)
    expect(saltTtl).toBeLessThanOrEqual(DAY_MS + 60 * MIN)
    const [, entries] = await redis.scan('0', 'MATCH', `${prefix}entry:*`, 'COUNT', 1000)
    expect(entries).toHaveLength(1)
    const entryTtl = await redis.pttl(entries[0]!)
    expect(entryTtl).toBeGreaterThan(29 * MIN)
    expect(entryTtl).toBeLessThanOrEqual(30 * MIN)
  })

  it('leaves the shared state to the other nodes when one closes', async () => {
    const { keys } = store()
    await keys.touch({ ...visit, at: D + 60 * MIN }, () => 's1')
    await keys.close()
    expect(await keys.stats()).toMatchObject({ salts: 1, entries: 1 })
  })

  it('accepts a Redis that keeps nothing on disk and refuses one that snapshots or appends, saying how to fix it', async () => {
    await expect(assertEphemeralRedis(redis)).resolves.toBeUndefined()
    const fake = (save: string, appendonly: string) =>
      ({ config: async (_op: string, key: string) => (key === 'save' ? ['save', save] : ['appendonly', appendonly]) }) as unknown as Redis
    await expect(assertEphemeralRedis(fake('3600 1 300 100 60 10000', 'no'))).rejects.toThrow(/writes to disk .*--save "" --appendonly no/)
    await expect(assertEphemeralRedis(fake('', 'yes'))).rejects.toThrow(/appendonly yes/)
    const locked = { config: async () => Promise.reject(new Error("ERR unknown command 'CONFIG'")) } as unknown as Redis
    await expect(assertEphemeralRedis(locked)).rejects.toThrow(/could not check .*CONFIG GET failed/)
  })
})

import { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { createClientRateLimits } from '../../src/apps/createClientRateLimits.js'
import { createRateLimiter } from '../../src/apps/createRateLimiter.js'
import { createRedisRequestLimits } from '../../src/apps/createRedisRequestLimits.js'
import { createMemoryRequestLimits } from '../../src/apps/RequestLimits.js'
import { describeRequestLimitsContract } from './requestLimitsContract.js'

/** The ingest limits in memory and in a real Redis (test/support/startTestRedis.ts): one contract. */
const url = inject('redisUrl')

async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
}

describeRequestLimitsContract('memory', async ({ clock, random, settings }) => ({
  limits: createMemoryRequestLimits({ clientLimits: createClientRateLimits({ clock, random, settings }), rateLimiter: createRateLimiter(clock) }),
  cleanup: async () => {},
}))

describeRequestLimitsContract('redis', async ({ clock, random, settings }) => {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  const prefix = `test:${randomUUID()}:`
  return {
    limits: createRedisRequestLimits({ redis, clock, random, settings, prefix }),
    async cleanup() {
      await deletePrefix(redis, prefix)
      await redis.quit()
    },
  }
})

describe('RequestLimits in Redis', () => {
  it('holds one limit for every node, and keeps no client address', async () => {
    const nodes = [new Redis(url), new Redis(url)]
    const prefix = `test:${randomUUID()}:`
    const clock = { now: () => Date.UTC(2024, 4, 1, 12) }
    // Each node makes its own random bytes: the day's secret is whichever node created it first.
    const limits = nodes.map((redis, i) =>
      createRedisRequestLimits({ redis, clock, random: { bytes: (n) => Buffer.alloc(n, i + 1) }, settings: { requestsPerIp: 2, requestsPerToken: 0 }, prefix }),
    )
    try {
      const request = { ip: '198.51.100.23', token: 'tc_a', appId: 1, eventsPerSecond: 0, events: 1 }
      const answers = []
      for (let i = 0; i < 6; i++) answers.push(await limits[i % 2]!.take(request))
      expect(answers.map((a) => a.ok)).toEqual([true, true, true, true, false, false])
      const keys = await nodes[0]!.keys(`${prefix}*`)
      expect(keys.length).toBe(2) // the day's secret and one bucket
      for (const key of keys) {
        expect(key).not.toContain('198.51.100.23')
        const value = (await nodes[0]!.type(key)) === 'hash' ? JSON.stringify(await nodes[0]!.hgetall(key)) : ''
        expect(value).not.toContain('198.51.100.23')
      }
      // Buckets expire once they would be full again: nothing lingers.
      for (const key of keys.filter((k) => k.includes(':ip:'))) expect(await nodes[0]!.pttl(key)).toBeLessThanOrEqual(3000)
    } finally {
      await deletePrefix(nodes[0]!, prefix)
      for (const redis of nodes) await redis.quit()
    }
  })
})

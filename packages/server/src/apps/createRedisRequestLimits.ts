import { createHmac } from 'node:crypto'
import type { Redis } from 'ioredis'
import { DAY_MS, type Clock } from '../clock.js'
import { LIMITS } from '../protocol/limits.js'
import type { RandomSource } from '../randomSource.js'
import type { ClientRateLimitSettings } from './createClientRateLimits.js'
import type { LimitVerdict, RequestLimits } from './RequestLimits.js'

const SECRET_BYTES = 32

export interface RedisRequestLimitsOptions {
  redis: Redis
  clock: Clock
  random: RandomSource
  settings: ClientRateLimitSettings
  /** Prefix of every key (default `tacit:limits:`): tests give each instance its own. */
  prefix?: string
}

/**
 * The ingest limits shared by every node (issue 7): the same token buckets as the in-memory ones
 * (createClientRateLimits.ts, createRateLimiter.ts), kept in Redis and taken by one Lua script per request, so a
 * limit holds for the cluster and costs one round trip. Keys, under the prefix:
 * - `secret:<day>`: 32 random bytes, created once a day with SET NX by whichever node comes first, expiring at the
 *   end of the next day. A client address is only ever an HMAC with it, so every node maps one address to one
 *   bucket and Redis holds no address.
 * - `ip:<hmac>`, `token:<token>`, `app:<id>`: {tokens, updated}, expiring once the bucket would be full again (an
 *   absent bucket is a full one).
 * Times come from the injected clock, as the in-memory buckets' do.
 */
export function createRedisRequestLimits(options: RedisRequestLimitsOptions): RequestLimits {
  const { redis, clock, random, settings } = options
  const prefix = options.prefix ?? 'tacit:limits:'
  const takeScript = defineTake(redis)
  const secrets = new Map<number, Buffer>()

  /** The day's secret: read once per node and day, created if no node has yet. */
  async function secretFor(day: number, now: number): Promise<Buffer> {
    const held = secrets.get(day)
    if (held) return held
    const key = `${prefix}secret:${day}`
    const fresh = Buffer.from(random.bytes(SECRET_BYTES))
    await redis.set(key, fresh, 'PX', Math.max(1, (day + 2) * DAY_MS - now), 'NX')
    fresh.fill(0)
    const stored = await redis.getBuffer(key)
    if (!stored) throw new Error('The rate limit secret vanished as it was created.')
    for (const [old, bytes] of secrets) {
      if (old < day) {
        bytes.fill(0)
        secrets.delete(old)
      }
    }
    secrets.set(day, stored)
    return stored
  }

  return {
    async take({ ip, token, appId, eventsPerSecond, events }): Promise<LimitVerdict> {
      const now = clock.now()
      const keys: string[] = []
      const args: number[] = [now]
      const names: Array<'ip' | 'token' | 'app'> = []
      if (settings.requestsPerIp > 0) {
        const secret = await secretFor(Math.floor(now / DAY_MS), now)
        keys.push(`${prefix}ip:${createHmac('sha256', secret).update(ip).digest('base64')}`)
        args.push(settings.requestsPerIp, settings.requestsPerIp * 2, 1)
        names.push('ip')
      }
      if (settings.requestsPerToken > 0) {
        keys.push(`${prefix}token:${token}`)
        args.push(settings.requestsPerToken, settings.requestsPerToken * 2, 1)
        names.push('token')
      }
      if (eventsPerSecond > 0) {
        keys.push(`${prefix}app:${appId}`)
        // Never less than one full request, so any valid request can pass once the bucket has refilled.
        args.push(eventsPerSecond, Math.max(eventsPerSecond * 2, LIMITS.eventsPerRequest), events)
        names.push('app')
      }
      if (keys.length === 0) return { ok: true }
      const [refused, wait] = await takeScript(keys, args)
      return refused === 0 ? { ok: true } : { ok: false, limit: names[refused - 1]!, retryAfterSeconds: wait }
    },
  }
}

/**
 * Takes from each bucket in turn (KEYS[i], with ARGV[3i-1..3i+1] = rate per second, capacity, cost; ARGV[1] = now
 * in ms) and stops at the first that cannot pay: returns {its 1-based index, seconds to wait}, or {0, 0} when all
 * paid. The arithmetic is the in-memory buckets', so both implementations pass one contract.
 */
const TAKE_SCRIPT = `
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[3 * i - 1])
  local capacity = tonumber(ARGV[3 * i])
  local cost = tonumber(ARGV[3 * i + 1])
  local stored = redis.call('HMGET', key, 'tokens', 'updated')
  local tokens = tonumber(stored[1]) or capacity
  local updated = tonumber(stored[2]) or now
  tokens = math.min(capacity, tokens + ((now - updated) / 1000) * rate)
  local paid = tokens >= cost
  if paid then tokens = tokens - cost end
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'updated', now)
  redis.call('PEXPIRE', key, math.ceil((capacity - tokens) / rate * 1000) + 1000)
  if not paid then
    return {i, math.max(1, math.ceil((cost - tokens) / rate))}
  end
end
return {0, 0}
`

function defineTake(redis: Redis): (keys: string[], args: number[]) => Promise<[number, number]> {
  const name = 'tacitLimitsTake'
  if (!(name in redis)) redis.defineCommand(name, { lua: TAKE_SCRIPT })
  const command = (redis as unknown as Record<string, (...args: Array<string | number>) => Promise<[number, number]>>)[name]!
  // Without numberOfKeys in the definition, the key count is the first argument.
  return (keys, args) => command.apply(redis, [keys.length, ...keys, ...args])
}

import type { Redis } from 'ioredis'
import { DAY_MS, type Clock } from '../clock.js'
import type { RandomSource } from '../randomSource.js'
import type { SessionKeyStats, SessionKeyStore, Visit } from './SessionKeyStore.js'
import { visitKey } from './visitorKey.js'

const SALT_BYTES = 32
const SCAN_COUNT = 500
const MISSING_RECHECK_MS = 10_000

export interface RedisSessionKeyStoreOptions {
  redis: Redis
  clock: Clock
  random: RandomSource
  /** Prefix of every key (default `tacit:sessions:`): tests give each store its own. */
  prefix?: string
}

/**
 * The shared SessionKeyStore for several Tacit nodes (issue 7, DESIGN.md P3): the same contract as the
 * in-process store (test/sessions/sessionKeyStoreContract.ts), held in a Redis that keeps nothing on disk
 * (assertEphemeralRedis). Keys, under the prefix:
 * - `salt:<day>`: the day's 32 random bytes, created once with SET NX (whichever node comes first), expiring at
 *   the end of the next day; `salts` indexes the days held, so old ones are destroyed with their entries.
 * - `entry:<day>:<visitor key>`: {sessionId, start, lastSeen, hardEnd, idle}, expiring when the session would
 *   (idle timeout or hard end). One Lua script reads, carries over (grace) and extends an entry atomically, so
 *   two nodes never give one visitor two sessions.
 * Times come from the visits and the injected clock; the Redis TTLs only make sure nothing outlives them.
 */
export function createRedisSessionKeyStore(options: RedisSessionKeyStoreOptions): SessionKeyStore {
  const { redis, clock, random } = options
  const prefix = options.prefix ?? 'tacit:sessions:'
  const saltKey = (day: number) => `${prefix}salt:${day}`
  const saltsKey = `${prefix}salts`
  const entryKey = (day: number, key: Buffer) => `${prefix}entry:${day}:${key.toString('base64')}`
  let newestDay = -Infinity
  // Salts never change once set, so each node keeps the ones it has read (as the in-process store keeps its own)
  // and forgets them on the same schedule: a touch is then one round trip, the script. A day found without a
  // salt is asked again after MISSING_RECHECK_MS (another node may create it).
  const salts = new Map<number, Buffer>()
  const missingUntil = new Map<number, number>()
  const touchScript = defineTouch(redis)

  async function salt(day: number): Promise<Buffer | undefined> {
    const cached = salts.get(day)
    if (cached) return cached
    const now = clock.now()
    if ((missingUntil.get(day) ?? -Infinity) > now) return undefined
    const stored = (await redis.getBuffer(saltKey(day))) ?? undefined
    if (stored) {
      salts.set(day, stored)
      missingUntil.delete(day)
    } else missingUntil.set(day, now + MISSING_RECHECK_MS)
    return stored
  }

  function forgetBefore(day: number): void {
    for (const held of [...salts.keys()]) {
      if (held < day) {
        salts.get(held)!.fill(0)
        salts.delete(held)
      }
    }
    for (const missing of [...missingUntil.keys()]) if (missing < day) missingUntil.delete(missing)
  }

  /** The day's salt, created (random bytes, SET NX) if no node has yet. */
  async function saltFor(day: number, now: number): Promise<Buffer> {
    const held = await salt(day)
    if (held) return held
    const fresh = Buffer.from(random.bytes(SALT_BYTES))
    const ttl = Math.max(1, (day + 2) * DAY_MS - now)
    await redis.multi().set(saltKey(day), fresh, 'PX', ttl, 'NX').zadd(saltsKey, day, String(day)).exec()
    fresh.fill(0)
    missingUntil.delete(day)
    const stored = await salt(day)
    if (!stored) throw new Error('The session salt vanished as it was created.')
    return stored
  }

  /** Destroys every salt older than `before` (a day number) with all its entries. */
  async function destroyBefore(before: number): Promise<void> {
    forgetBefore(before)
    const old = (await redis.zrangebyscore(saltsKey, '-inf', before - 1)).map(Number)
    for (const day of old) {
      await deleteMatching(`${prefix}entry:${day}:*`)
      await redis.multi().del(saltKey(day)).zrem(saltsKey, String(day)).exec()
    }
  }

  async function deleteMatching(pattern: string): Promise<void> {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  }

  async function anyMatching(pattern: string): Promise<boolean> {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
      if (keys.length > 0) return true
      cursor = next
    } while (cursor !== '0')
    return false
  }

  async function touchOnce(visit: Visit, day: number, newId: string): Promise<[string | null, number]> {
    const today = await saltFor(day, visit.at)
    const yesterday = await salt(day - 1)
    const key = entryKey(day, visitKey(today, visit, 'current')!)
    const previous = yesterday && visitKey(yesterday, visit, 'previous')
    // Without a key for yesterday, the old entry looked up is today's own: the script then finds no other.
    const old = previous ? entryKey(day - 1, previous) : key
    const visitDay = Math.floor(visit.at / DAY_MS)
    return touchScript(key, old, visit.at, visit.idleTimeoutMs, (visitDay + 2) * DAY_MS, newId)
  }

  return {
    async touch(visit, createId) {
      const visitDay = Math.floor(visit.at / DAY_MS)
      if (visitDay > newestDay) {
        newestDay = visitDay
        await destroyBefore(visitDay - 1)
      }
      // A request received before midnight but handled after a later one uses yesterday's salt, never an older one.
      const day = Math.max(visitDay, newestDay - 1)
      const [existing] = await touchOnce(visit, day, '')
      if (existing) return existing
      // Only a new session asks for an id; the script checks again, so a session another node just started wins.
      const [sessionId] = await touchOnce(visit, day, createId())
      if (!sessionId) throw new Error('The session store did not start a session.')
      return sessionId
    },

    async sweep() {
      const now = clock.now()
      const today = Math.floor(now / DAY_MS)
      newestDay = Math.max(newestDay, today)
      await destroyBefore(today - 1)
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}entry:*`, 'COUNT', SCAN_COUNT)
        if (keys.length > 0) {
          const values = await redis.mget(...keys)
          const expired = keys.filter((_, i) => {
            const value = values[i]
            if (!value) return false
            const entry = JSON.parse(value) as { lastSeen: number; hardEnd: number; idle: number }
            return now - entry.lastSeen >= entry.idle || now >= entry.hardEnd
          })
          if (expired.length > 0) await redis.del(...expired)
        }
        cursor = next
      } while (cursor !== '0')
      // Yesterday's salt is kept only to find sessions live at midnight: once none is left, it goes.
      for (const day of (await redis.zrangebyscore(saltsKey, '-inf', today - 1)).map(Number)) {
        if (!(await anyMatching(`${prefix}entry:${day}:*`))) {
          salts.get(day)?.fill(0)
          salts.delete(day)
          await redis.multi().del(saltKey(day)).zrem(saltsKey, String(day)).exec()
        }
      }
    },

    async stats() {
      const days = (await redis.zrange(saltsKey, 0, -1)).map(Number)
      const held: number[] = []
      for (const day of days) if (await redis.exists(saltKey(day))) held.push(day)
      let entries = 0
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}entry:*`, 'COUNT', SCAN_COUNT)
        entries += keys.length
        cursor = next
      } while (cursor !== '0')
      const stats: SessionKeyStats = { salts: held.length, entries }
      if (held.length > 0) stats.oldestSaltDay = Math.min(...held) * DAY_MS
      return stats
    },

    // The salts and entries are shared with the other nodes: closing one node leaves them to expire. Its own
    // copies of the salts go.
    async close() {
      forgetBefore(Infinity)
    },
  }
}

/**
 * Atomically: today's entry if live, else yesterday's (the grace rule; it is moved to today's key), else a new
 * one when ARGV[4] holds its id. Extends it to the visit and sets its expiry. Returns {session id or nil, 1 when
 * created}. KEYS[2] equals KEYS[1] when there is no yesterday's salt.
 */
const TOUCH_SCRIPT = `
local at = tonumber(ARGV[1])
local idle = tonumber(ARGV[2])
local hardEndNew = tonumber(ARGV[3])
local newId = ARGV[4]
local function live(e) return at - e.lastSeen < idle and at < e.hardEnd end
local entry = nil
local raw = redis.call('GET', KEYS[1])
if raw then
  entry = cjson.decode(raw)
  if not live(entry) then entry = nil end
end
if not entry and KEYS[2] ~= KEYS[1] then
  local old = redis.call('GET', KEYS[2])
  if old then
    redis.call('DEL', KEYS[2])
    local e = cjson.decode(old)
    if live(e) then entry = e end
  end
end
local created = 0
if not entry then
  if newId == '' then return { false, 0 } end
  entry = { sessionId = newId, start = at, lastSeen = at, hardEnd = hardEndNew }
  created = 1
end
if at > entry.lastSeen then entry.lastSeen = at end
entry.idle = idle
local expires = math.min(entry.lastSeen + idle, entry.hardEnd)
redis.call('SET', KEYS[1], cjson.encode(entry), 'PX', math.max(1, expires - at))
return { entry.sessionId, created }
`

/** The touch script as a command: ioredis sends its SHA (EVALSHA) after the first call, not its text. */
function defineTouch(redis: Redis): (key: string, old: string, at: number, idle: number, hardEnd: number, newId: string) => Promise<[string | null, number]> {
  const name = 'tacitSessionTouch'
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 2, lua: TOUCH_SCRIPT })
  const command = (redis as unknown as Record<string, (...args: Array<string | number>) => Promise<[string | null, number]>>)[name]!
  return (...args) => command.apply(redis, args)
}

/**
 * Tacit refuses a Redis that writes to disk (issue 7): Debian's default Redis snapshots its data, which would keep
 * salts and visitor keys past 48 hours in dump.rdb. Asks the server with CONFIG GET.
 */
export async function assertEphemeralRedis(redis: Redis): Promise<void> {
  let save: string | undefined
  let appendonly: string | undefined
  try {
    save = ((await redis.config('GET', 'save')) as string[])[1]
    appendonly = ((await redis.config('GET', 'appendonly')) as string[])[1]
  } catch (error) {
    throw new Error(`Tacit could not check that this Redis keeps nothing on disk (CONFIG GET failed: ${(error as Error).message}). Allow CONFIG GET, with save "" and appendonly no.`)
  }
  if (save !== '' || appendonly !== 'no') {
    throw new Error(
      `This Redis writes to disk (save "${save ?? '?'}", appendonly ${appendonly ?? '?'}): it would keep session salts and visitor keys past 48 hours. ` +
        'Run it with --save "" --appendonly no (redis.conf: save "" and appendonly no), or CONFIG SET save "" and CONFIG SET appendonly no.',
    )
  }
}

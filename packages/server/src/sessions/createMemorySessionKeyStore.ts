import { DAY_MS, type Clock } from '../clock.js'
import type { RandomSource } from '../randomSource.js'
import type { SessionKeyStats, SyncSessionKeyStore, Visit } from './SessionKeyStore.js'
import { visitKey } from './visitorKey.js'

export interface MemorySessionKeyStore extends SyncSessionKeyStore {
  /**
   * For tests and diagnostics only (never log it): copies of the salts held and the visitor keys (base64)
   * under each, so a test can scan the database for them.
   */
  inspect(): Array<{ day: number; salt: Buffer; keys: string[] }>
}

export interface MemorySessionKeyStoreOptions {
  clock: Clock
  random: RandomSource
  /** Entries held at most; past it, expired entries go first, then the least recently seen. */
  maxEntries?: number
}

interface Entry {
  sessionId: string
  start: number
  lastSeen: number
  /** The end of the UTC day after the session's first event: no session lasts longer. */
  hardEnd: number
  idleTimeoutMs: number
}

interface SaltDay {
  /** Days since the epoch (UTC). */
  day: number
  salt: Buffer
  /** Visitor key (base64) → entry, least recently seen first. */
  entries: Map<string, Entry>
}

const SALT_BYTES = 32
/** About 200 bytes an entry: 200k visitors active at once stay near 40 MB. */
const DEFAULT_MAX_ENTRIES = 200_000
/** At the cap, a full scan for expired entries runs at most this often; in between the oldest are evicted. */
const FULL_SWEEP_EVERY_MS = 1000

/**
 * The in-process SessionKeyStore: salts and entries live in this process's memory only. Restarting the
 * server therefore starts fresh salts, and every visitor starts a new session — a deliberate trade: nothing
 * that could link a visitor to a session survives the process (docs/PRIVACY.md, "Sessions"). Several nodes
 * need the shared Redis store instead, or each node would give the same visitor its own session.
 */
export function createMemorySessionKeyStore(options: MemorySessionKeyStoreOptions): MemorySessionKeyStore {
  const { clock, random } = options
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES
  /** At most two: today's and yesterday's, by day. */
  const days = new Map<number, SaltDay>()
  let newestDay = -Infinity
  let entryCount = 0
  let lastFullSweep = -Infinity

  /** Moves to `day`: every salt older than yesterday's is destroyed with all its entries. */
  function advanceTo(day: number): void {
    if (day <= newestDay) return
    newestDay = day
    for (const held of days.values()) if (held.day < day - 1) destroy(held)
  }

  function destroy(held: SaltDay): void {
    // Overwrite the bytes rather than leave them to the garbage collector.
    held.salt.fill(0)
    entryCount -= held.entries.size
    held.entries.clear()
    days.delete(held.day)
  }

  function saltDay(day: number): SaltDay {
    let held = days.get(day)
    if (!held) {
      // Random bytes only: a salt derived from the date or a secret could be recomputed later.
      held = { day, salt: Buffer.from(random.bytes(SALT_BYTES)), entries: new Map() }
      days.set(day, held)
    }
    return held
  }

  function isLive(entry: Entry, at: number, idleTimeoutMs: number): boolean {
    return at - entry.lastSeen < idleTimeoutMs && at < entry.hardEnd
  }

  function removeExpired(now: number): void {
    for (const held of days.values()) {
      for (const [key, entry] of held.entries) {
        if (!isLive(entry, now, entry.idleTimeoutMs)) {
          held.entries.delete(key)
          entryCount--
        }
      }
    }
  }

  function makeRoom(now: number): void {
    if (entryCount < maxEntries) return
    if (now - lastFullSweep >= FULL_SWEEP_EVERY_MS) {
      lastFullSweep = now
      removeExpired(now)
    }
    // Still full of live sessions: the least recently seen visitor loses its session (older salt first).
    for (const held of [...days.values()].sort((a, b) => a.day - b.day)) {
      for (const key of held.entries.keys()) {
        if (entryCount < maxEntries) return
        held.entries.delete(key)
        entryCount--
      }
    }
  }

  function touchNow(visit: Visit, createId: () => string): string {
    const visitDay = Math.floor(visit.at / DAY_MS)
    advanceTo(visitDay)
    // A request received just before midnight but handled after a later one: its day's salt may be gone,
    // so it uses yesterday's, never recreating an older one.
    const day = Math.max(visitDay, newestDay - 1)
    const today = saltDay(day)
    const key = visitKey(today.salt, visit, 'current')!.toString('base64')

    let entry = today.entries.get(key)
    if (entry) {
      today.entries.delete(key)
      entryCount--
      if (!isLive(entry, visit.at, visit.idleTimeoutMs)) entry = undefined
    }
    if (!entry) {
      // The grace rule: a session live at midnight was keyed with yesterday's salt; carry it over to today's key.
      const yesterday = days.get(day - 1)
      const oldKey = yesterday && visitKey(yesterday.salt, visit, 'previous')?.toString('base64')
      if (yesterday && oldKey !== undefined) {
        const old = yesterday.entries.get(oldKey)
        if (old) {
          yesterday.entries.delete(oldKey)
          entryCount--
          if (isLive(old, visit.at, visit.idleTimeoutMs)) entry = old
        }
      }
    }
    if (!entry) {
      makeRoom(visit.at)
      entry = { sessionId: createId(), start: visit.at, lastSeen: visit.at, hardEnd: (visitDay + 2) * DAY_MS, idleTimeoutMs: visit.idleTimeoutMs }
    }
    entry.lastSeen = Math.max(entry.lastSeen, visit.at)
    entry.idleTimeoutMs = visit.idleTimeoutMs
    // Re-inserted, so each map stays ordered by last use and eviction takes the least recently seen.
    today.entries.set(key, entry)
    entryCount++
    return entry.sessionId
  }

  function stats(): SessionKeyStats {
    const held = [...days.keys()]
    return {
      salts: days.size,
      entries: entryCount,
      ...(held.length > 0 ? { oldestSaltDay: Math.min(...held) * DAY_MS } : {}),
    }
  }

  return {
    touchNow,
    async touch(visit, createId) {
      return touchNow(visit, createId)
    },
    async sweep() {
      const now = clock.now()
      advanceTo(Math.floor(now / DAY_MS))
      removeExpired(now)
      // Yesterday's salt is kept only to find sessions live at midnight: once none is left, it goes.
      for (const held of [...days.values()]) if (held.day < newestDay && held.entries.size === 0) destroy(held)
    },
    async stats() {
      return stats()
    },
    async close() {
      for (const held of [...days.values()]) destroy(held)
    },
    inspect() {
      return [...days.values()].map((held) => ({ day: held.day, salt: Buffer.from(held.salt), keys: [...held.entries.keys()] }))
    },
  }
}

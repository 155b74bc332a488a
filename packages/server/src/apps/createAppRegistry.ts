import type { Clock } from '../clock.js'
import { StoreUnavailableError, type App, type Store } from '../store/Store.js'
import { resolveSettings, type AppSettings } from './appSettings.js'

export interface ResolvedApp {
  app: App
  settings: AppSettings
}

export interface AppRegistry {
  /** The app a client token writes to, or undefined when the token is unknown or revoked. */
  resolveToken(token: string): Promise<ResolvedApp | undefined>
  /** Forget cached answers, e.g. after this process changed a token or a setting itself. */
  invalidate(): void
}

const HOUR_MS = 3_600_000
/** How long a token's last answer stands in while the database cannot be reached. */
const STALE_IF_UNAVAILABLE_MS = 60_000

/**
 * Token → app lookups on the ingest hot path, cached briefly. The CLI changes tokens and settings from
 * another process; a short expiry bounds how long a revoked token keeps working (well under a second)
 * without any cross-process signalling, and works the same for every store.
 */
export function createAppRegistry(deps: { store: Store; clock: Clock; ttlMs?: number; maxEntries?: number }): AppRegistry {
  const ttlMs = deps.ttlMs ?? 500
  const maxEntries = deps.maxEntries ?? 10_000
  const cache = new Map<string, { expiresAt: number; value: Promise<ResolvedApp | undefined> }>()
  const lastGood = new Map<string, { at: number; value: ResolvedApp | undefined }>()
  /** Last-used hour already written per token, so a busy token costs one write an hour. */
  const touched = new Map<string, number>()

  async function load(token: string): Promise<ResolvedApp | undefined> {
    const record = await deps.store.findToken(token)
    if (!record || record.revokedAt !== null) return undefined
    const app = await deps.store.getApp(record.appId)
    if (!app) return undefined
    const hour = Math.floor(deps.clock.now() / HOUR_MS) * HOUR_MS
    if ((touched.get(token) ?? record.lastUsedAt ?? -1) < hour) {
      touched.set(token, hour)
      if (touched.size > maxEntries) touched.clear()
      await deps.store.touchToken(token, hour)
    }
    return { app, settings: resolveSettings(app.settings) }
  }

  return {
    resolveToken(token) {
      const now = deps.clock.now()
      const cached = cache.get(token)
      if (cached && cached.expiresAt > now) return cached.value
      // Bounded: unknown tokens sent by a flood must not grow memory.
      if (cache.size >= maxEntries) cache.clear()
      const loaded = load(token)
      // While the database is away (a restart, a failover), the last answer keeps serving for a while, so ingest
      // can go on into the writer, which holds it (store/createBatchWriter.ts); a revocation waits as long.
      const stale = lastGood.get(token)
      const value =
        stale && now - stale.at < STALE_IF_UNAVAILABLE_MS ? loaded.catch((error: unknown) => (error instanceof StoreUnavailableError ? stale.value : Promise.reject(error))) : loaded
      cache.set(token, { expiresAt: now + ttlMs, value })
      // Only an answer from the database is a last answer: a stand-in must not extend its own life.
      loaded.then(
        (resolved) => {
          lastGood.set(token, { at: now, value: resolved })
          if (lastGood.size > maxEntries) lastGood.clear()
        },
        () => undefined,
      )
      // A failed lookup is not cached, but a newer entry for the same token must survive.
      value.catch(() => cache.get(token)?.value === value && cache.delete(token))
      return value
    },
    invalidate() {
      cache.clear()
      lastGood.clear()
    },
  }
}

import type { Clock } from '../clock.js'
import { StoreUnavailableError, type App, type Store } from '../store/Store.js'
import { hashSecretKey, secretKeyKindOf } from '../keys/secretKey.js'
import { resolveSettings, type AppSettings } from './appSettings.js'

export interface ResolvedApp {
  app: App
  settings: AppSettings
}

export interface AppRegistry {
  /** The app a client token writes to, or undefined when the token is unknown or revoked. */
  resolveToken(token: string): Promise<ResolvedApp | undefined>
  /** The app a TrackX key (issue 9, `tacit key create <app> --kind trackx`) sends to, or undefined. */
  resolveTrackxKey(key: string): Promise<ResolvedApp | undefined>
  /** Forget cached answers, e.g. after this process changed a token or a setting itself. */
  invalidate(): void
}

const HOUR_MS = 3_600_000
/** How long a token's last answer stands in while the database cannot be reached. */
const STALE_IF_UNAVAILABLE_MS = 60_000

/**
 * Token (and TrackX key) → app lookups on the ingest hot path, cached briefly. The CLI changes tokens and settings from
 * another process; a short expiry bounds how long a revoked token keeps working (well under a second)
 * without any cross-process signalling, and works the same for every store.
 */
export function createAppRegistry(deps: { store: Store; clock: Clock; ttlMs?: number; maxEntries?: number }): AppRegistry {
  const ttlMs = deps.ttlMs ?? 500
  const maxEntries = deps.maxEntries ?? 10_000
  const cache = new Map<string, { expiresAt: number; value: Promise<ResolvedApp | undefined> }>()
  const lastGood = new Map<string, { at: number; value: ResolvedApp | undefined }>()
  /** Last-used hour already written per token or key, so a busy one costs one write an hour. */
  const touched = new Map<string, number>()

  /** Writes a credential's coarse "last used" hour at most once an hour. */
  async function touchOnce(credential: string, lastUsedAt: number | null, touch: (hour: number) => Promise<void>): Promise<void> {
    const hour = Math.floor(deps.clock.now() / HOUR_MS) * HOUR_MS
    if ((touched.get(credential) ?? lastUsedAt ?? -1) < hour) {
      touched.set(credential, hour)
      if (touched.size > maxEntries) touched.clear()
      await touch(hour)
    }
  }

  async function loadToken(token: string): Promise<ResolvedApp | undefined> {
    const record = await deps.store.findToken(token)
    if (!record || record.revokedAt !== null) return undefined
    const app = await deps.store.getApp(record.appId)
    if (!app) return undefined
    await touchOnce(token, record.lastUsedAt, (hour) => deps.store.touchToken(token, hour))
    return { app, settings: resolveSettings(app.settings) }
  }

  async function loadTrackxKey(key: string): Promise<ResolvedApp | undefined> {
    // Only a well-formed TrackX key is looked up at all.
    if (secretKeyKindOf(key) !== 'trackx') return undefined
    const record = await deps.store.secretKeys.findByHash(hashSecretKey(key))
    if (!record || record.kind !== 'trackx' || record.revokedAt !== null || record.appId === null) return undefined
    const app = await deps.store.getApp(record.appId)
    if (!app) return undefined
    await touchOnce(key, record.lastUsedAt, (hour) => deps.store.secretKeys.touch(record.id, hour))
    return { app, settings: resolveSettings(app.settings) }
  }

  /** A credential's app, cached briefly; while the database is away its last answer stands in for a while. */
  function resolve(credential: string, load: (credential: string) => Promise<ResolvedApp | undefined>): Promise<ResolvedApp | undefined> {
    const now = deps.clock.now()
    const cached = cache.get(credential)
    if (cached && cached.expiresAt > now) return cached.value
    // Bounded: unknown credentials sent by a flood must not grow memory.
    if (cache.size >= maxEntries) cache.clear()
    const loaded = load(credential)
    // While the database is away (a restart, a failover), the last answer keeps serving for a while, so ingest
    // can go on into the writer, which holds it (store/createBatchWriter.ts); a revocation waits as long.
    const stale = lastGood.get(credential)
    const value =
      stale && now - stale.at < STALE_IF_UNAVAILABLE_MS ? loaded.catch((error: unknown) => (error instanceof StoreUnavailableError ? stale.value : Promise.reject(error))) : loaded
    cache.set(credential, { expiresAt: now + ttlMs, value })
    // Only an answer from the database is a last answer: a stand-in must not extend its own life.
    loaded.then(
      (resolved) => {
        lastGood.set(credential, { at: now, value: resolved })
        if (lastGood.size > maxEntries) lastGood.clear()
      },
      () => undefined,
    )
    // A failed lookup is not cached, but a newer entry for the same credential must survive.
    value.catch(() => cache.get(credential)?.value === value && cache.delete(credential))
    return value
  }

  return {
    resolveToken: (token) => resolve(token, loadToken),
    // Keys and tokens never look alike (`tacit_trackx_…`, `tc_…`): one cache serves both.
    resolveTrackxKey: (key) => resolve(key, loadTrackxKey),
    invalidate() {
      cache.clear()
      lastGood.clear()
    },
  }
}

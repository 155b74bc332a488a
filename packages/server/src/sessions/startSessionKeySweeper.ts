import type { SessionKeyStore } from './SessionKeyStore.js'

/**
 * Sweeps the session keys every minute, so salts and entries are destroyed on time even when no event
 * arrives to rotate them (DESIGN.md P3: within 48 h).
 */
export function startSessionKeySweeper(deps: {
  keys: SessionKeyStore
  intervalMs?: number
  onError?: (error: unknown) => void
}): { stop(): void } {
  const timer = setInterval(() => {
    deps.keys.sweep().catch((error: unknown) => deps.onError?.(error))
  }, deps.intervalMs ?? 60_000)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

import type { Clock } from '../clock.js'
import type { AnalyticsStore } from '../store/AnalyticsStore.js'

/**
 * The share of the event loop a rebuild may take: ingest keeps the rest whatever the size of the hour being
 * rebuilt (rebuilding costs ≈ 35–70 µs an event, and the current hour of a busy app holds hundreds of thousands).
 * A big hour's rebuild takes longer instead, so its rollups lag more (docs/ROLLUPS.md, "Limits").
 */
export const ROLLUP_SHARE = 0.1

/**
 * Rebuilds the rollups of the hours ingest changed (store.analytics.refreshRollups) every `intervalMs`, so the
 * dashboard's overview and performance views lag the raw events by at most about that much. Runs never overlap.
 */
export function startRollupJob(deps: {
  analytics: Pick<AnalyticsStore, 'refreshRollups'>
  /** Says which days are complete, so their daily rows can be built. */
  clock: Clock
  intervalMs?: number
  /** ROLLUP_SHARE unless given (tests run unpaced with 1). */
  share?: number
  onRun?: (result: { hours: number; days: number }) => void
  onError?: (error: unknown) => void
}): { stop(): Promise<void> } {
  let current: Promise<void> | undefined
  let stopped = false
  // A rebuild under way stops at its next step: a busy hour can take seconds, and shutdown must not wait for it.
  const stopping = new AbortController()
  const run = () => {
    if (current || stopped) return
    current = deps.analytics
      .refreshRollups({ now: deps.clock.now(), signal: stopping.signal, share: deps.share ?? ROLLUP_SHARE })
      .then((result) => deps.onRun?.(result), deps.onError)
      .finally(() => (current = undefined))
  }
  const timer = setInterval(run, deps.intervalMs ?? 10_000)
  timer.unref()
  // Once at start too: hours marked before a restart are rebuilt without waiting a period.
  run()
  return {
    async stop() {
      stopped = true
      stopping.abort()
      clearInterval(timer)
      await current
    },
  }
}

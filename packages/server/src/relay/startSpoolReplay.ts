import type { Logger } from 'pino'
import type { RelayMetrics } from './createRelayMetrics.js'
import type { RelaySpool } from './createRelaySpool.js'
import { UpstreamUnavailableError, type Upstream } from './createUpstream.js'

export interface SpoolReplay {
  /** Try now, even while waiting out a failure: a request just went through, so the upstream is back. */
  upstreamIsBack(): void
  /** Whether the last attempt to reach the upstream, by a replay or a request, succeeded. */
  upstreamUp(): boolean
  markUpstream(up: boolean): void
  /** Stops the loop; resolves when a replay under way has finished. */
  stop(): Promise<void>
}

/** Statuses after which a request may go through later: the upstream is away or busy, not refusing it. */
export function isRetryable(status: number): boolean {
  return status === 408 || status === 429 || status === 502 || status === 503 || status === 504
}

const FIRST_PAUSE_MS = 1000
const LONGEST_PAUSE_MS = 30_000

/**
 * Sends spooled requests again, oldest first, one at a time, while the upstream takes them. A delivered
 * request, or one the upstream refuses for good (a 4xx: an app deleted meanwhile, a token revoked), leaves the
 * spool; a failure keeps it and waits, longer each time up to 30 s (or the upstream's Retry-After).
 */
export function startSpoolReplay(deps: { spool: RelaySpool; upstream: Upstream; metrics: RelayMetrics; logger: Logger }): SpoolReplay {
  const { spool, upstream, metrics, logger } = deps
  let up = true
  let pause = FIRST_PAUSE_MS
  /** After a failure, no replay before this (ms since the epoch). */
  let notBefore = 0
  let running: Promise<void> | undefined
  let stopped = false

  function kick(): void {
    if (running || stopped || Date.now() < notBefore || spool.stats().entries === 0) return
    running = drain()
      .catch((error: unknown) => {
        // A spool that cannot be read (a disk error): said, and tried again later.
        logger.error({ error: error instanceof Error ? error.message : String(error) }, 'the spool could not be replayed')
        notBefore = Date.now() + LONGEST_PAUSE_MS
      })
      .finally(() => (running = undefined))
  }

  async function drain(): Promise<void> {
    for (;;) {
      if (stopped) return
      const entry = await spool.peek()
      if (!entry) return
      let wait: number | undefined
      try {
        const answer = await upstream.send({ method: 'POST', path: entry.request.path, headers: entry.request.headers, body: entry.request.body })
        up = answer.status < 500
        if (isRetryable(answer.status)) {
          metrics.replayed.inc({ outcome: 'failed' })
          wait = answer.retryAfter ? Number(answer.retryAfter) * 1000 : pause
        } else {
          await spool.remove(entry.id)
          metrics.replayed.inc({ outcome: answer.status < 400 ? 'delivered' : 'dropped' })
          if (answer.status >= 400) logger.warn({ status: answer.status }, 'the upstream refused a spooled request; it was dropped')
          pause = FIRST_PAUSE_MS
        }
      } catch (error) {
        if (!(error instanceof UpstreamUnavailableError)) throw error
        up = false
        metrics.replayed.inc({ outcome: 'failed' })
        wait = pause
      }
      if (wait !== undefined) {
        pause = Math.min(pause * 2, LONGEST_PAUSE_MS)
        notBefore = Date.now() + Math.min(wait, LONGEST_PAUSE_MS)
        return
      }
    }
  }

  // Whatever happens to the requests, the spool is looked at every so often.
  const interval = setInterval(kick, 250)
  interval.unref()
  kick()

  return {
    upstreamIsBack() {
      up = true
      pause = FIRST_PAUSE_MS
      notBefore = 0
      kick()
    },
    upstreamUp: () => up,
    markUpstream(value) {
      up = value
    },
    async stop() {
      stopped = true
      clearInterval(interval)
      await running
    },
  }
}

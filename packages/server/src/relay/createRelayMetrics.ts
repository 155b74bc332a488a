import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { RelaySpool } from './createRelaySpool.js'

/** The relay's Prometheus metrics. Labels are route patterns and closed enums only: never a token, address or URL. */
export interface RelayMetrics {
  registry: Registry
  requests: Counter<'route' | 'status'>
  /** Requests answered by the relay itself without forwarding, by reason (visitor_check, rate_limited, origin …). */
  refused: Counter<'reason'>
  forwardSeconds: Histogram
  spooled: Counter
  /** Spooled requests sent again: delivered, refused for good by the upstream (dropped), or failed (kept). */
  replayed: Counter<'outcome'>
}

export function createRelayMetrics(spool: RelaySpool, upstreamUp: () => boolean): RelayMetrics {
  const registry = new Registry()
  new Gauge({
    name: 'tacit_relay_spool_entries',
    help: 'Requests waiting in the spool',
    registers: [registry],
    collect() {
      this.set(spool.stats().entries)
    },
  })
  new Gauge({
    name: 'tacit_relay_spool_bytes',
    help: 'Bytes the spool holds',
    registers: [registry],
    collect() {
      this.set(spool.stats().bytes)
    },
  })
  new Gauge({
    name: 'tacit_relay_spool_max_bytes',
    help: 'The spool size limit',
    registers: [registry],
    collect() {
      this.set(spool.stats().maxBytes)
    },
  })
  new Gauge({
    name: 'tacit_relay_spool_discarded',
    help: 'Spool entries found unreadable and removed',
    registers: [registry],
    collect() {
      this.set(spool.discarded())
    },
  })
  new Gauge({
    name: 'tacit_relay_upstream_up',
    help: '1 when the last attempt to reach the upstream succeeded',
    registers: [registry],
    collect() {
      this.set(upstreamUp() ? 1 : 0)
    },
  })
  return {
    registry,
    requests: new Counter({ name: 'tacit_relay_requests_total', help: 'Requests, by route pattern and status', labelNames: ['route', 'status'], registers: [registry] }),
    refused: new Counter({ name: 'tacit_relay_refused_total', help: 'Requests refused by the relay itself, by reason', labelNames: ['reason'], registers: [registry] }),
    forwardSeconds: new Histogram({
      name: 'tacit_relay_forward_seconds',
      help: 'Time for the upstream to answer a forwarded request',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    spooled: new Counter({ name: 'tacit_relay_spooled_total', help: 'Requests written to the spool while the upstream was away', registers: [registry] }),
    replayed: new Counter({ name: 'tacit_relay_replayed_total', help: 'Spooled requests sent again, by outcome', labelNames: ['outcome'], registers: [registry] }),
  }
}

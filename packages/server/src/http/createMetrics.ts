import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Prometheus metrics. Labels are route patterns and closed enums only: never a URL, token or app name. */
export interface Metrics {
  registry: Registry
  eventsAccepted: Counter<'type'>
  eventsDropped: Counter<'reason'>
  fieldsStripped: Counter<'reason'>
  requests: Counter<'route' | 'status'>
  commitSeconds: Histogram
  writerQueueDepth: Gauge
}

export function createMetrics(readQueueDepth: () => number): Metrics {
  const registry = new Registry()
  return {
    registry,
    eventsAccepted: new Counter({ name: 'tacit_events_accepted_total', help: 'Events stored, by type', labelNames: ['type'], registers: [registry] }),
    eventsDropped: new Counter({ name: 'tacit_events_dropped_total', help: 'Events dropped, by reason', labelNames: ['reason'], registers: [registry] }),
    fieldsStripped: new Counter({
      name: 'tacit_fields_stripped_total',
      help: 'Events stored with fields removed by the privacy pipeline, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    requests: new Counter({ name: 'tacit_http_requests_total', help: 'HTTP requests, by route pattern and status', labelNames: ['route', 'status'], registers: [registry] }),
    commitSeconds: new Histogram({
      name: 'tacit_batch_commit_seconds',
      help: 'Time to commit one group of ingest batches',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    writerQueueDepth: new Gauge({
      name: 'tacit_writer_queue_depth',
      help: 'Events waiting for the batch writer',
      registers: [registry],
      collect() {
        this.set(readQueueDepth())
      },
    }),
  }
}

/**
 * What the browser benchmark compares: Tacit's two entries and the peers a site would otherwise install,
 * each as the tiny entry a site writes (import, init with its documented minimum, report one handled
 * error through the SDK's API). Entries post to `/sink/<key>` on the page's own origin, which the bench
 * server answers with 202, so every SDK runs its normal sending path and nothing fails.
 *
 * `window.__report(error)` is how the test page hands its handled error to the SDK; `window.__flush()`
 * (Tacit only) lets the idle check start with an empty queue.
 */
export interface BenchVariant {
  key: string
  /** The npm package the size row is named after (its version is read from node_modules). */
  pkg: string
  /** Source of the entry, bundled from the repository root; undefined for the page without an SDK. */
  entry?: string
  /** Loaded in Chromium for main-thread cost and idle timers (the size-only rows are not). */
  inPage: boolean
  /** What the SDK's own intake answers: trackx treats anything but 200 as a failure and retries. */
  sinkStatus?: number
  note: string
}

const SINK = (key: string) => `location.origin + '/sink/${key}'`

export const BENCH_VARIANTS: BenchVariant[] = [
  { key: 'baseline', pkg: '', inPage: true, note: 'the same page without an SDK' },
  {
    key: 'tacit',
    pkg: '@tacit/browser',
    note: 'full entry, default options (every collector, web-vitals included)',
    inPage: true,
    entry: `import { init } from './packages/browser/dist/index.js'
const tacit = init({ token: 'tc_bench', endpoint: ${SINK('tacit')} })
window.__report = (e) => tacit.addError(e)
window.__flush = () => tacit.flush()`,
  },
  {
    key: 'tacit_errors',
    pkg: '@tacit/browser/errors',
    note: 'errors-only entry',
    inPage: true,
    entry: `import { init } from './packages/browser/dist/errors.js'
const tacit = init({ token: 'tc_bench', endpoint: ${SINK('tacit_errors')} })
window.__report = (e) => tacit.addError(e)
window.__flush = () => tacit.flush()`,
  },
  {
    key: 'datadog',
    pkg: '@datadog/browser-rum',
    note: 'datadogRum.init with its defaults (views, actions, resources, long tasks; replay sample rate 0, its default)',
    inPage: true,
    entry: `import { datadogRum } from '@datadog/browser-rum'
datadogRum.init({ applicationId: '3f1e6a52-8c2b-4a5e-9d4f-1b2c3d4e5f60', clientToken: 'pub3f1e6a528c2b4a5e9d4f1b2c3d4e5f60', site: 'datadoghq.com', service: 'bench', env: 'bench', proxy: ${SINK('datadog')} })
window.__report = (e) => datadogRum.addError(e)`,
  },
  {
    key: 'datadog_slim',
    pkg: '@datadog/browser-rum-slim',
    note: 'the same init; the package without session replay',
    inPage: true,
    entry: `import { datadogRum } from '@datadog/browser-rum-slim'
datadogRum.init({ applicationId: '3f1e6a52-8c2b-4a5e-9d4f-1b2c3d4e5f60', clientToken: 'pub3f1e6a528c2b4a5e9d4f1b2c3d4e5f60', site: 'datadoghq.com', service: 'bench', env: 'bench', proxy: ${SINK('datadog_slim')} })
window.__report = (e) => datadogRum.addError(e)`,
  },
  {
    key: 'sentry',
    pkg: '@sentry/browser',
    note: 'errors only: Sentry.init({ dsn }) with its default integrations',
    inPage: true,
    sinkStatus: 200,
    entry: `import * as Sentry from '@sentry/browser'
Sentry.init({ dsn: location.protocol + '//3f1e6a528c2b4a5e9d4f1b2c3d4e5f60@' + location.host + '/sink/sentry/1' })
window.__report = (e) => Sentry.captureException(e)`,
  },
  {
    key: 'trackx',
    pkg: 'trackx',
    note: 'errors only: the default client (`trackx`), setup(endpoint)',
    inPage: true,
    sinkStatus: 200,
    entry: `import * as trackx from 'trackx'
trackx.setup(${SINK('trackx')})
window.__report = (e) => trackx.sendEvent(e)`,
  },
  {
    key: 'web_vitals',
    pkg: 'web-vitals',
    note: 'onLCP, onINP, onCLS, onFCP, onTTFB sending each metric with sendBeacon (size only)',
    inPage: false,
    entry: `import { onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals'
const send = (m) => navigator.sendBeacon(${SINK('web_vitals')}, JSON.stringify({ name: m.name, value: m.value, id: m.id }))
onLCP(send); onINP(send); onCLS(send); onFCP(send); onTTFB(send)`,
  },
]

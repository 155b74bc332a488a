import { onCLS, onFCP, onINP, onLCP, onTTFB, type Metric } from 'web-vitals'
import { guard } from '../core/guard.js'
import type { Collector } from '../core/types.js'
import { cssSelector } from '../privacy/cssSelector.js'

/**
 * The element a metric is about, read from its entries (web-vitals' attribution build does this too, for
 * 2.2 KB more gzipped): the LCP element, the INP interaction's target, and for CLS the first
 * element moved by the largest shift (web-vitals' own `largestShiftSource` choice).
 */
export function vitalTarget(metric: Metric): Element | undefined {
  const entries = metric.entries as Array<PerformanceEntry & { element?: Element | null; target?: Node | null; value?: number; sources?: Array<{ node: Node | null }> }>
  let node: Node | null | undefined
  if (metric.name === 'LCP') node = entries[entries.length - 1]?.element
  else if (metric.name === 'INP') node = entries.find((e) => e.target)?.target
  else if (metric.name === 'CLS') {
    const largest = entries.reduce<(typeof entries)[number] | undefined>((a, b) => (a && a.value! >= b.value! ? a : b), undefined)
    node = largest?.sources?.find((s) => s.node?.nodeType === 1)?.node
  }
  return node?.nodeType === 1 ? (node as Element) : undefined
}

/**
 * One `vital` event per Core Web Vital and page load: FCP and TTFB when known, LCP, CLS and INP with their
 * final values when the page is hidden. They belong to the view the page loaded with, even when an SPA
 * route change has started another view since.
 */
export const trackVitals: Collector = (sdk) => {
  if (sdk.options.trackVitals === false) return () => {}
  let on = true
  const initial = sdk.view()
  // Each metric is sent once: web-vitals reports CLS and INP again on a later hide if they grew after the tab
  // came back, but a view has one of each, like every other event. A page restored from the back/forward
  // cache gets new metric ids, and its values go to the view current then.
  const sent = new Set<string>()
  // Guarded: a throw here would surface as an uncaught error of the page, in web-vitals' observer callback.
  const send = guard((m: Metric) => {
    if (!on || sent.has(m.id)) return
    sent.add(m.id)
    const view = m.navigationType === 'back-forward-cache' ? sdk.view() : initial
    const el = vitalTarget(m)
    sdk.emit({
      type: 'vital',
      view: { id: view.id, url: view.url, referrer: view.referrer },
      vital: { name: m.name, value: m.name === 'CLS' ? Math.round(m.value * 1e4) / 1e4 : Math.round(m.value), rating: m.rating, target: el ? cssSelector(el) : undefined },
    })
  })
  // LCP, CLS and INP are followed as they change and sent when the page is hidden, after web-vitals' own
  // hide handlers (they capture on window; ours listen in the bubble phase). Without `reportAllChanges`,
  // web-vitals reports INP at hide only if it has already processed the interaction in an idle callback; one
  // still waiting for idle time (a click that navigates away; any interaction in headless Chromium, which
  // has no idle time) is processed just after that report, and lost.
  const latest = new Map<string, Metric>()
  const track = (m: Metric) => (m.name === 'FCP' || m.name === 'TTFB' ? send(m) : latest.set(m.name, m))
  for (const subscribe of [onLCP, onINP, onCLS, onFCP, onTTFB]) subscribe(track, { reportAllChanges: true })
  const flush = () => latest.forEach(send)
  // Leaving a page fires pagehide before visibilitychange: the SDK's hide hook (pagehide) sends what is known
  // then, and this listener, which runs before the transport's own, what web-vitals finishes on
  // visibilitychange (a pending INP); the transport sends the queue again right after.
  const onVisibility = () => document.visibilityState === 'hidden' && flush()
  addEventListener('visibilitychange', onVisibility)
  const offHide = sdk.onHide(flush)
  // web-vitals has no way to unsubscribe: `on` silences it.
  return () => {
    on = false
    offHide()
    removeEventListener('visibilitychange', onVisibility)
  }
}

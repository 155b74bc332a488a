import type { ResolvedOptions, RumEvent, Sdk, ViewState } from '../../src/core/types.js'

/**
 * A stand-in for the core, for collectors that depend on how it completes events: `emit` merges the current
 * view like startTacit's does, counts per view and tells `onEvent` listeners; view ids are `view-<n>`.
 * (collectorSdk.ts is the simpler one, for collectors that only emit.)
 */
export function fakeCoreSdk(options: Partial<ResolvedOptions>, referrer?: string) {
  const events: RumEvent[] = []
  const listeners = new Set<(event: RumEvent) => void>()
  const hideListeners = new Set<() => void>()
  let n = 0
  let view: ViewState = { id: 'view-0', url: location.href, referrer, start: Date.now(), counts: {} }
  const sdk: Sdk = {
    options: options as ResolvedOptions,
    now: () => Date.now(),
    randomId: () => `view-${++n}`,
    scrubUrl: (url) => url,
    view: () => view,
    startView(url) {
      view = { id: `view-${++n}`, url, referrer: view.url, start: Date.now(), counts: {} }
      return view
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    onHide(listener) {
      hideListeners.add(listener)
      return () => hideListeners.delete(listener)
    },
    emit(event) {
      const complete = { ...event, ts: event.ts ?? Date.now(), view: { id: view.id, url: view.url, ...event.view } }
      if (complete.type !== 'view') view.counts[complete.type] = (view.counts[complete.type] ?? 0) + 1
      events.push(complete)
      listeners.forEach((listener) => listener(complete))
    },
  }
  const ofType = (type: string) => events.filter((event) => event.type === type).map((event) => event[type] as Record<string, unknown>)
  return { sdk, events, ofType, hide: () => hideListeners.forEach((listener) => listener()) }
}

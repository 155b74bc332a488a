import { resolveOptions } from '../../src/core/resolveOptions.js'
import type { RumEvent, Sdk, TacitOptions, ViewState } from '../../src/core/types.js'
import { scrubUrl } from '../../src/privacy/scrubUrl.js'

/**
 * An Sdk for one collector under test: options resolved as `init` would, events collected in `events`
 * as the collector emitted them (before the core adds the common fields), views switched with `startView`,
 * `hide()` runs the collector's `onHide` listeners as the transport does when the page is hidden.
 */
export function collectorSdk(options: TacitOptions = {}, emit?: (event: RumEvent) => void) {
  const events: RumEvent[] = []
  let view: ViewState = { id: 'v1', url: 'https://shop.example/', start: 0, counts: {} }
  let n = 1
  const hideListeners = new Set<() => void>()
  const sdk: Sdk = {
    options: resolveOptions({ token: 'tc_x', endpoint: 'https://tacit.example', ...options })!,
    now: () => 1,
    randomId: () => 'id',
    emit: emit ?? ((event) => events.push(event)),
    view: () => view,
    startView(url) {
      view = { id: `v${++n}`, url, referrer: view.url, start: 0, counts: {} }
      return view
    },
    onEvent: () => () => {},
    onHide(listener) {
      hideListeners.add(listener)
      return () => hideListeners.delete(listener)
    },
    scrubUrl,
  }
  return { sdk, events, hide: () => hideListeners.forEach((fn) => fn()) }
}

import { guard } from '../core/guard.js'
import type { Collector, ViewState } from '../core/types.js'

interface TrackedView {
  state: ViewState
  loadingType: 'initial_load' | 'route_change'
  version: number
  timings?: Record<string, number>
  /** When a route change ended it: its time spent stops there, even if it is re-sent later. */
  end?: number
  /** The last update sent, without its version, so an identical one is not sent again. */
  sent?: string
}

/** Navigation timings of the page load, in ms from navigation start (the entry's startTime is 0). */
function navigationTimings(): Record<string, number> | undefined {
  const nav = performance.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined
  if (!nav) return undefined
  const timings: Record<string, number> = {}
  const add = (field: string, value: number) => value > 0 && (timings[field] = Math.round(value))
  add('first_byte', nav.responseStart)
  add('dom_interactive', nav.domInteractive)
  add('dom_content_loaded', nav.domContentLoadedEventEnd)
  add('dom_complete', nav.domComplete)
  add('load_event', nav.loadEventEnd)
  return timings
}

/**
 * Page views: the initial one (sent once the load event has ended, with navigation timings) and one per
 * SPA route change (`pushState`, `replaceState`, `popstate`, `hashchange` that change the URL). A view is
 * re-sent with a higher `version` as it progresses: when it starts, when a route change ends it, and when
 * the page is hidden. Beyond one task after the load event nothing runs on a timer: an idle page costs nothing.
 */
export const trackViews: Collector = (sdk) => {
  if (sdk.options.trackViews === false) return () => {}
  let stopped = false
  let href = location.href
  let current: TrackedView = { state: sdk.view(), loadingType: 'initial_load', version: 0 }
  /** The view the last route change ended: a click that caused it is emitted up to 100 ms later. */
  let previous: TrackedView | undefined
  let loadTimer: ReturnType<typeof setTimeout> | undefined

  function send(view: TrackedView): void {
    const { state } = view
    const c = state.counts
    const fields = {
      id: state.id,
      url: state.url,
      referrer: state.referrer,
      loading_type: view.loadingType,
      time_spent: (view.end ?? sdk.now()) - state.start,
      action_count: c.action ?? 0,
      error_count: c.error ?? 0,
      resource_count: c.resource ?? 0,
      long_task_count: c.long_task ?? 0,
      ...view.timings,
    }
    const json = JSON.stringify(fields)
    if (json === view.sent) return
    view.sent = json
    // Explicit view fields: the event is about this view, whichever view is current now.
    sdk.emit({ type: 'view', view: { ...fields, version: view.version++ } })
  }

  const checkUrl = guard(() => {
    if (stopped || location.href === href) return
    href = location.href
    current.end = sdk.now()
    send(current)
    previous = current
    current = { state: sdk.startView(href, 'route_change'), loadingType: 'route_change', version: 0 }
    send(current)
  })

  // loadEventEnd is set only once the load event's listeners have returned, hence the task after it.
  const onLoad = () => {
    loadTimer = setTimeout(
      guard(() => {
        if (current.loadingType !== 'initial_load') return
        current.timings = navigationTimings()
        send(current)
      }),
    )
  }
  if (document.readyState === 'complete') onLoad()
  else addEventListener('load', onLoad)

  const offHide = sdk.onHide(() => send(current))
  // The core counts every event on the current view; an event that belongs to the view the last route
  // change ended (the click that caused it) is counted there instead, and that view re-sent.
  const offEvent = sdk.onEvent((event) => {
    const type = event.type
    if (!previous || type === 'view' || event.view?.id !== previous.state.id || current.state !== sdk.view()) return
    const { counts } = current.state
    if (counts[type]) counts[type]--
    previous.state.counts[type] = (previous.state.counts[type] ?? 0) + 1
    send(previous)
  })

  const { pushState, replaceState } = history
  const wrap = (original: History['pushState']): History['pushState'] =>
    function (this: History, ...args) {
      const result = original.apply(this, args)
      checkUrl()
      return result
    }
  const wrappedPush = (history.pushState = wrap(pushState))
  const wrappedReplace = (history.replaceState = wrap(replaceState))
  addEventListener('popstate', checkUrl)
  addEventListener('hashchange', checkUrl)

  return () => {
    stopped = true
    clearTimeout(loadTimer)
    offHide()
    offEvent()
    removeEventListener('load', onLoad)
    removeEventListener('popstate', checkUrl)
    removeEventListener('hashchange', checkUrl)
    // Restore only if nobody wrapped them after us; otherwise ours stay in their chain, inert.
    if (history.pushState === wrappedPush) history.pushState = pushState
    if (history.replaceState === wrappedReplace) history.replaceState = replaceState
  }
}

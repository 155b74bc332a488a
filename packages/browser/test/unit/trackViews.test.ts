// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { trackViews } from '../../src/collectors/trackViews.js'
import { fakeCoreSdk } from './fakeCoreSdk.js'

function fakeSdk() {
  const fake = fakeCoreSdk({ trackViews: true }, 'https://search.example/')
  return { ...fake, views: () => fake.events.filter((event) => event.type === 'view').map((event) => event.view as Record<string, unknown>) }
}

const ORIGIN = 'http://localhost:3000'
const navigation = { responseStart: 120.4, domInteractive: 350.6, domContentLoadedEventEnd: 360.2, domComplete: 800.9, loadEventEnd: 805.1 }
const { pushState, replaceState } = history
let stop: (() => void) | undefined

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 })
  replaceState.call(history, null, '', '/home')
  vi.spyOn(performance, 'getEntriesByType').mockImplementation((type) => (type === 'navigation' ? [navigation as unknown as PerformanceEntry] : []))
})
afterEach(() => {
  stop?.()
  stop = undefined
  vi.useRealTimers()
  vi.restoreAllMocks()
})

function start() {
  const fake = fakeSdk()
  stop = trackViews(fake.sdk)
  return fake
}

describe('trackViews', () => {
  it('does nothing when trackViews is off', () => {
    const fake = fakeSdk()
    ;(fake.sdk.options as { trackViews: boolean }).trackViews = false
    trackViews(fake.sdk)()
    vi.advanceTimersByTime(10)
    history.pushState(null, '', '/elsewhere')
    expect(fake.events).toEqual([])
    expect(history.pushState).toBe(pushState)
  })

  it('sends the initial view after the load event, with navigation timings', () => {
    const { views } = start()
    expect(views()).toEqual([])
    vi.advanceTimersByTime(250)
    expect(views()).toEqual([
      {
        id: 'view-0', url: `${ORIGIN}/home`, referrer: 'https://search.example/', loading_type: 'initial_load', version: 0, time_spent: 0,
        action_count: 0, error_count: 0, resource_count: 0, long_task_count: 0,
        first_byte: 120, dom_interactive: 351, dom_content_loaded: 360, dom_complete: 801, load_event: 805,
      },
    ])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('waits for the load event when the page is still loading', () => {
    Object.defineProperty(document, 'readyState', { value: 'loading', configurable: true })
    try {
      const { views } = start()
      vi.advanceTimersByTime(100)
      expect(views()).toEqual([])
      dispatchEvent(new Event('load'))
      vi.advanceTimersByTime(0)
      expect(views()).toHaveLength(1)
      expect(views()[0]).toMatchObject({ load_event: 805, time_spent: 100 })
    } finally {
      delete (document as unknown as Record<string, unknown>).readyState
    }
  })

  it('starts a new view per route change, after a final update of the previous one', () => {
    const { sdk, views } = start()
    vi.advanceTimersByTime(1000)
    sdk.emit({ type: 'action', action: { type: 'click', name: 'Products' } })
    sdk.emit({ type: 'error', error: { message: 'x' } })
    history.pushState({}, '', '/products?page=2')
    expect(views().slice(1)).toEqual([
      expect.objectContaining({ id: 'view-0', url: `${ORIGIN}/home`, loading_type: 'initial_load', version: 1, time_spent: 1000, action_count: 1, error_count: 1, load_event: 805 }),
      { id: 'view-1', url: `${ORIGIN}/products?page=2`, referrer: `${ORIGIN}/home`, loading_type: 'route_change', version: 0, time_spent: 0, action_count: 0, error_count: 0, resource_count: 0, long_task_count: 0 },
    ])
    expect(sdk.view().id).toBe('view-1')

    vi.advanceTimersByTime(500)
    history.replaceState({}, '', '/products?page=2#reviews')
    expect(views().slice(3)).toEqual([
      expect.objectContaining({ id: 'view-1', version: 1, time_spent: 500 }),
      expect.objectContaining({ id: 'view-2', url: `${ORIGIN}/products?page=2#reviews`, loading_type: 'route_change', version: 0 }),
    ])
  })

  it('ignores history calls that keep the URL', () => {
    const { views } = start()
    vi.advanceTimersByTime(1)
    history.pushState({ step: 1 }, '')
    history.replaceState({ scroll: 10 }, '', '/home')
    expect(views()).toHaveLength(1)
  })

  it('follows popstate and hashchange', () => {
    const { views } = start()
    vi.advanceTimersByTime(1)
    pushState.call(history, null, '', '/back')
    dispatchEvent(new PopStateEvent('popstate'))
    vi.advanceTimersByTime(5)
    replaceState.call(history, null, '', '/back#faq')
    dispatchEvent(new HashChangeEvent('hashchange'))
    dispatchEvent(new PopStateEvent('popstate'))
    expect(views().map((view) => [view.id, view.url, view.version])).toEqual([
      ['view-0', `${ORIGIN}/home`, 0],
      ['view-0', `${ORIGIN}/home`, 1],
      ['view-1', `${ORIGIN}/back`, 0],
      ['view-1', `${ORIGIN}/back`, 1],
      ['view-2', `${ORIGIN}/back#faq`, 0],
    ])
  })

  it('moves a late event of the previous view (the click that changed the route) to that view', () => {
    const { sdk, views } = start()
    vi.advanceTimersByTime(1)
    history.pushState(null, '', '/next')
    vi.advanceTimersByTime(100)
    sdk.emit({ type: 'action', view: { id: 'view-0', url: `${ORIGIN}/home` }, action: { type: 'click', name: 'Next' } })
    expect(views().at(-1)).toMatchObject({ id: 'view-0', version: 2, action_count: 1, time_spent: 1 })
    expect(sdk.view().counts.action).toBe(0)
    sdk.emit({ type: 'action', action: { type: 'click', name: 'Other' } })
    expect(views()).toHaveLength(4)
    expect(sdk.view().counts.action).toBe(1)
  })

  it('updates the current view on page hide, without re-sending an identical update', () => {
    const { sdk, views, hide } = start()
    vi.advanceTimersByTime(2000)
    sdk.emit({ type: 'resource', resource: {} })
    sdk.emit({ type: 'long_task', long_task: {} })
    hide()
    hide()
    expect(views()).toHaveLength(2)
    expect(views()[1]).toMatchObject({ id: 'view-0', version: 1, time_spent: 2000, resource_count: 1, long_task_count: 1 })
  })

  it('stop restores history methods and removes every listener and timer', () => {
    const { views, hide } = start()
    expect(history.pushState).not.toBe(pushState)
    stop!()
    stop = undefined
    expect(history.pushState).toBe(pushState)
    expect(history.replaceState).toBe(replaceState)
    expect(vi.getTimerCount()).toBe(0)
    history.pushState(null, '', '/after')
    dispatchEvent(new HashChangeEvent('hashchange'))
    hide()
    vi.advanceTimersByTime(100)
    expect(views()).toEqual([])
  })

  it('leaves a later wrapper in place on stop, its own wrapper becoming inert', () => {
    const { views } = start()
    const ours = history.pushState
    const theirs = function (this: History, ...args: Parameters<History['pushState']>) {
      return ours.apply(this, args)
    }
    history.pushState = theirs
    stop!()
    stop = undefined
    expect(history.pushState).toBe(theirs)
    history.pushState(null, '', '/later')
    expect(location.pathname).toBe('/later')
    expect(views()).toEqual([])
    history.pushState = pushState
  })
})

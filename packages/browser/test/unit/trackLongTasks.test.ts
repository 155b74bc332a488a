// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { trackLongTasks } from '../../src/collectors/trackLongTasks.js'
import { collectorSdk } from './collectorSdk.js'
import { fakePerformanceObserver } from './fakePerformanceObserver.js'

const script = (duration: number, more: object = {}) => ({
  duration,
  sourceURL: 'https://shop.example/app.js?session=abc',
  sourceFunctionName: 'renderCart',
  invoker: 'BUTTON#buy.onclick',
  invokerType: 'event-listener',
  ...more,
})

describe('trackLongTasks', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('prefers Long Animation Frames and names the longest script', () => {
    const observers = fakePerformanceObserver(['longtask', 'long-animation-frame'])
    const { sdk, events } = collectorSdk()
    const stop = trackLongTasks(sdk)
    expect(observers[0]!.options).toEqual({ type: 'long-animation-frame', buffered: true })
    observers[0]!.feed([
      {
        entryType: 'long-animation-frame',
        startTime: 10,
        duration: 180.4,
        blockingDuration: 120.6,
        scripts: [script(20, { sourceFunctionName: 'small' }), script(140), script(5, { sourceFunctionName: 'tiny' })],
      },
    ])
    expect(events).toEqual([
      {
        type: 'long_task',
        ts: Math.round(performance.timeOrigin + 10),
        long_task: {
          duration: 180,
          type: 'long-animation-frame',
          blocking_duration: 121,
          script_url: 'https://shop.example/app.js?session=[secret]',
          script_function: 'renderCart',
          invoker: 'BUTTON#buy.onclick',
          invoker_type: 'event-listener',
        },
      },
    ])
    stop()
    expect(observers[0]!.disconnected).toBe(true)
  })

  it("scrubs a script invoker, which is the script's URL", () => {
    const observers = fakePerformanceObserver(['long-animation-frame'])
    const { sdk, events } = collectorSdk()
    trackLongTasks(sdk)
    observers[0]!.feed([{ startTime: 0, duration: 60, blockingDuration: 10, scripts: [script(55, { sourceFunctionName: '', invoker: 'https://shop.example/boot.js?token=x', invokerType: 'classic-script' })] }])
    expect(JSON.parse(JSON.stringify(events[0]!.long_task))).toEqual({
      duration: 60,
      type: 'long-animation-frame',
      blocking_duration: 10,
      script_url: 'https://shop.example/app.js?session=[secret]',
      invoker: 'https://shop.example/boot.js?token=[secret]',
      invoker_type: 'classic-script',
    })
  })

  it('reports frames without scripts, and ignores those under 50 ms', () => {
    const observers = fakePerformanceObserver(['long-animation-frame'])
    const { sdk, events } = collectorSdk()
    trackLongTasks(sdk)
    observers[0]!.feed([
      { startTime: 0, duration: 49.9, blockingDuration: 0, scripts: [] },
      { startTime: 0, duration: 75, blockingDuration: 0, scripts: [] },
    ])
    expect(JSON.parse(JSON.stringify(events.map((e) => e.long_task)))).toEqual([{ duration: 75, type: 'long-animation-frame', blocking_duration: 0 }])
  })

  it('falls back to longtask entries, with the duration only', () => {
    const observers = fakePerformanceObserver(['longtask'])
    const { sdk, events } = collectorSdk()
    trackLongTasks(sdk)
    expect(observers[0]!.options).toEqual({ type: 'longtask', buffered: true })
    observers[0]!.feed([{ entryType: 'longtask', startTime: 5, duration: 64.2 }])
    expect(JSON.parse(JSON.stringify(events.map((e) => e.long_task)))).toEqual([{ duration: 64, type: 'longtask' }])
  })

  it('does nothing when turned off or unsupported', () => {
    const observers = fakePerformanceObserver(['long-animation-frame'])
    trackLongTasks(collectorSdk({ trackLongTasks: false }).sdk)()
    fakePerformanceObserver(['resource'])
    trackLongTasks(collectorSdk().sdk)()
    vi.stubGlobal('PerformanceObserver', undefined)
    trackLongTasks(collectorSdk().sdk)()
    expect(observers).toEqual([])
  })
})

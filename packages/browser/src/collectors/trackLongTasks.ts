import { guard } from '../core/guard.js'
import type { Collector } from '../core/types.js'

/** The parts of a Long Animation Frame entry used here (not yet in TypeScript's DOM types). */
interface Script {
  duration: number
  sourceURL: string
  sourceFunctionName: string
  invoker: string
  invokerType: string
}
interface Frame extends PerformanceEntry {
  blockingDuration?: number
  scripts?: Script[]
}

/**
 * One `long_task` event per frame or task of 50 ms or more. Long Animation Frames (Chromium 123+) say which
 * script was to blame, so they are preferred; elsewhere the older `longtask` entries give the duration only.
 * https://developer.chrome.com/docs/web-platform/long-animation-frames
 */
export const trackLongTasks: Collector = (sdk) => {
  const types = globalThis.PerformanceObserver?.supportedEntryTypes ?? []
  const type = types.includes('long-animation-frame') ? 'long-animation-frame' : 'longtask'
  if (sdk.options.trackLongTasks === false || !types.includes(type)) return () => {}
  const observer = new PerformanceObserver(guard((list: PerformanceObserverEntryList) => {
    for (const e of list.getEntries() as Frame[]) {
      if (e.duration < 50) continue
      const script = e.scripts?.reduce<Script | undefined>((a, b) => (a && a.duration >= b.duration ? a : b), undefined)
      sdk.emit({
        type: 'long_task',
        ts: Math.round(performance.timeOrigin + e.startTime),
        long_task: {
          duration: Math.round(e.duration),
          type,
          blocking_duration: e.blockingDuration === undefined ? undefined : Math.round(e.blockingDuration),
          script_url: script?.sourceURL ? sdk.scrubUrl(script.sourceURL) : undefined,
          script_function: script?.sourceFunctionName || undefined,
          // The invoker is the script's own URL when it ran as a whole (`classic-script`, `module-script`).
          invoker: script?.invoker ? sdk.scrubUrl(script.invoker) : undefined,
          invoker_type: script?.invokerType || undefined,
        },
      })
    }
  }))
  observer.observe({ type, buffered: true })
  return () => observer.disconnect()
}

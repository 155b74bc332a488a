import { vi } from 'vitest'

/**
 * Replaces PerformanceObserver with one the test feeds by hand (happy-dom has Node's, which sees Node's own
 * entries). Returns the observers created, each with what it observes and a `feed(entries)`.
 */
export function fakePerformanceObserver(supportedEntryTypes: string[]) {
  const observers: Array<{ options?: PerformanceObserverInit; disconnected: boolean; feed(entries: object[]): void }> = []
  const Fake = function (this: unknown, callback: PerformanceObserverCallback) {
    const observer = {
      options: undefined as PerformanceObserverInit | undefined,
      disconnected: false,
      feed: (entries: object[]) => callback({ getEntries: () => entries } as PerformanceObserverEntryList, observer as unknown as PerformanceObserver),
      observe(options: PerformanceObserverInit) {
        observer.options = options
      },
      disconnect() {
        observer.disconnected = true
      },
    }
    observers.push(observer)
    return observer
  } as unknown as typeof PerformanceObserver
  Object.defineProperty(Fake, 'supportedEntryTypes', { value: supportedEntryTypes })
  vi.stubGlobal('PerformanceObserver', Fake)
  return observers
}

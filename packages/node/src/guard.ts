/**
 * Wraps a function so nothing it throws reaches the host: the SDK must never break the service it reports
 * on. Errors inside the SDK are swallowed (reporting them would be a loop).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function guard<F extends (...args: any[]) => any>(fn: F): (...args: Parameters<F>) => ReturnType<F> | undefined {
  return (...args) => {
    try {
      return fn(...args)
    } catch {
      return undefined
    }
  }
}

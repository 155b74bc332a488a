import { describeError } from '../core/startTacit.js'
import { guard } from '../core/guard.js'
import type { Collector } from '../core/types.js'

/**
 * Uncaught errors, unhandled promise rejections and, with `trackConsoleErrors`, `console.error` calls.
 * Kept tiny: it is most of the errors-only entry (3 KB budget with the core and transport).
 */
export const trackErrors: Collector = (sdk) => {
  if (sdk.options.trackErrors === false) return () => {}
  let on = true
  let busy = false
  // The same Error object often arrives twice (logged with console.error, then rethrown; or rejected, then
  // rethrown from a handler): only the first sighting is reported.
  const seen = new WeakSet<object>()

  const report = (error: ReturnType<typeof describeError>, thrown: unknown, source: string, handled = false) => {
    // `busy` stops a loop when something the SDK calls while emitting (beforeSend, a listener) logs an error.
    if (!on || busy || seen.has(thrown as object)) return
    if (thrown && typeof thrown == 'object') seen.add(thrown)
    busy = true
    try {
      sdk.emit({ type: 'error', error: { ...error, handled, source } })
    } finally {
      busy = false
    }
  }

  // Listeners are guarded: one that throws would itself be reported as an error of the page.
  const onError = guard((e: ErrorEvent) => {
    // `error` is null for a cross-origin script loaded without CORS: "Script error.", no stack. Still reported,
    // so the site learns that script needs `crossorigin`. Thrown non-Errors (`throw 'x'`) have no stack either.
    report(describeError(e.error ?? (e.message || 'Script error.')), e.error, 'source')
  })

  const onRejection = guard((e: PromiseRejectionEvent) => {
    const d = describeError(e.reason)
    // An Error keeps its own message, so it groups with the same error thrown synchronously; anything else
    // (`reject('nope')`, `reject({ code: 1 })`) says where it came from.
    if (!d.type) d.message = `Unhandled promise rejection: ${d.message}`.slice(0, 8192)
    report(d, e.reason, 'source')
  })

  addEventListener('error', onError)
  addEventListener('unhandledrejection', onRejection)

  const original = console.error
  const wrapped = function (this: unknown, ...args: unknown[]) {
    guard(() => {
      const err = args.find((a) => a instanceof Error)
      const message = describeError(args.map((a) => (typeof a == 'string' ? a : describeError(a).message)).join(' ')).message
      if (message) report({ ...(err && describeError(err)), message }, err, 'console', true)
    })()
    return original.apply(this, args)
  }
  if (sdk.options.trackConsoleErrors) console.error = wrapped

  return () => {
    on = false
    removeEventListener('error', onError)
    removeEventListener('unhandledrejection', onRejection)
    // Someone may have wrapped our wrapper since: then it stays and, with `on` false, only passes through.
    if (console.error === wrapped) console.error = original
  }
}

export type ErrorOrigin = 'uncaughtException' | 'unhandledRejection'

export interface ProcessErrorOptions {
  captureUncaught: boolean
  captureRejections: boolean
  /**
   * Called with what was thrown or rejected. `fatal` is true when Node will print the error and end the
   * process as soon as this returns (nothing else handles it): the report must be delivered synchronously.
   */
  report(thrown: unknown, origin: ErrorOrigin, fatal: boolean): void
}

// Modes in which Node never turns an unhandled rejection into an uncaught exception, listener or not
// (https://nodejs.org/api/cli.html#--unhandled-rejectionsmode). Set through NODE_OPTIONS they are not
// visible here; see trackProcessErrors.
const NON_THROWING_MODES = new Set(['warn', 'none', 'warn-with-error-code'])

/**
 * Reports uncaught exceptions and unhandled rejections without changing what the process does with them.
 *
 * - `uncaughtExceptionMonitor` sees every uncaught exception before Node's own handling, and — in Node's
 *   default `--unhandled-rejections=throw` mode — every unhandled rejection that was raised as one. Unlike an
 *   `uncaughtException` listener it does not stop Node from printing the error (with its source line) and
 *   exiting with code 1, and when the application has its own `uncaughtException` listeners they decide,
 *   as before.
 * - An `unhandledRejection` listener of ours would change the default mode: Node raises a rejection as an
 *   uncaught exception only when nobody listens. So one is attached only while it changes nothing — while
 *   the application listens itself, or when the mode given on the command line never raises.
 *
 * Returns a function that removes every listener it added.
 */
export function trackProcessErrors(o: ProcessErrorOptions): () => void {
  const stops: Array<() => void> = []

  if (o.captureUncaught || o.captureRejections) {
    const monitor = (error: unknown, origin: ErrorOrigin) => {
      if (origin === 'unhandledRejection' ? !o.captureRejections : !o.captureUncaught) return
      const fatal = process.listenerCount('uncaughtException') === 0 && !process.hasUncaughtExceptionCaptureCallback()
      o.report(error, origin, fatal)
    }
    process.on('uncaughtExceptionMonitor', monitor)
    stops.push(() => process.off('uncaughtExceptionMonitor', monitor))
  }

  if (o.captureRejections) {
    const nonThrowing = NON_THROWING_MODES.has(unhandledRejectionsMode(process.execArgv) ?? 'throw')
    const recorder = (reason: unknown) => o.report(reason, 'unhandledRejection', false)
    let attached = false
    const attach = (want: boolean) => {
      if (want === attached) return
      attached = want
      if (want) process.on('unhandledRejection', recorder)
      else process.off('unhandledRejection', recorder)
    }
    const others = () => process.listeners('unhandledRejection').filter((listener) => listener !== recorder).length
    // 'newListener' fires before the application's listener is added: ours goes first, which is harmless.
    const onNew = (event: string | symbol, listener: unknown) => {
      if (event === 'unhandledRejection' && listener !== recorder) attach(true)
    }
    const onRemoved = (event: string | symbol) => {
      if (event === 'unhandledRejection') attach(nonThrowing || others() > 0)
    }
    attach(nonThrowing || others() > 0)
    process.on('newListener', onNew)
    process.on('removeListener', onRemoved)
    stops.push(() => {
      process.off('newListener', onNew)
      process.off('removeListener', onRemoved)
      attach(false)
    })
  }

  return () => stops.splice(0).forEach((stop) => stop())
}

/** `--unhandled-rejections=mode` or `--unhandled-rejections mode`, the last one winning as in Node. */
export function unhandledRejectionsMode(execArgv: readonly string[]): string | undefined {
  let mode: string | undefined
  execArgv.forEach((arg, i) => {
    if (arg.startsWith('--unhandled-rejections=')) mode = arg.slice('--unhandled-rejections='.length)
    else if (arg === '--unhandled-rejections') mode = execArgv[i + 1]
  })
  return mode
}

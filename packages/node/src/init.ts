import { createClient, type ProcessHooks } from './createClient.js'
import type { Post } from './createTransport.js'
import { sendSync } from './sendSync.js'
import { trackProcessErrors } from './trackProcessErrors.js'
import type { Context, TacitNodeClient, TacitNodeOptions } from './types.js'
import { VERSION } from './version.js'

let current: TacitNodeClient | undefined

/**
 * Starts the SDK: from now on uncaught exceptions and unhandled rejections are reported, and the returned
 * client (also reachable through this module's `captureException`, `captureMessage`, `flush` and `close`)
 * reports what the application hands it. Calling `init` again replaces the previous client, which stops
 * capturing and sends what it still holds. Never throws: with a missing token or endpoint it does nothing.
 */
export function init(options: TacitNodeOptions): TacitNodeClient {
  void current?.close()
  current = createClient(options, {
    post: createPost(),
    now: () => Date.now(),
    setTimer: (fn, ms, keepAlive = false) => {
      const timer = setTimeout(fn, ms)
      if (!keepAlive) timer.unref()
      return timer
    },
    clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout> | undefined),
    sendSync,
    trackProcess,
    userAgent: userAgent(),
    warn: (message) => process.stderr.write(`${message}\n`),
  })
  return current
}

/** Reports a handled error through the client of the last `init` (nothing before it). */
export function captureException(error: unknown, context?: Context): void {
  current?.captureException(error, context)
}

/** Reports a message through the client of the last `init`. */
export function captureMessage(message: string, context?: Context): void {
  current?.captureMessage(message, context)
}

/** `flush` of the client of the last `init`; `true` at once when there is none. */
export function flush(timeoutMs?: number): Promise<boolean> {
  return current ? current.flush(timeoutMs) : Promise.resolve(true)
}

/** `close` of the client of the last `init`; `true` at once when there is none. */
export function close(timeoutMs?: number): Promise<boolean> {
  const client = current
  current = undefined
  return client ? client.close(timeoutMs) : Promise.resolve(true)
}

/**
 * `tacit-node/0.1.0 node/20.20.0 linux`: names the SDK and nothing about the host beyond the runtime and
 * OS family. It does not claim to be a browser, which is what lets it through the server's bot filter
 * (packages/server/src/pipeline/stages/dropBots.ts), and it names no crawler.
 */
export function userAgent(): string {
  return `tacit-node/${VERSION} node/${process.versions.node} ${process.platform}`
}

/** Global fetch, taken once: wrappers other code puts on `fetch` later do not see (or trace) our requests. */
function createPost(): Post {
  const fetchFn = globalThis.fetch
  return async (url, init) => {
    const response = await fetchFn(url, init)
    // Read to the end (it is a small JSON answer), so the connection goes back to the pool.
    await response.arrayBuffer().catch(() => undefined)
    return response
  }
}

function trackProcess(hooks: ProcessHooks): () => void {
  const stopErrors = trackProcessErrors(hooks)
  const beforeExit = () => hooks.beforeExit()
  const exit = () => hooks.exit()
  process.on('beforeExit', beforeExit)
  process.on('exit', exit)
  return () => {
    stopErrors()
    process.off('beforeExit', beforeExit)
    process.off('exit', exit)
  }
}

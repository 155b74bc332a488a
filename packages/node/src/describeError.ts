/** The wire caps (docs/PROTOCOL.md): longer strings would be truncated by the server anyway. */
export const MESSAGE_CAP = 8192
export const STACK_CAP = 32768
const TYPE_CAP = 256

export interface ErrorDescription {
  message: string
  type?: string
  stack?: string
}

/**
 * Message, type and raw stack of anything thrown or rejected (the server parses stacks). Only the error's
 * own message, name and stack are read: not `cause`, `code`, `path` or other properties a Node error may
 * carry, which can hold file paths or request data the application did not choose to send.
 */
export function describeError(error: unknown): ErrorDescription {
  if (error instanceof Error || (error !== null && typeof error === 'object' && 'message' in error)) {
    const e = error as Error
    const name = typeof e.name === 'string' ? e.name : ''
    // `class DbError extends Error {}` keeps `name` "Error" unless the class sets it: its constructor's name
    // says more in an issue's title (Node's own printer does the same).
    const ctor = error instanceof Error ? (error.constructor as { name?: unknown } | undefined)?.name : undefined
    const type = (name === 'Error' && typeof ctor === 'string' && ctor !== '' && ctor !== 'Error' ? ctor : name).slice(0, TYPE_CAP)
    const message = safeString(e.message).slice(0, MESSAGE_CAP) || type || 'Error'
    const stack = typeof e.stack === 'string' ? e.stack.slice(0, STACK_CAP) : undefined
    return { message, ...(type ? { type } : {}), ...(stack ? { stack } : {}) }
  }
  let message: string
  try {
    message = typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error))
  } catch {
    // Circular objects, BigInts.
    message = safeString(error)
  }
  return { message: message.slice(0, MESSAGE_CAP) || 'Unknown error' }
}

/** String() that cannot throw (objects with a throwing toString, Symbols in templates, null prototypes). */
function safeString(value: unknown): string {
  try {
    return String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

// Node's wrapper for a rejection with a non-Error, raised as an uncaught exception in the default mode
// (lib/internal/process/promises.js). It keeps only a short form of the value in its message, and its
// stack holds only Node's internal frames, which would group every such rejection into one issue.
const NODE_REJECTION_REASON = /The promise rejected with the reason "([\s\S]*)"\.$/

/**
 * An unhandled rejection's reason: an Error keeps its own message, so it groups with the same error thrown
 * synchronously; anything else (`reject('nope')`, `reject({ code: 1 })`) says where it came from, as in the
 * browser SDK. `reason` is either the raw value (from an `unhandledRejection` listener) or Node's wrapper of it
 * (from `uncaughtExceptionMonitor`).
 */
export function describeRejection(reason: unknown): ErrorDescription {
  if (reason instanceof Error && (reason as { code?: unknown }).code === 'ERR_UNHANDLED_REJECTION') {
    const value = NODE_REJECTION_REASON.exec(reason.message)?.[1]
    if (value !== undefined) return { message: `Unhandled promise rejection: ${value}`.slice(0, MESSAGE_CAP) }
  }
  const description = describeError(reason)
  if (!description.type) description.message = `Unhandled promise rejection: ${description.message}`.slice(0, MESSAGE_CAP)
  return description
}

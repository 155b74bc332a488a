import { guard } from '../core/guard.js'
import type { Collector } from '../core/types.js'
import { withoutQuery } from './trackResources.js'

const hex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => (b + 0x100).toString(16).slice(1)).join('')

/** A W3C Trace Context header value for a new, sampled trace: https://www.w3.org/TR/trace-context/#traceparent-header */
export function traceparent(): string {
  return `00-${hex(16)}-${hex(8)}-01`
}

/**
 * Whether a request to `url` gets a `traceparent`: its absolute URL starts with a listed string or matches a
 * listed RegExp, and it is not the SDK's own endpoint (`own`, without query).
 */
export function isTraced(url: string, allowed: Array<string | RegExp>, own: string): boolean {
  const absolute = new URL(url, document.baseURI).href
  // `search` ignores a global RegExp's lastIndex, which would make `test` alternate between calls.
  return withoutQuery(absolute) !== own && allowed.some((p) => (typeof p === 'string' ? absolute.startsWith(p) : absolute.search(p) >= 0))
}

type Method = (this: unknown, ...args: unknown[]) => unknown

/**
 * Adds `traceparent` to the page's fetch and XHR requests to `allowedTracingUrls`, so a backend's traces can
 * be joined to the page. Off unless the site lists URLs: every other request is left exactly as it was.
 */
export const traceContext: Collector = (sdk) => {
  const allowed = sdk.options.allowedTracingUrls || []
  if (!allowed.length) return () => {}
  let on = true
  const own = withoutQuery(sdk.options.url)
  const traced = guard((url: string) => on && isTraced(url, allowed, own))
  const restores: Array<() => void> = []

  /** Wraps `target[name]` so `change` may edit the arguments first; whatever `change` throws is swallowed. */
  function patch<T>(target: T, name: string, change: (self: T, args: unknown[]) => unknown): void {
    const methods = target as Record<string, Method>
    const original = methods[name]
    if (typeof original !== 'function') return
    const wrapper: Method = function (...args) {
      guard(change)(this as T, args)
      return original.apply(this, args)
    }
    methods[name] = wrapper
    // Put back only what is still ours: a wrapper someone added since keeps working, ours then passes through.
    restores.push(() => methods[name] === wrapper && (methods[name] = original))
  }

  patch(window, 'fetch', (_, args) => {
    const [input, init] = args as [RequestInfo | URL, RequestInit | undefined]
    const request = input instanceof Request ? input : undefined
    // A non-plain `init` (a Request passed as init, say) would lose its getters when copied: left alone.
    if (traced(request ? request.url : String(input)) && (!init || Object.getPrototypeOf(init) === Object.prototype)) {
      // `init.headers` replaces a Request's own headers, so they are the base when given.
      const headers = new Headers(init?.headers ?? request?.headers)
      if (!headers.has('traceparent')) headers.set('traceparent', traceparent())
      args[1] = { ...init, headers }
    }
  })

  const urls = new WeakMap<XMLHttpRequest, string>()
  const xhr = (self.XMLHttpRequest?.prototype ?? {}) as XMLHttpRequest
  patch(xhr, 'open', (request, args) => urls.set(request, String(args[1])))
  // Set at send, after the app's own headers (XHR cannot tell whether it set one: a second would join it).
  patch(xhr, 'send', (request) => urls.has(request) && traced(urls.get(request)!) && request.setRequestHeader('traceparent', traceparent()))

  return () => {
    on = false
    restores.forEach((restore) => restore())
  }
}

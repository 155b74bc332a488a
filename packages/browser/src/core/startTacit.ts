import { createTransport } from './createTransport.js'
import { guard } from './guard.js'
import { randomId } from './randomId.js'
import { resolveOptions } from './resolveOptions.js'
import type { Collector, Consent, RumEvent, Sdk, TacitApi, TacitOptions, ViewState } from './types.js'
import { scrubUrl } from '../privacy/scrubUrl.js'

/** The fields `beforeSend` may change; anything else it touches is ignored (DESIGN.md §3.9). */
const EDITABLE: Array<[string, string]> = [
  ['view', 'url'], ['view', 'referrer'], ['view', 'name'], ['error', 'message'], ['error', 'stack'],
  ['action', 'name'], ['resource', 'url'], ['report', 'body'],
]

const NOOP_API: TacitApi = { addAction() {}, addError() {}, addEvent() {}, setContext() {}, setUser() {}, setTrackingConsent() {}, flush() {}, stop() {} }

/**
 * Wires one SDK instance: options → sampling → consent → collectors → transport. Both entries (the full
 * SDK and the errors-only one) call this with their own list of collectors, so the bundler keeps only what
 * an entry uses.
 */
export function startTacit(input: TacitOptions, collectors: Collector[]): TacitApi {
  const options = resolveOptions(input)
  // Sampling is decided once per page load: with no stored state there is nothing to decide per visitor.
  // Without a document (server-side rendering) there is nothing to measure.
  if (!options || typeof document == 'undefined' || Math.random() * 100 >= options.sampleRate) return NOOP_API

  let consent: Consent = input.trackingConsent ?? 'granted'
  let context: Record<string, unknown> | undefined
  let user: Record<string, unknown> | undefined
  let stops: Array<() => void> = []
  const eventListeners = new Set<(event: RumEvent) => void>()
  const hideListeners = new Set<() => void>()
  const now = () => Date.now()
  const transport = createTransport({ url: options.url, sameOriginCredentials: !!options.proxy, now, onBeforeHideFlush: () => hideListeners.forEach((fn) => guard(fn)()) })

  let view: ViewState = newView(location.href, document.referrer)

  function newView(url: string, referrer?: string): ViewState {
    return { id: randomId(), url: scrubUrl(url), referrer: referrer ? scrubUrl(referrer) : undefined, start: now(), counts: {} }
  }

  const sdk: Sdk = {
    options,
    now,
    randomId,
    scrubUrl,
    view: () => view,
    startView(url) {
      view = newView(url, view.url)
      return view
    },
    onEvent(listener) {
      eventListeners.add(listener)
      return () => eventListeners.delete(listener)
    },
    onHide(listener) {
      hideListeners.add(listener)
      return () => hideListeners.delete(listener)
    },
    emit(event) {
      if (consent !== 'granted') return
      const complete: RumEvent = {
        ...event,
        ts: event.ts ?? now(),
        view: { id: view.id, url: view.url, ...(view.referrer ? { referrer: view.referrer } : {}), ...event.view },
      }
      if (options.service) complete.service = options.service
      if (options.env) complete.env = options.env
      if (options.release) complete.release = options.release
      if (context || event.context) complete.context = { ...context, ...event.context }
      if (user) complete.usr = user
      const final = applyBeforeSend(complete)
      if (!final) return
      if (final.type !== 'view') view.counts[final.type] = (view.counts[final.type] ?? 0) + 1
      eventListeners.forEach((fn) => guard(fn)(final))
      transport.push(final)
    },
  }

  function applyBeforeSend(event: RumEvent): RumEvent | undefined {
    if (!options!.beforeSend) return event
    const copy = JSON.parse(JSON.stringify(event)) as RumEvent
    const result = guard(options!.beforeSend)(copy)
    if (result === false) return undefined
    const edited = (result || copy) as Record<string, Record<string, unknown> | undefined>
    for (const [group, field] of EDITABLE) {
      const target = event[group] as Record<string, unknown> | undefined
      const value = edited[group]?.[field]
      if (target && value !== undefined && (typeof value === 'string' || field === 'body')) target[field] = value
    }
    if (edited.context && typeof edited.context === 'object') event.context = edited.context
    return event
  }

  function startCollecting(): void {
    if (stops.length > 0) return
    stops = collectors.map((collector) => guard(collector)(sdk) ?? (() => {}))
    // Registered after the collectors' own listeners, so their final values (vitals, the view's time spent)
    // are in the queue when it is sent on page hide.
    stops.push(transport.start())
  }

  function stopCollecting(): void {
    stops.forEach((stop) => guard(stop)())
    stops = []
  }

  if (consent === 'granted') startCollecting()

  const api: TacitApi = {
    addAction: guard((name: string, ctx?: Record<string, unknown>) => sdk.emit({ type: 'action', action: { type: 'custom', name: String(name).slice(0, 256) }, context: ctx })),
    addError: guard((error: unknown, ctx?: Record<string, unknown>) => sdk.emit({ type: 'error', error: { ...describeError(error), handled: true, source: 'custom' }, context: ctx })),
    addEvent: guard((name: string, ctx?: Record<string, unknown>) => sdk.emit({ type: 'custom', custom: { name: String(name).slice(0, 256) }, context: ctx })),
    setContext: guard((ctx: Record<string, unknown>) => {
      context = ctx && typeof ctx === 'object' ? { ...ctx } : undefined
    }),
    // Sent as given; the server drops it unless the app allows user identity (DESIGN.md P6).
    setUser: guard((usr?: { id?: string; name?: string; email?: string }) => {
      user = usr && typeof usr === 'object' ? { ...usr } : undefined
    }),
    setTrackingConsent: guard((next: Consent) => {
      consent = next
      if (next === 'granted') startCollecting()
      else {
        stopCollecting()
        transport.clear()
      }
    }),
    flush: guard(() => transport.flush()),
    // Collectors stop first: they emit what they still hold (clicks waiting for their 100 ms window).
    stop: guard(() => {
      stopCollecting()
      transport.flush()
      consent = 'not-granted'
    }),
  }
  return api
}

/** Message, type and raw stack of anything thrown (the server parses stacks). */
export function describeError(error: unknown): { message: string; type?: string; stack?: string } {
  if (error instanceof Error || (error && typeof error === 'object' && 'message' in error)) {
    const e = error as Error
    return { message: String(e.message).slice(0, 8192) || String(e.name), type: e.name || undefined, stack: typeof e.stack === 'string' ? e.stack.slice(0, 32768) : undefined }
  }
  let message: string
  try {
    message = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error)
  } catch {
    message = String(error)
  }
  return { message: message.slice(0, 8192) }
}

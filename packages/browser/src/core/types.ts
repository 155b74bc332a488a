/**
 * The SDK's shared shapes. Events follow the Tacit wire protocol (docs/PROTOCOL.md); collectors fill the
 * type-specific part and the core adds the common fields (ts, view, service, env, release, context, usr).
 */

export type PrivacyLevel = 'allow' | 'mask-user-input' | 'mask'
export type ElementPrivacy = 'allow' | 'mask' | 'hidden'
export type Consent = 'granted' | 'not-granted'

/** One wire event. Type-specific fields are open objects: the server validates, the SDK stays small. */
export interface RumEvent {
  type: 'view' | 'action' | 'error' | 'resource' | 'long_task' | 'vital' | 'report' | 'custom'
  ts?: number
  view?: Record<string, unknown> & { id?: string; url?: string }
  context?: Record<string, unknown>
  usr?: Record<string, unknown>
  [field: string]: unknown
}

/** The page view every event belongs to; the views collector starts new ones on SPA route changes. */
export interface ViewState {
  id: string
  url: string
  referrer?: string
  start: number
  /** Events emitted during this view, by type (for the view's `*_count` fields). */
  counts: Record<string, number>
}

/** What a collector is given. Everything a collector needs from the page or the core comes through here. */
export interface Sdk {
  readonly options: ResolvedOptions
  /** ms since the epoch (Date.now in the browser; a fake clock in tests). */
  now(): number
  randomId(): string
  /** Completes the event with the common fields, applies beforeSend and queues it. */
  emit(event: RumEvent): void
  view(): ViewState
  /** Starts a new view (route change) and returns it; the previous one ends. */
  startView(url: string, loadingType: 'initial_load' | 'route_change'): ViewState
  /** Called with every event the SDK emits (after beforeSend), e.g. for error clicks. Returns an unsubscribe. */
  onEvent(listener: (event: RumEvent) => void): () => void
  /** Called when the page is hidden or unloads, before the queue is flushed: collectors emit final values here. */
  onHide(listener: () => void): () => void
  /** URL with personal data removed (client-side; the server's scrubbing stays authoritative). */
  scrubUrl(url: string): string
}

/** Starts collecting; returns a function that stops it and removes every listener. */
export type Collector = (sdk: Sdk) => () => void

export interface TacitOptions {
  /** The app's public client token (write-only). */
  token?: string
  /** The Tacit server's base URL; the SDK posts to `${endpoint}/api/v1/ingest`. */
  endpoint?: string
  /** The full URL to post to instead (the site's own path or the Tacit relay). */
  proxy?: string
  service?: string
  env?: string
  release?: string
  /** Percentage of page loads to collect (0–100, default 100), decided once per page load. */
  sampleRate?: number
  privacy?: PrivacyLevel
  trackingConsent?: Consent
  beforeSend?: (event: RumEvent) => RumEvent | false | void
  trackViews?: boolean
  trackActions?: boolean
  trackErrors?: boolean
  /** Also report `console.error` calls as errors (default false). */
  trackConsoleErrors?: boolean
  trackResources?: boolean
  trackLongTasks?: boolean
  trackVitals?: boolean
  trackReports?: boolean
  /** Origins (string prefix or RegExp) whose fetch/XHR requests get a W3C `traceparent` header. Off by default. */
  allowedTracingUrls?: Array<string | RegExp>
}

/** The options as given, plus what the core works out once. A `track*` option is on unless it is `false`. */
export interface ResolvedOptions extends TacitOptions {
  /** Where batches are posted (endpoint + path + token, or the proxy). */
  url: string
  privacy: PrivacyLevel
  sampleRate: number
}

/** The object `init` returns. Every method is safe to call at any time and never throws into the page. */
export interface TacitApi {
  addAction(name: string, context?: Record<string, unknown>): void
  addError(error: unknown, context?: Record<string, unknown>): void
  addEvent(name: string, context?: Record<string, unknown>): void
  setContext(context: Record<string, unknown>): void
  setUser(user: { id?: string; name?: string; email?: string } | undefined): void
  setTrackingConsent(consent: Consent): void
  /** Sends what is queued now (also done automatically). */
  flush(): void
  stop(): void
}

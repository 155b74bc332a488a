import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox'
import { CAPS, LIMITS } from './limits.js'

/**
 * The ingest wire format, one schema per event type. It is the single source of truth: the validator is
 * compiled from it, the normalizer walks it, and docs/protocol.schema.json is generated from it.
 * Field names follow the public RUM events format (view, action, error, resource, long_task, vital) where
 * one exists, so other SDKs' payloads can be translated in.
 *
 * `x-cap` marks a string's truncation cap; `x-free-form` marks an object of custom attributes whose keys
 * are the sender's own (depth-capped, strings capped, prototype keys dropped).
 */

export const WIRE_TYPES = ['view', 'action', 'error', 'resource', 'long_task', 'vital', 'report', 'custom'] as const
export type WireType = (typeof WIRE_TYPES)[number]

export const ACTION_TYPES = ['click', 'tap', 'scroll', 'swipe', 'submit', 'custom', 'application_start', 'back'] as const
export const FRUSTRATION_TYPES = ['rage_click', 'dead_click', 'error_click'] as const
export const ERROR_SOURCES = ['source', 'console', 'network', 'report', 'custom', 'logger', 'agent'] as const
export const RESOURCE_TYPES = ['document', 'xhr', 'fetch', 'beacon', 'css', 'js', 'image', 'font', 'media', 'other'] as const
export const VITAL_NAMES = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'] as const
export const VITAL_RATINGS = ['good', 'needs-improvement', 'poor'] as const
export const LOADING_TYPES = ['initial_load', 'route_change'] as const
export const LONG_TASK_TYPES = ['long-animation-frame', 'longtask'] as const

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type FreeForm = { [key: string]: JsonValue }

function capped(cap: number, description?: string) {
  return Type.String({ 'x-cap': cap, ...(description ? { description } : {}) })
}
function oneOf<const T extends readonly string[]>(values: T, description?: string): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(description ? { description } : {}) })
}
function freeForm(description: string): TUnsafe<FreeForm> {
  return Type.Unsafe<FreeForm>({ type: 'object', 'x-free-form': true, description })
}
const ms = (description: string) => Type.Number({ minimum: 0, description: `${description}, in milliseconds` })
const count = (description: string) => Type.Integer({ minimum: 0, description })

const viewRefFields = {
  id: capped(CAPS.id, 'Random id of the page view, chosen by the SDK'),
  url: capped(CAPS.url, 'Page URL'),
  referrer: Type.Optional(capped(CAPS.url, 'document.referrer of the view')),
  name: Type.Optional(capped(CAPS.name, 'Route name, when the site gives one')),
}
const ViewRef = Type.Object(viewRefFields)

const common = {
  ts: Type.Optional(
    Type.Number({
      minimum: 0,
      description: 'When it happened, ms since the Unix epoch; defaults to the receive time and is clamped to [receive − 24 h, receive + 5 min]',
    }),
  ),
  view: Type.Optional(ViewRef),
  service: Type.Optional(capped(CAPS.name, 'Name of the application or service')),
  env: Type.Optional(capped(CAPS.name, 'Deployment environment, e.g. production')),
  release: Type.Optional(capped(CAPS.name, 'Release or version of the code that sent the event')),
  context: Type.Optional(freeForm('Custom attributes')),
  usr: Type.Optional(
    Type.Object(
      {
        id: Type.Optional(capped(CAPS.id, "The site's own user id")),
        name: Type.Optional(capped(CAPS.name)),
        email: Type.Optional(capped(CAPS.name)),
      },
      { description: 'The user, from setUser; dropped by the server unless the app allows user identity' },
    ),
  ),
}

export const ViewEvent = Type.Object({
  type: Type.Literal('view'),
  ...common,
  view: Type.Object({
    ...viewRefFields,
    loading_type: Type.Optional(oneOf(LOADING_TYPES)),
    version: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Views are re-sent as they progress; the highest version is kept' }),
    ),
    time_spent: Type.Optional(ms('Time the view was active')),
    first_byte: Type.Optional(ms('Time to first byte (navigation timing)')),
    dom_interactive: Type.Optional(ms('DOM interactive (navigation timing)')),
    dom_content_loaded: Type.Optional(ms('DOMContentLoaded event end (navigation timing)')),
    dom_complete: Type.Optional(ms('DOM complete (navigation timing)')),
    load_event: Type.Optional(ms('Load event end (navigation timing)')),
    action_count: Type.Optional(count('Actions during the view')),
    error_count: Type.Optional(count('Errors during the view')),
    resource_count: Type.Optional(count('Resources loaded during the view')),
    long_task_count: Type.Optional(count('Long tasks during the view')),
  }),
})

export const ActionEvent = Type.Object({
  type: Type.Literal('action'),
  ...common,
  action: Type.Object({
    type: oneOf(ACTION_TYPES),
    name: capped(CAPS.name, 'Human-readable name of the action, e.g. the button text'),
    frustration: Type.Optional(Type.Array(oneOf(FRUSTRATION_TYPES), { maxItems: FRUSTRATION_TYPES.length })),
    duration: Type.Optional(ms('Duration of the action')),
    target: Type.Optional(capped(CAPS.name, 'CSS selector of the element acted on, e.g. form.checkout>button#buy')),
  }),
})

export const ErrorEvent = Type.Object({
  type: Type.Literal('error'),
  ...common,
  error: Type.Object({
    message: capped(CAPS.message),
    type: Type.Optional(capped(CAPS.name, 'Error class, e.g. TypeError')),
    stack: Type.Optional(capped(CAPS.stack, 'Raw stack trace string as the engine printed it')),
    handled: Type.Optional(Type.Boolean({ description: 'true when reported by the application, false when uncaught' })),
    source: Type.Optional(oneOf(ERROR_SOURCES)),
    fingerprint: Type.Optional(
      capped(CAPS.name, 'Overrides grouping: events with the same value form one issue, whatever their stack and message'),
    ),
  }),
})

export const ResourceEvent = Type.Object({
  type: Type.Literal('resource'),
  ...common,
  resource: Type.Object({
    url: capped(CAPS.url),
    duration: ms('Duration of the fetch'),
    type: Type.Optional(oneOf(RESOURCE_TYPES)),
    method: Type.Optional(capped(CAPS.short, 'HTTP method, for xhr and fetch')),
    status_code: Type.Optional(Type.Integer({ minimum: 0, maximum: 999 })),
    size: Type.Optional(count('Decoded body size in bytes')),
    transfer_size: Type.Optional(count('Bytes over the network, headers included')),
    render_blocking: Type.Optional(Type.Boolean()),
  }),
})

export const LongTaskEvent = Type.Object({
  type: Type.Literal('long_task'),
  ...common,
  long_task: Type.Object({
    duration: ms('Duration of the task'),
    type: Type.Optional(oneOf(LONG_TASK_TYPES, 'The API that measured it: long-animation-frame where supported, else longtask')),
    blocking_duration: Type.Optional(ms('Time beyond 50 ms during which the main thread could not answer input')),
    script_url: Type.Optional(capped(CAPS.url, 'URL of the script that ran longest in the frame (long-animation-frame only)')),
    script_function: Type.Optional(capped(CAPS.name, 'Name of the function that script started with, when known')),
    invoker: Type.Optional(capped(CAPS.name, 'What called the script, e.g. BUTTON#buy.onclick or a script URL')),
    invoker_type: Type.Optional(capped(CAPS.short * 2, 'e.g. event-listener, user-callback, classic-script, resolve-promise')),
  }),
})

export const VitalEvent = Type.Object({
  type: Type.Literal('vital'),
  ...common,
  vital: Type.Object({
    name: oneOf(VITAL_NAMES),
    value: Type.Number({ minimum: 0, description: 'Milliseconds, except CLS which is unitless' }),
    rating: Type.Optional(oneOf(VITAL_RATINGS)),
    target: Type.Optional(capped(CAPS.name, 'CSS selector of the element behind the value: the LCP element, the INP target, the largest CLS shift source')),
  }),
})

export const ReportEvent = Type.Object({
  type: Type.Literal('report'),
  ...common,
  report: Type.Object({
    type: capped(CAPS.short * 2, 'Reporting API report type, e.g. csp-violation, deprecation, intervention'),
    body: freeForm('The report body as the browser sent it'),
  }),
})

export const CustomEvent = Type.Object({
  type: Type.Literal('custom'),
  ...common,
  custom: Type.Object({ name: capped(CAPS.name, 'Name given to addEvent') }),
})

export const EVENT_SCHEMAS = {
  view: ViewEvent,
  action: ActionEvent,
  error: ErrorEvent,
  resource: ResourceEvent,
  long_task: LongTaskEvent,
  vital: VitalEvent,
  report: ReportEvent,
  custom: CustomEvent,
} satisfies Record<WireType, TSchema>

export type WireEvent =
  | Static<typeof ViewEvent>
  | Static<typeof ActionEvent>
  | Static<typeof ErrorEvent>
  | Static<typeof ResourceEvent>
  | Static<typeof LongTaskEvent>
  | Static<typeof VitalEvent>
  | Static<typeof ReportEvent>
  | Static<typeof CustomEvent>

/** The published JSON Schema of one event (docs/protocol.schema.json is generated from this). */
export function protocolJsonSchema(): object {
  const strip = (value: unknown): unknown => JSON.parse(JSON.stringify(value))
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:tacit:ingest-event:v1',
    title: 'Tacit ingest event',
    description: `One event of an ingest batch (docs/PROTOCOL.md). Unknown top-level fields are dropped. An event may be at most ${LIMITS.eventBytes} bytes; free-form objects at most ${LIMITS.freeFormDepth} levels deep. x-cap gives the length at which a string is truncated.`,
    type: 'object',
    required: ['type'],
    properties: { type: { enum: [...WIRE_TYPES] } },
    oneOf: WIRE_TYPES.map((type) => strip(EVENT_SCHEMAS[type])),
    discriminator: { propertyName: 'type' },
  }
}

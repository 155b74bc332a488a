import { startTacit } from './core/startTacit.js'
import type { TacitApi, TacitOptions } from './core/types.js'
import { traceContext } from './collectors/traceContext.js'
import { DEFAULT_COLLECTORS } from './index.js'

export type { Consent, PrivacyLevel, RumEvent, TacitApi, TacitOptions } from './core/types.js'

/**
 * The full SDK plus W3C trace context (`@tacit/browser/tracing`): `traceparent` on fetch/XHR requests to
 * `allowedTracingUrls`. A separate entry because it is off by default, so the default bundle does not carry it.
 */
export function init(options: TacitOptions): TacitApi {
  return startTacit(options, [...DEFAULT_COLLECTORS, traceContext])
}

import { startTacit } from './core/startTacit.js'
import type { Collector, TacitApi, TacitOptions } from './core/types.js'
import { trackActions } from './collectors/trackActions.js'
import { trackErrors } from './collectors/trackErrors.js'
import { trackLongTasks } from './collectors/trackLongTasks.js'
import { trackReports } from './collectors/trackReports.js'
import { trackResources } from './collectors/trackResources.js'
import { trackViews } from './collectors/trackViews.js'
import { trackVitals } from './collectors/trackVitals.js'

export type { Consent, PrivacyLevel, RumEvent, TacitApi, TacitOptions } from './core/types.js'

/** Everything collected by default; trace context, off by default, lives in the `/tracing` entry. */
export const DEFAULT_COLLECTORS: Collector[] = [trackViews, trackActions, trackErrors, trackResources, trackLongTasks, trackVitals, trackReports]

/**
 * Starts Tacit on this page. Nothing happens at import time; each collector checks its own `track*`
 * option, so with automatic tracking off only what the site sends through the returned API is collected.
 */
export function init(options: TacitOptions): TacitApi {
  return startTacit(options, DEFAULT_COLLECTORS)
}

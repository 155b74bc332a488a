import { startTacit } from './core/startTacit.js'
import type { TacitApi, TacitOptions } from './core/types.js'
import { trackErrors } from './collectors/trackErrors.js'

export type { Consent, RumEvent, TacitApi, TacitOptions } from './core/types.js'

/** The errors-only entry (`@tacit/browser/errors`): uncaught errors, rejections and `addError`, nothing else. */
export function init(options: TacitOptions): TacitApi {
  return startTacit(options, [trackErrors])
}

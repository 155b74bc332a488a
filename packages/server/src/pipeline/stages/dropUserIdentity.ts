import type { StripReason } from '../dropReasons.js'
import type { RequestContext, Stage } from '../runPipeline.js'

export interface DropUserIdentityDeps {
  /** Counts data removed from an event that is still stored (reported like drop reasons). */
  countStripped?: (reason: StripReason, request: RequestContext) => void
}

/**
 * DESIGN.md P6: user identity is not tracked unless the app opts in. `usr` (id, name, email, from the
 * SDK's `setUser`) is removed server-side; the rest of the event is kept.
 */
export function createDropUserIdentity(deps: DropUserIdentityDeps = {}): Stage {
  return {
    name: 'dropUserIdentity',
    run(event, request) {
      if (event.usr === undefined || request.settings.privacy.allowUserIdentity) return undefined
      delete event.usr
      deps.countStripped?.('user_identity', request)
      return undefined
    },
  }
}

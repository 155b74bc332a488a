import { LIMITS } from '../../protocol/limits.js'
import type { Stage } from '../runPipeline.js'

/**
 * A client clock can be wrong or hostile. Clamping `ts` to a window around the receive time keeps charts
 * sane; retention counts from `received_at` anyway, so a far-future `ts` cannot make an event outlive it.
 */
export const clampTimestamp: Stage = {
  name: 'clampTimestamp',
  run(event, { receivedAt }) {
    const earliest = receivedAt - LIMITS.tsPastMs
    const latest = receivedAt + LIMITS.tsFutureMs
    event.ts = Math.round(Math.min(Math.max(event.ts, earliest), latest))
    return undefined
  },
}

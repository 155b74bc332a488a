import type { Stage } from '../runPipeline.js'

/**
 * Global Privacy Control / Do Not Track, when the app chooses to honour them. Off by default: Tacit stores
 * nothing personal and sets nothing on the device, so there is nothing for GPC to opt out of, and some
 * browsers (Brave, DuckDuckGo's, privacy extensions) send it for every visitor — honouring it by default
 * would silently drop a large, skewed share of real traffic. A site whose policy promises it can turn it on.
 */
export const honorOptOut: Stage = {
  name: 'honorOptOut',
  run(_event, request) {
    return request.optOut && request.settings.privacy.honorGpc ? 'opt_out' : undefined
  },
}

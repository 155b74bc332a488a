import { groupError } from '../../errors/groupError.js'
import type { Stage } from '../runPipeline.js'

/**
 * Gives every error event the issue it belongs to (`issue`: fingerprint, title, culprit). It runs after
 * scrubPii, so grouping sees only scrubbed text: personal data can neither split an issue (two emails in
 * the same message) nor name one. Grouping ignores line and column numbers, so a redeploy does not split
 * issues either (errors/groupError.ts).
 */
export const fingerprintError: Stage = {
  name: 'fingerprintError',
  run(event) {
    if (event.type === 'error') event.issue = groupError(event.error)
    return undefined
  },
}

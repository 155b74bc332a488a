import { groupError } from '../../errors/groupError.js'
import { groupReport } from '../../errors/groupReport.js'
import type { Stage } from '../runPipeline.js'

/**
 * Gives every error and browser report event the issue it belongs to (`issue`: fingerprint, title, culprit).
 * It runs after scrubPii, so grouping sees only scrubbed text: personal data can neither split an issue (two
 * emails in the same message) nor name one. Grouping ignores line and column numbers, so a redeploy does not
 * split issues either. Errors group by stack and message (errors/groupError.ts); reports by their own rules
 * per report type, e.g. a CSP violation by directive and blocked origin (errors/groupReport.ts).
 */
export const fingerprintError: Stage = {
  name: 'fingerprintError',
  run(event) {
    if (event.type === 'error') event.issue = groupError(event.error)
    else if (event.type === 'report') event.issue = groupReport(event.report)
    return undefined
  },
}

import type { RandomSource } from '../randomSource.js'
import type { GeoLookup } from '../privacy/geo/createGeoLookup.js'
import type { SessionKeyStore, SyncSessionKeyStore } from '../sessions/SessionKeyStore.js'
import type { StripReason } from './dropReasons.js'
import type { RequestContext, Stage } from './runPipeline.js'
import { createApplyInboundFilters } from './stages/applyInboundFilters.js'
import { createAssignSession } from './stages/assignSession.js'
import { clampTimestamp } from './stages/clampTimestamp.js'
import { dropBots } from './stages/dropBots.js'
import { createDropUserIdentity } from './stages/dropUserIdentity.js'
import { fingerprintError } from './stages/fingerprintError.js'
import { honorOptOut } from './stages/honorOptOut.js'
import { keepNetworkPrefix } from './stages/keepNetworkPrefix.js'
import { createLookupCountry } from './stages/lookupCountry.js'
import { createParseUserAgent } from './stages/parseUserAgent.js'
import { scrubPii } from './stages/scrubPii.js'

export interface IngestPipelineDeps {
  geo: GeoLookup
  sessionKeys: SessionKeyStore | SyncSessionKeyStore
  random: RandomSource
}

/**
 * The ingest pipeline, in order. It reads like the privacy policy (DESIGN.md §3.2): bots and opted-out
 * visitors leave first; the country is looked up before the filters that may block it and kept only as the
 * app allows; the IP address is reduced to a prefix or nothing, the User-Agent to names and major versions;
 * personal data is scrubbed from every stored string; errors are grouped into issues from the scrubbed text,
 * so personal data can never split or name an issue; then the visitor gets a session id that encodes nothing.
 */
/** Data removed from events that are still stored is counted on the request, then with its batch. */
function countOnRequest(reason: StripReason, request: RequestContext): void {
  const stripped = (request.derived.stripped ??= {})
  stripped[reason] = (stripped[reason] ?? 0) + 1
}

export function createIngestPipeline(deps: IngestPipelineDeps): Stage[] {
  return [
    clampTimestamp,
    dropBots,
    honorOptOut,
    createLookupCountry({ geo: deps.geo }),
    createApplyInboundFilters(),
    keepNetworkPrefix,
    createDropUserIdentity({ countStripped: countOnRequest }),
    createParseUserAgent(),
    scrubPii,
    fingerprintError,
    createAssignSession({ keys: deps.sessionKeys, random: deps.random }),
  ]
}

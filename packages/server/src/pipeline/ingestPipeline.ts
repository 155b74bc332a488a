import type { Stage } from './runPipeline.js'
import { clampTimestamp } from './stages/clampTimestamp.js'
import { createParseUserAgent } from './stages/parseUserAgent.js'

/**
 * The ingest pipeline, in order. It reads like the privacy policy: each stage is one promise, and a stage
 * that drops an event says why. Scrubbing, bot filtering, geolocation and sessions join this list.
 */
export function createIngestPipeline(): Stage[] {
  return [clampTimestamp, createParseUserAgent()]
}

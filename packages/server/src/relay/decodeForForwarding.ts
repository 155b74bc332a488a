import { isUtf8 } from 'node:buffer'
import { resolveSettings, type AppSettings } from '../apps/appSettings.js'
import { decodeContentEncoding, decodeUtf8Lines } from '../http/readBody.js'
import type { RequestContext } from '../pipeline/runPipeline.js'
import { scrubPii } from '../pipeline/stages/scrubPii.js'
import type { StoredEvent } from '../pipeline/storedEvent.js'
import { decodeBatch } from '../protocol/decodeBatch.js'
import { decodeReports } from '../protocol/decodeReports.js'
import type { WireEvent } from '../protocol/wireSchema.js'
import type { RelayAppSettings } from './createRelaySettings.js'

export type DecodeResult = { ok: true; body: Buffer; events: number } | { ok: false; status: number; code: string; message: string }

/**
 * Bodies the relay decodes before they leave, as the server decodes them (the same limits and checks), then
 * re-encodes as NDJSON for the ingest endpoint:
 * - **Reports, always**: a browser puts its full User-Agent (and referrers, CSP samples) in every report; the
 *   decoder's allow-lists keep none of it, so it never crosses to the server (issue 8). They go as `report`
 *   events, which they are once decoded.
 * - **Everything, with `--scrub`**: every event also passes the server's own scrubbing stage with the app's
 *   rules, so data leaves the customer's premises already clean. The server scrubs again, which changes
 *   nothing on clean text.
 * Events the decoder refuses are dropped here (the relay's metrics count them), not forwarded.
 */
export async function decodeForForwarding(input: {
  route: '/api/v1/ingest' | '/api/v1/report'
  body: Buffer
  contentEncoding: string | undefined
  settings: RelayAppSettings
  receivedAt: number
  scrub: boolean
}): Promise<DecodeResult> {
  const decodedBody = await decodeContentEncoding(input.body, input.contentEncoding)
  if (!decodedBody.ok) return decodedBody
  let events: readonly WireEvent[]
  if (input.route === '/api/v1/ingest') {
    const { text, badLines } = decodeUtf8Lines(decodedBody.bytes)
    const decoded = decodeBatch(text, badLines)
    if (!decoded.ok) return decoded
    if (decoded.events.length === 0 && decoded.problems.length > 0) {
      return { ok: false, status: 400, code: 'invalid_batch', message: `No event in the body is valid; first problem: ${decoded.problems[0]!.message}.` }
    }
    events = decoded.events
  } else {
    if (!isUtf8(decodedBody.bytes)) return { ok: false, status: 400, code: 'invalid_utf8', message: 'The body is not valid UTF-8.' }
    const decoded = decodeReports(decodedBody.bytes.toString('utf8'), input.receivedAt)
    if (!decoded.ok) return decoded
    if (decoded.events.length === 0 && decoded.problems.length > 0) {
      return { ok: false, status: 400, code: 'invalid_reports', message: `No report in the body is valid; first problem: ${decoded.problems[0]!.message}.` }
    }
    events = decoded.events
  }
  const request = scrubContext(input.settings, input.receivedAt)
  const lines = events.map((event) => {
    if (!input.scrub) return JSON.stringify(event)
    const copy = structuredClone(event) as StoredEvent
    void scrubPii.run(copy, request)
    return JSON.stringify(copy)
  })
  return { ok: true, body: Buffer.from(lines.join('\n')), events: lines.length }
}

/** The scrubbing stage reads the app's scrub rules and whether user details are kept; nothing else. */
const contexts = new WeakMap<RelayAppSettings, AppSettings>()
function scrubContext(settings: RelayAppSettings, receivedAt: number): RequestContext {
  let app = contexts.get(settings)
  if (!app) {
    const defaults = resolveSettings({})
    app = { ...defaults, privacy: { ...defaults.privacy, allowUserDetails: settings.allowUserDetails }, scrub: settings.scrub }
    contexts.set(settings, app)
  }
  return { appId: settings.appId, settings: app, receivedAt, ip: '', userAgent: undefined, optOut: false, derived: {} }
}

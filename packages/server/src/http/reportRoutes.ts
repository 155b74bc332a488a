import { isUtf8 } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import { addDrop, type DropCounts } from '../pipeline/dropReasons.js'
import { decodeReports } from '../protocol/decodeReports.js'
import { acceptRawBodies, createIngestEdge, refuse, type AcceptedMediaTypes, type IngestDeps } from './createIngestEdge.js'

/**
 * `application/reports+json`: the Reporting API, v1 (`Reporting-Endpoints`) and v0 (`Report-To`).
 * `application/csp-report`: CSP's legacy `report-uri`. `application/json`: either, as some browsers and
 * libraries send them. A missing Content-Type is read as JSON, as on the ingest endpoint.
 */
export const REPORT_MEDIA_TYPES: AcceptedMediaTypes = {
  types: new Set(['application/reports+json', 'application/csp-report', 'application/json']),
  message: 'Content-Type must be application/reports+json, application/csp-report or application/json.',
}
/** Problems echoed back per response: enough to debug a sender, bounded for a hostile one. */
const MAX_PROBLEMS = 10

/**
 * POST /api/v1/report: browsers deliver Reporting API reports and legacy CSP reports here, so a site can
 * point `report-to` / `report-uri` at Tacit. The reports become `report` events that go through the same
 * edge as ingest (token, allowed origins with the preflight that `application/reports+json` needs, limits,
 * the privacy pipeline with the request's own User-Agent, commit before the answer). Success is `204`:
 * browsers read nothing but the status.
 */
export async function reportRoutes(scope: FastifyInstance, deps: IngestDeps): Promise<void> {
  const edge = createIngestEdge(deps)
  acceptRawBodies(scope)

  scope.options('/api/v1/report', edge.preflight)

  scope.post('/api/v1/report', async (request, reply) => {
    const admitted = await edge.admit(request, reply)
    if ('refused' in admitted) return admitted.refused
    const bytes = await edge.readBody(request, reply, REPORT_MEDIA_TYPES)
    if ('refused' in bytes) return bytes.refused
    if (!isUtf8(bytes)) return refuse(reply, 400, 'invalid_utf8', 'The body is not valid UTF-8.')

    const receivedAt = edge.receivedAt(admitted)
    const decoded = decodeReports(bytes.toString('utf8'), receivedAt)
    if (!decoded.ok) return refuse(reply, decoded.status, decoded.code, decoded.message)

    const dropped: DropCounts = {}
    if (decoded.invalid) addDrop(dropped, 'invalid', decoded.invalid)
    const outcome = await edge.store(request, reply, admitted, { events: decoded.events, dropped, receivedAt })
    if ('refused' in outcome) return outcome.refused

    if (decoded.events.length === 0 && decoded.problems.length > 0) {
      const problems = decoded.problems.slice(0, MAX_PROBLEMS)
      return reply.code(400).send({ error: 'invalid_reports', message: `No report in the body is valid; first problem: ${problems[0]!.message}.`, problems })
    }
    return reply.code(204).send()
  })
}

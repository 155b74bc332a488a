import type { FastifyInstance } from 'fastify'
import { addDrop, type DropCounts } from '../pipeline/dropReasons.js'
import { decodeBatch, type Problem } from '../protocol/decodeBatch.js'
import { acceptRawBodies, createIngestEdge, refuse, type AcceptedMediaTypes, type IngestDeps } from './createIngestEdge.js'
import { decodeUtf8Lines } from './readBody.js'

export type { IngestDeps } from './createIngestEdge.js'

export const INGEST_MEDIA_TYPES: AcceptedMediaTypes = {
  types: new Set(['text/plain', 'application/json', 'application/x-ndjson']),
  message: 'Content-Type must be text/plain, application/json or application/x-ndjson.',
}
/** Problems echoed back per response: enough to debug a client, bounded for a hostile one. */
const MAX_PROBLEMS = 10

/**
 * POST /api/v1/ingest: the edge. Order matters: cheap refusals first (token, origin, media type), then the
 * body is decoded once into typed events, run through the pipeline and handed to the batch writer. The
 * answer (202) is sent only after the commit. Token, origin, limits, pipeline and writer are shared with
 * the browser reports endpoint (createIngestEdge).
 */
export async function ingestRoutes(scope: FastifyInstance, deps: IngestDeps): Promise<void> {
  const edge = createIngestEdge(deps)
  acceptRawBodies(scope)

  scope.options('/api/v1/ingest', edge.preflight)

  scope.post('/api/v1/ingest', async (request, reply) => {
    const admitted = await edge.admit(request, reply)
    if ('refused' in admitted) return admitted.refused
    const bytes = await edge.readBody(request, reply, INGEST_MEDIA_TYPES)
    if ('refused' in bytes) return bytes.refused
    const { text, badLines } = decodeUtf8Lines(bytes)
    const decoded = decodeBatch(text, badLines)
    if (!decoded.ok) return refuse(reply, decoded.status, decoded.code, decoded.message)

    const receivedAt = edge.receivedAt(admitted)
    const dropped: DropCounts = {}
    if (decoded.invalid) addDrop(dropped, 'invalid', decoded.invalid)
    if (decoded.tooLarge) addDrop(dropped, 'too_large', decoded.tooLarge)
    const outcome = await edge.store(request, reply, admitted, { events: decoded.events, dropped, receivedAt })
    if ('refused' in outcome) return outcome.refused
    const accepted = outcome.stored

    const problems = decoded.problems.slice(0, MAX_PROBLEMS)
    if (accepted === 0 && problems.length > 0 && decoded.events.length === 0) {
      return reply.code(400).send({ error: 'invalid_batch', message: firstMessage(problems), problems })
    }
    if (problems.length === 0 && decoded.events.length === accepted) {
      // The common answer, written directly rather than through the generic serializer.
      return reply.code(202).type('application/json; charset=utf-8').send(`{"accepted":${accepted},"dropped":{}}`)
    }
    return reply.code(202).send({ accepted, dropped, ...(problems.length ? { problems } : {}) })
  })
}

function firstMessage(problems: Problem[]): string {
  return `No event in the body is valid; first problem: ${problems[0]?.message ?? 'unknown'}.`
}

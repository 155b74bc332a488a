import type { FastifyReply, FastifyRequest } from 'fastify'
import { addDrop, type DropCounts } from '../../pipeline/dropReasons.js'
import { decodeBatch } from '../../protocol/decodeBatch.js'
import type { Admitted, IngestEdge } from '../createIngestEdge.js'
import { refuse } from '../createIngestEdge.js'

/**
 * The common end of every foreign intake (issue 9): what a translator made of another SDK's payload goes
 * through Tacit's own decoder — the same checks, caps and limits as an event from Tacit's SDK, so a translator
 * can never store more than the protocol allows — then through the edge (limits, the privacy pipeline, commit
 * before the answer). A request that held nothing to store (only a Datadog telemetry batch, a Sentry session)
 * still records its drops. Resolves with a refusal already sent, or nothing: the caller answers as its SDK expects.
 */
export async function storeTranslated(
  edge: IngestEdge,
  request: FastifyRequest,
  reply: FastifyReply,
  admitted: Admitted,
  translated: ReadonlyArray<Record<string, unknown>>,
  dropped: DropCounts,
): Promise<{ refused: FastifyReply } | undefined> {
  let events: Parameters<IngestEdge['store']>[3]['events'] = []
  if (translated.length > 0) {
    const decoded = decodeBatch(translated.map((event) => JSON.stringify(event)).join('\n'))
    if (!decoded.ok) return { refused: refuse(reply, decoded.status, decoded.code, decoded.message) }
    if (decoded.invalid) addDrop(dropped, 'invalid', decoded.invalid)
    if (decoded.tooLarge) addDrop(dropped, 'too_large', decoded.tooLarge)
    events = decoded.events
  }
  const outcome = await edge.store(request, reply, admitted, { events, dropped, receivedAt: edge.receivedAt(admitted) })
  return 'refused' in outcome ? outcome : undefined
}

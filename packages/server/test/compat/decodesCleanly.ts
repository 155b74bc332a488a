import { expect } from 'vitest'
import { decodeBatch, type DecodedBatch } from '../../src/protocol/decodeBatch.js'

/** The server's decoder over translated events as one NDJSON body, as the intake routes run it (storeTranslated.ts). */
export function decoded(events: unknown[]): DecodedBatch {
  const result = decodeBatch(events.map((event) => JSON.stringify(event)).join('\n'))
  if (!result.ok) throw new Error(`decodeBatch refused the batch: ${result.code}`)
  return result
}

/** A translated event passes the decoder whole: no problem, nothing dropped. */
export function expectDecodesCleanly(event: unknown): void {
  const batch = decoded([event])
  expect(batch.problems).toEqual([])
  expect(batch.events).toHaveLength(1)
}

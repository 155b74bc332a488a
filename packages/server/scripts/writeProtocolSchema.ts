import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { protocolJsonSchema } from '../src/protocol/wireSchema.js'

/** Regenerates docs/protocol.schema.json from the wire schema (a test fails when they differ). */
export const PROTOCOL_SCHEMA_PATH = resolve(import.meta.dirname, '../../../docs/protocol.schema.json')

export function renderProtocolSchema(): string {
  return `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  writeFileSync(PROTOCOL_SCHEMA_PATH, renderProtocolSchema())
  console.log(`wrote ${PROTOCOL_SCHEMA_PATH}`)
}

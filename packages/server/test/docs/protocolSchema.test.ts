import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { PROTOCOL_SCHEMA_PATH, renderProtocolSchema } from '../../scripts/writeProtocolSchema.js'
import { WIRE_TYPES } from '../../src/protocol/wireSchema.js'

describe('docs/protocol.schema.json', () => {
  it('is the schema the server validates with (run `npm run docs:schema` after changing the wire format)', () => {
    expect(readFileSync(PROTOCOL_SCHEMA_PATH, 'utf8')).toBe(renderProtocolSchema())
  })

  it('is documented type by type in docs/PROTOCOL.md', () => {
    const protocol = readFileSync(PROTOCOL_SCHEMA_PATH.replace('protocol.schema.json', 'PROTOCOL.md'), 'utf8')
    for (const type of WIRE_TYPES) expect(protocol, type).toContain(`\`${type}\``)
  })
})

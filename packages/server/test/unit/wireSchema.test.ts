import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { decodeBatch } from '../../src/protocol/decodeBatch.js'
import { EVENT_SCHEMAS, protocolJsonSchema, WIRE_TYPES } from '../../src/protocol/wireSchema.js'
import { FULL_EVENTS, MINIMAL_EVENTS } from './wireSamples.js'

function compilePublished() {
  // strict: an unknown keyword or a schema mistake throws instead of being ignored.
  const ajv = new Ajv2020({ strict: true, discriminator: true, allErrors: true })
  ajv.addVocabulary(['x-cap', 'x-free-form'])
  const schema = protocolJsonSchema()
  return { ajv, schema, validate: ajv.compile(schema) }
}
const { validate } = compilePublished()

describe('protocolJsonSchema', () => {
  it('is a valid JSON Schema 2020-12 document', () => {
    const { ajv, schema } = compilePublished()
    expect(ajv.validateSchema(schema)).toBe(true)
    expect(ajv.errors ?? null).toBeNull()
    expect(schema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema' })
  })

  it('is plain JSON: serializing it loses nothing', () => {
    const schema = protocolJsonSchema()
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema)
  })

  it('has one branch per wire type', () => {
    const schema = protocolJsonSchema() as { oneOf: Array<{ properties: { type: { const: string } } }> }
    expect(schema.oneOf.map((branch) => branch.properties.type.const)).toEqual([...WIRE_TYPES])
  })

  for (const type of WIRE_TYPES) {
    it(`accepts the minimal and complete ${type} events the decoder accepts`, () => {
      for (const event of [MINIMAL_EVENTS[type], FULL_EVENTS[type]]) {
        const decoded = decodeBatch(JSON.stringify(event))
        expect(decoded.ok && decoded.events.length).toBe(1)
        expect(validate(event), JSON.stringify(validate.errors)).toBe(true)
      }
    })
  }

  it('is held to complete samples: every field of every type appears in one', () => {
    const missing: string[] = []
    const walk = (schema: { properties?: Record<string, object> }, value: unknown, path: string) => {
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        const field = (value as Record<string, unknown> | undefined)?.[key]
        if (field === undefined) missing.push(`${path}/${key}`)
        else walk(child, field, `${path}/${key}`)
      }
    }
    for (const type of WIRE_TYPES) walk(EVENT_SCHEMAS[type], FULL_EVENTS[type], type)
    expect(missing).toEqual([])
  })

  it('accepts unknown top-level fields, which the decoder drops', () => {
    const event = { ...MINIMAL_EVENTS.custom, something_new: 1 }
    expect(decodeBatch(JSON.stringify(event))).toMatchObject({ ok: true, problems: [] })
    expect(validate(event)).toBe(true)
  })

  it('rejects what the decoder rejects for its type or shape', () => {
    const invalid = [
      {},
      { type: 'pageview' },
      { type: 'custom' },
      { type: 'custom', custom: { name: 5 } },
      { type: 'vital', vital: { name: 'FID', value: 1 } },
      { type: 'resource', resource: { url: 'u', duration: -1 } },
      { type: 'action', action: { type: 'click', name: 'x', frustration: ['rage_click', 'rage_click', 'rage_click', 'rage_click'] } },
      { type: 'report', report: { type: 't', body: 'not an object' } },
    ]
    for (const event of invalid) {
      const decoded = decodeBatch(JSON.stringify(event))
      expect(decoded.ok && decoded.events.length).toBe(0)
      expect(validate(event), JSON.stringify(event)).toBe(false)
    }
  })

  it('publishes the string caps as x-cap', () => {
    const text = JSON.stringify(protocolJsonSchema())
    expect(text).toContain('"x-cap":8192')
    expect(text).toContain('"x-free-form":true')
  })
})

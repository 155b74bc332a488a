import type { TSchema } from '@sinclair/typebox'
import { CAPS, LIMITS, truncate } from './limits.js'
import type { FreeForm, JsonValue } from './wireSchema.js'

/** A problem found in a value that already passed the type check, e.g. a free-form object nested too deep. */
export class NormalizeProblem extends Error {
  constructor(
    readonly path: string,
    readonly code: 'too_deep',
  ) {
    super(code)
  }
}

export type Normalizer = (value: unknown, path: string) => unknown

// Keys that would reach Object.prototype when assigned or merged later (prototype pollution).
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * Compiles a schema into a function that copies a validated value into a fresh object holding only the
 * fields the schema knows, with strings truncated at their `x-cap`. Compiling once keeps the per-event
 * cost to plain property copies (no schema walk on the hot path).
 */
export function compileNormalizer(schema: TSchema): Normalizer {
  if (schema['x-free-form'] === true) return (value, path) => copyFreeForm(value as FreeForm, path, 1)
  if (schema.type === 'object' && schema.properties) {
    const fields = Object.entries(schema.properties as Record<string, TSchema>).map(
      ([key, fieldSchema]) => [key, compileNormalizer(fieldSchema)] as const,
    )
    return (value, path) => {
      const source = value as Record<string, unknown>
      const copy: Record<string, unknown> = {}
      for (const [key, normalize] of fields) {
        const field = source[key]
        if (field !== undefined) copy[key] = normalize(field, `${path}/${key}`)
      }
      return copy
    }
  }
  if (schema.type === 'array' && schema.items) {
    const normalizeItem = compileNormalizer(schema.items as TSchema)
    return (value, path) => (value as unknown[]).map((item, i) => normalizeItem(item, `${path}/${i}`))
  }
  const cap = schema['x-cap']
  if (schema.type === 'string' && typeof cap === 'number') return (value) => truncate(value as string, cap)
  return (value) => value
}

/**
 * `root` is the path of the free-form object itself: a problem inside it names the object, never a key
 * below it, because those keys are the sender's own text and may hold personal data.
 */
function copyFreeForm(source: FreeForm, root: string, depth: number): FreeForm {
  if (depth > LIMITS.freeFormDepth) throw new NormalizeProblem(root, 'too_deep')
  const copy: FreeForm = {}
  for (const key of Object.keys(source)) {
    if (FORBIDDEN_KEYS.has(key)) continue
    copy[truncate(key, CAPS.freeFormKey)] = copyJson(source[key] as JsonValue, root, depth)
  }
  return copy
}

function copyJson(value: JsonValue, root: string, depth: number): JsonValue {
  if (typeof value === 'string') return truncate(value, CAPS.freeFormString)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    if (depth + 1 > LIMITS.freeFormDepth) throw new NormalizeProblem(root, 'too_deep')
    return value.map((item) => copyJson(item, root, depth + 1))
  }
  return copyFreeForm(value, root, depth + 1)
}

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { allowedReportBody } from './decodeReports.js'
import { LIMITS } from './limits.js'
import { compileNormalizer, NormalizeProblem, type Normalizer } from './normalizeEvent.js'
import { EVENT_SCHEMAS, WIRE_TYPES, type WireEvent, type WireType } from './wireSchema.js'
import { parseJsonSafely } from './parseJsonSafely.js'

/**
 * The ingest edge: untrusted text becomes typed, normalized events here and nowhere else (DESIGN.md §3.1).
 * Problems name where (line or array index, JSON pointer) and what (a code), and never quote the input:
 * the input may hold personal data, and JSON.parse's own messages quote it.
 */

export const PROBLEM_CODES = [
  'malformed_json',
  'not_an_object',
  'missing_type',
  'unknown_type',
  'missing_field',
  'wrong_type',
  'not_allowed',
  'out_of_range',
  'too_many_items',
  'too_deep',
  'event_too_large',
  'invalid_utf8',
] as const
export type ProblemCode = (typeof PROBLEM_CODES)[number]

export interface Problem {
  /** 1-based line of an NDJSON body. */
  line?: number
  /** 1-based position in a JSON array body. */
  index?: number
  /** JSON pointer inside the event ('' for the event itself). */
  path: string
  code: ProblemCode
  message: string
}

export interface DecodedBatch {
  ok: true
  events: WireEvent[]
  problems: Problem[]
  /** How many events were dropped, by drop reason. */
  invalid: number
  tooLarge: number
}

export interface RejectedBatch {
  ok: false
  status: 400 | 413
  code: 'empty_body' | 'malformed_json' | 'too_many_events' | 'invalid_utf8'
  message: string
}

type Where = { line: number } | { index: number }

const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false })
ajv.addVocabulary(['x-cap', 'x-free-form'])

const compiled = Object.fromEntries(
  WIRE_TYPES.map((type) => [type, { validate: ajv.compile(EVENT_SCHEMAS[type]), normalize: compileNormalizer(EVENT_SCHEMAS[type]) }]),
) as Record<WireType, { validate: ValidateFunction; normalize: Normalizer }>

const knownTypes = new Set<string>(WIRE_TYPES)

/**
 * Decodes a batch body: a JSON array of events, or one JSON event per line (NDJSON). `badLines` are the
 * 1-based lines that were not valid UTF-8 (emptied in `text`); each becomes an invalid event.
 */
export function decodeBatch(text: string, badLines: readonly number[] = []): DecodedBatch | RejectedBatch {
  const start = firstNonSpace(text)
  if (start === -1) {
    if (badLines.length > 0) return reject(400, 'invalid_utf8', 'The body is not valid UTF-8.')
    return reject(400, 'empty_body', 'The request body is empty: send one JSON event per line, or a JSON array of events.')
  }
  if (text.charCodeAt(start) === 0x5b /* [ */) {
    if (badLines.length > 0) return reject(400, 'invalid_utf8', 'The body is not valid UTF-8.')
    return decodeArray(text)
  }
  const result = decodeLines(text, new Set(badLines))
  // A single event pretty-printed over several lines is not NDJSON but is still one valid JSON object; it
  // may span more lines than a batch may hold events, so a too_many_events answer gets this chance too.
  const maybeOneObject = result.ok
    ? result.events.length === 0 && result.problems[0]?.code === 'malformed_json'
    : result.code === 'too_many_events'
  if (maybeOneObject && text.charCodeAt(start) === 0x7b) {
    const whole = parseJsonSafely(text)
    if (whole.ok) return finish([decodeEvent(whole.value, { line: 1 }, Buffer.byteLength(text))])
  }
  return result
}

function decodeArray(text: string): DecodedBatch | RejectedBatch {
  const parsed = parseJsonSafely(text)
  if (!parsed.ok) return reject(400, 'malformed_json', `The body is not valid JSON${parsed.where}.`)
  const items = parsed.value as unknown[]
  if (items.length > LIMITS.eventsPerRequest) return tooMany()
  // Only a body larger than the event limit can hold an event over it: skip the re-serialization otherwise.
  const measure = Buffer.byteLength(text) > LIMITS.eventBytes
  return finish(
    items.map((item, i) => {
      const where = { index: i + 1 }
      const bytes = measure ? jsonBytes(item) : 0
      // Only nesting thousands of levels deep makes re-serializing fail, far past any allowed depth.
      return bytes === undefined ? problem(where, '', 'too_deep') : decodeEvent(item, where, bytes)
    }),
  )
}

function decodeLines(text: string, badLines: ReadonlySet<number>): DecodedBatch | RejectedBatch {
  const lines = text.split('\n')
  let nonEmpty = badLines.size
  for (const line of lines) if (firstNonSpace(line) !== -1) nonEmpty++
  if (nonEmpty > LIMITS.eventsPerRequest) return tooMany()
  const outcomes: Outcome[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    const where = { line: i + 1 }
    if (badLines.has(where.line)) {
      outcomes.push(problem(where, '', 'invalid_utf8'))
      continue
    }
    if (firstNonSpace(line) === -1) continue
    const bytes = utf8Length(line)
    if (bytes > LIMITS.eventBytes) {
      outcomes.push(problem(where, '', 'event_too_large'))
      continue
    }
    const parsed = parseJsonSafely(line)
    outcomes.push(parsed.ok ? decodeEvent(parsed.value, where, bytes) : problem(where, '', 'malformed_json'))
  }
  return finish(outcomes)
}

type Outcome = { event: WireEvent } | { problem: Problem }

function decodeEvent(value: unknown, where: Where, bytes: number): Outcome {
  if (bytes > LIMITS.eventBytes) return problem(where, '', 'event_too_large')
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return problem(where, '', 'not_an_object')
  const type = (value as { type?: unknown }).type
  if (type === undefined) return problem(where, '/type', 'missing_type')
  if (typeof type !== 'string' || !knownTypes.has(type)) return problem(where, '/type', 'unknown_type')
  const { validate, normalize } = compiled[type as WireType]
  if (!validate(value)) return schemaProblem(where, validate.errors?.[0])
  try {
    const event = normalize(value, '') as WireEvent
    // Report bodies are allow-listed here as on the reports endpoint: a body's `user_agent` is a full User-Agent.
    if (event.type === 'report') event.report.body = allowedReportBody(event.report.type, event.report.body)
    return { event }
  } catch (error) {
    if (error instanceof NormalizeProblem) return problem(where, error.path, error.code)
    throw error
  }
}

function finish(outcomes: Outcome[]): DecodedBatch {
  const batch: DecodedBatch = { ok: true, events: [], problems: [], invalid: 0, tooLarge: 0 }
  for (const outcome of outcomes) {
    if ('event' in outcome) {
      batch.events.push(outcome.event)
      continue
    }
    batch.problems.push(outcome.problem)
    if (outcome.problem.code === 'event_too_large') batch.tooLarge++
    else batch.invalid++
  }
  return batch
}

const MESSAGES: Record<ProblemCode, string> = {
  malformed_json: 'is not valid JSON',
  not_an_object: 'must be a JSON object',
  missing_type: 'is required',
  unknown_type: `must be one of ${WIRE_TYPES.join(', ')}`,
  missing_field: 'is required',
  wrong_type: 'has the wrong type',
  not_allowed: 'is not one of the allowed values',
  out_of_range: 'is out of range',
  too_many_items: 'has too many items',
  too_deep: `nests deeper than ${LIMITS.freeFormDepth} levels`,
  event_too_large: `is larger than ${LIMITS.eventBytes} bytes`,
  invalid_utf8: 'is not valid UTF-8',
}

function problem(where: Where, path: string, code: ProblemCode, detail?: string): { problem: Problem } {
  const place = 'line' in where ? `line ${where.line}` : `event ${where.index}`
  const message = `${place}: ${path === '' ? 'the event' : path} ${detail ?? MESSAGES[code]} (${code})`
  return { problem: { ...where, path, code, message } }
}

/** Turns an Ajv error into a problem. Only the schema's own words are used: allowed values, limits, types. */
function schemaProblem(where: Where, error: ErrorObject | undefined): { problem: Problem } {
  if (!error) return problem(where, '', 'not_an_object')
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required':
      return problem(where, `${error.instancePath}/${String(params.missingProperty)}`, 'missing_field')
    case 'type':
      return problem(where, error.instancePath, 'wrong_type', `must be ${String(params.type)}`)
    case 'enum':
    case 'const': {
      const allowed = (params.allowedValues as unknown[] | undefined) ?? [params.allowedValue]
      return problem(where, error.instancePath, 'not_allowed', `must be one of ${allowed.join(', ')}`)
    }
    case 'minimum':
    case 'maximum':
      return problem(where, error.instancePath, 'out_of_range', `must be ${String(params.comparison)} ${String(params.limit)}`)
    case 'maxItems':
      return problem(where, error.instancePath, 'too_many_items', `must have at most ${String(params.limit)} items`)
    default:
      return problem(where, error.instancePath, 'wrong_type')
  }
}

function reject(status: 400 | 413, code: RejectedBatch['code'], message: string): RejectedBatch {
  return { ok: false, status, code, message }
}

function tooMany(): RejectedBatch {
  return reject(413, 'too_many_events', `A request may carry at most ${LIMITS.eventsPerRequest} events; split the batch.`)
}

function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i
  }
  return -1
}

function utf8Length(line: string): number {
  // UTF-8 takes at least one byte per UTF-16 unit and at most three: decide without encoding when possible.
  if (line.length * 3 <= LIMITS.eventBytes) return line.length
  return Buffer.byteLength(line)
}

/** Undefined when the value is too deeply nested to serialize: V8's JSON.parse is iterative, but its
 * JSON.stringify recurses and throws a RangeError past a few thousand levels. */
function jsonBytes(value: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '')
  } catch (error) {
    if (error instanceof RangeError) return undefined
    throw error
  }
}

import type { FastifyReply } from 'fastify'
import { DAY_MS, type Clock } from '../clock.js'

/**
 * Reading the query string of the dashboard's data routes (sessions, explorer, settings): every parameter is
 * checked once here and refused with one sentence, so a misspelt or doubled parameter never silently widens
 * a query. Fastify hands repeated parameters over as arrays.
 */

export type Query = Record<string, unknown>

/** A bad parameter or body: answered as 400 with its message, which names the parameter and what it takes. */
export class BadRequest extends Error {}

export const HOUR_MS = 3_600_000
/** Like the analytics routes: a quarter and a bit. */
export const MAX_SPAN_MS = 93 * DAY_MS
export const DEFAULT_SPAN_MS = DAY_MS

/** The 400 for a BadRequest; anything else is a bug and goes on to the error handler. */
export function badRequest(reply: FastifyReply, error: unknown): FastifyReply {
  if (!(error instanceof BadRequest)) throw error
  return reply.code(400).send({ error: 'bad_request', message: error.message })
}

export function assertOnlyKeys(query: Query, allowed: readonly string[]): void {
  for (const key of Object.keys(query)) {
    if (!allowed.includes(key)) {
      throw new BadRequest(allowed.length ? `Unknown parameter "${key.slice(0, 40)}": this route takes ${allowed.join(', ')}.` : `This route takes no parameters ("${key.slice(0, 40)}").`)
    }
  }
}

export function single(query: Query, key: string): string | undefined {
  const value = query[key]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw new BadRequest(`Give "${key}" once.`)
  return value
}

/** A parameter that may be given several times, at most `max`. */
export function repeated(query: Query, key: string, max: number): string[] {
  const value = query[key]
  if (value === undefined) return []
  const values = Array.isArray(value) ? value : [value]
  if (values.length > max) throw new BadRequest(`Give "${key}" at most ${max} times.`)
  return values.map((v) => String(v))
}

export function oneOf<const T extends readonly string[]>(query: Query, key: string, allowed: T): T[number] | undefined {
  const value = single(query, key)
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) throw new BadRequest(`"${key}" must be one of ${allowed.join(', ')}.`)
  return value as T[number]
}

export function integer(query: Query, key: string, min: number, max: number): number | undefined {
  const value = single(query, key)
  if (value === undefined) return undefined
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) throw new BadRequest(`"${key}" must be a whole number from ${min} to ${max}.`)
  return Number(value)
}

export function text(query: Query, key: string, maxLength = 200): string | undefined {
  const value = single(query, key)
  if (value === undefined) return undefined
  if (value === '' || value.length > maxLength) throw new BadRequest(`"${key}" takes 1 to ${maxLength} characters.`)
  return value
}

/** An ISO 8601 time (`2026-11-22`, `2026-11-22T10:00:00Z`, with an offset) or milliseconds since the epoch. */
function time(query: Query, key: string): number | undefined {
  const value = single(query, key)
  if (value === undefined) return undefined
  const ms = /^\d{1,15}$/.test(value)
    ? Number(value)
    : /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(value)
      ? Date.parse(value)
      : Number.NaN
  if (!Number.isFinite(ms) || ms > 8_640_000_000_000_000) {
    throw new BadRequest(`"${key}" must be an ISO 8601 time like 2026-11-22T10:00:00Z or milliseconds since the epoch.`)
  }
  return ms
}

/** `from` (inclusive) and `to` (exclusive): the last 24 h by default, at most 93 days. */
export function timeRange(query: Query, clock: Clock): { since: number; until: number } {
  const to = time(query, 'to')
  const from = time(query, 'from')
  const until = to ?? clock.now()
  const since = from ?? until - DEFAULT_SPAN_MS
  if (since >= until) throw new BadRequest('"from" must be before "to".')
  if (until - since > MAX_SPAN_MS) throw new BadRequest('A time range may span at most 93 days.')
  return { since, until }
}

export const BUCKETS = { minute: 60_000, hour: HOUR_MS, day: DAY_MS } as const
export type BucketName = keyof typeof BUCKETS
const MAX_BUCKETS = 1500

/** The `bucket` asked for, or one that gives a readable chart for the span: minutes up to 6 h, hours up to 4 days. */
export function bucketOf(query: Query, since: number, until: number): BucketName {
  const span = until - since
  const asked = oneOf(query, 'bucket', Object.keys(BUCKETS) as BucketName[])
  const bucket = asked ?? (span <= 6 * HOUR_MS ? 'minute' : span <= 4 * DAY_MS ? 'hour' : 'day')
  if (Math.ceil(span / BUCKETS[bucket]) + 1 > MAX_BUCKETS) throw new BadRequest(`A ${bucket} bucket is too small for this range: use a larger one, or a shorter range.`)
  return bucket
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString()
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function sendBad(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: 'bad_request', message })
}

export function refuseParameters(query: Query, reply: FastifyReply, allowed: readonly string[]): FastifyReply | undefined {
  try {
    assertOnlyKeys(query, allowed)
    return undefined
  } catch (error) {
    return badRequest(reply, error)
  }
}

/** A JSON object with only these keys; no body at all counts as an empty object. */
export function refuseBody(body: unknown, reply: FastifyReply, allowed: readonly string[]): FastifyReply | undefined {
  if (body === undefined || body === null) return allowed.length === 0 ? undefined : sendBad(reply, `Send a JSON object with ${allowed.join(', ')}.`)
  if (!isObject(body)) return sendBad(reply, 'The body must be a JSON object.')
  const unknown = Object.keys(body).find((key) => !allowed.includes(key))
  if (unknown !== undefined) return sendBad(reply, allowed.length ? `Unknown field "${unknown.slice(0, 40)}": this route takes ${allowed.join(', ')}.` : 'This route takes no fields.')
  return undefined
}

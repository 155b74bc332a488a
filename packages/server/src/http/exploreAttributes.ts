import type { TSchema } from '@sinclair/typebox'
import { EVENT_SCHEMAS } from '../protocol/wireSchema.js'
import type { AttributePath } from '../store/ExploreStore.js'
import { BadRequest } from './queryParameters.js'

/**
 * The attributes the explorer may filter and group by: the scalar fields of the wire schema (one source of
 * truth with ingest and docs/PROTOCOL.md), the fields the server adds (pipeline/storedEvent.ts), and the
 * site's own `context.<key>` attributes. Anything else is refused before it gets near a query.
 */

/** Fields the server adds to a stored event. */
const SERVER_ATTRIBUTES = [
  'session.id',
  'device.type',
  'device.browser',
  'device.browser_version',
  'device.os',
  'device.os_version',
  'geo.country',
  'geo.city',
  'network.ip_prefix',
  'bot',
  'issue.fingerprint',
  'issue.title',
  'issue.culprit',
]

/** A `context` key segment: letters, digits and `_ $ @ + -`, up to 64 characters; up to 4 levels deep. */
const CONTEXT_SEGMENT = /^[\w$@+-]{1,64}$/
const MAX_CONTEXT_DEPTH = 4

function scalarPaths(schema: TSchema, prefix: string, into: Set<string>): void {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties
  if (!properties) return
  for (const [key, child] of Object.entries(properties)) {
    const path = prefix ? `${prefix}.${key}` : key
    const node = child as { type?: string; properties?: unknown; 'x-free-form'?: boolean }
    if (node['x-free-form'] || node.type === 'array') continue
    if (node.type === 'object' || node.properties) scalarPaths(child, path, into)
    else into.add(path)
  }
}

function wireAttributes(): Set<string> {
  const paths = new Set<string>(SERVER_ATTRIBUTES)
  for (const schema of Object.values(EVENT_SCHEMAS)) scalarPaths(schema, '', paths)
  // The type is its own parameter, and time is the range.
  paths.delete('type')
  paths.delete('ts')
  return paths
}

/** Every attribute name the explorer takes besides `context.<key>`, sorted, for docs and messages. */
export const EXPLORE_ATTRIBUTES: readonly string[] = [...wireAttributes()].sort()
const KNOWN = new Set(EXPLORE_ATTRIBUTES)

/** `view.url` → ['view', 'url']; `context.plan.tier` → ['context', 'plan', 'tier']; anything else is refused. */
export function parseAttribute(parameter: string, name: string): AttributePath {
  if (KNOWN.has(name)) return name.split('.')
  if (name.startsWith('context.')) {
    const segments = name.slice('context.'.length).split('.')
    if (segments.length <= MAX_CONTEXT_DEPTH && segments.every((segment) => CONTEXT_SEGMENT.test(segment))) return ['context', ...segments]
  }
  throw new BadRequest(
    `"${parameter}" names an unknown attribute "${name.slice(0, 80)}": use one like view.url, error.type, action.name, custom.name, geo.country, device.browser, or context.<key> (letters, digits, _ $ @ + -).`,
  )
}

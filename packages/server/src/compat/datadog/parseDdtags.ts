/** Tags read from one `ddtags` value. The SDK sends five or six; anything past this is not the SDK's. */
export const MAX_DDTAGS = 64

// Keys that would reach Object.prototype when assigned.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * Datadog's `ddtags`: `sdk_version:7.16.2,env:prod,service:shop,version:1.2.3` — in the query of v5/v6
 * batches and on every event from v7 on (browser-core's buildTags; the SDK replaces commas inside a value
 * with `_`, so a comma always separates tags). A tag is `key:value` split at the first colon (a value may
 * hold more, e.g. a version `1.2.3:rc`); a bare `key` gets an empty value; the first of a repeated key wins.
 */
export function parseDdtags(value: string | undefined): Record<string, string> {
  const tags: Record<string, string> = {}
  if (typeof value !== 'string' || value === '') return tags
  for (const part of value.split(',', MAX_DDTAGS)) {
    const colon = part.indexOf(':')
    const key = (colon === -1 ? part : part.slice(0, colon)).trim()
    if (key === '' || FORBIDDEN_KEYS.has(key) || Object.hasOwn(tags, key)) continue
    tags[key] = colon === -1 ? '' : part.slice(colon + 1).trim()
  }
  return tags
}

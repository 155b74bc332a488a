import type { AppSettings } from '../../apps/appSettings.js'
import type { JsonValue } from '../../protocol/wireSchema.js'
import { createSensitiveKeyFinder, createSensitiveKeyMatcher } from './createSensitiveKeyMatcher.js'
import { createTextScrubber } from './createTextScrubber.js'
import { createUrlScrubber } from './createUrlScrubber.js'

export type ScrubOptions = AppSettings['scrub']

export interface Scrubber {
  /** Free text: messages, stacks, names. */
  text(text: string): string
  /** A URL or path: query parameters and path rules apply as well as the text rules. */
  url(url: string): string
  /** A free-form value (context, report bodies): keys and values, recursively. Returns a new value. */
  value(value: JsonValue): JsonValue
}

const SECRET = '[secret]'
/** Strings that start like an absolute URL get the URL treatment inside free-form objects too. */
const LOOKS_LIKE_URL = /^[a-z][a-z0-9+.-]*:\/\/\S*$/i

/**
 * Compiled once per settings object: it runs for every event on the ingest hot path, and the app registry
 * hands out the same settings object until the app's settings change, so a WeakMap keyed by identity hits
 * almost always and lets old compilations be collected with their settings.
 */
const compiled = new WeakMap<ScrubOptions, Scrubber>()

export function createScrubber(options: ScrubOptions): Scrubber {
  let scrubber = compiled.get(options)
  if (!scrubber) {
    scrubber = compileScrubber(options)
    compiled.set(options, scrubber)
  }
  return scrubber
}

function compileScrubber(options: ScrubOptions): Scrubber {
  const isSensitiveKey = createSensitiveKeyMatcher(options.sensitiveKeys)
  const text = createTextScrubber(options.patterns, isSensitiveKey, createSensitiveKeyFinder(options.sensitiveKeys))
  const url = createUrlScrubber(options, text, isSensitiveKey)

  const scrubString = (value: string) => (LOOKS_LIKE_URL.test(value) ? url(value) : text(value))

  /**
   * Under a sensitive key, strings and numbers become `[secret]` all the way down (a `session` object's
   * fields are the session); booleans and null say nothing about anyone and are kept.
   */
  function scrubValue(value: JsonValue, secret: boolean): JsonValue {
    if (typeof value === 'string') return secret ? SECRET : scrubString(value)
    if (typeof value === 'number') return secret ? SECRET : value
    if (value === null || typeof value === 'boolean') return value
    if (Array.isArray(value)) return value.map((item) => scrubValue(item, secret))
    const result: { [key: string]: JsonValue } = {}
    for (const key of Object.keys(value)) {
      const child = value[key] as JsonValue
      const underSecret = secret || isSensitiveKey(key)
      result[text(key)] = scrubValue(child, underSecret)
    }
    return result
  }

  return { text, url, value: (value) => scrubValue(value, false) }
}

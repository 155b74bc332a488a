import type { AttributePath, ExploreResult, SessionListQuery } from '../ExploreStore.js'

/**
 * What the explorer's answers mean, whatever the adapter (store/ExploreStore.ts): which attribute paths are
 * accepted, what a typed-in filter value may equal, how group keys are cut and ordered. Both adapters follow
 * SQLite's json_extract: a JSON string equals its text, a number equals a value that reads as that number,
 * true and false are 1 and 0.
 */

const SEGMENT = /^[^"\\]{1,128}$/
/** Group keys are cut to this many characters (ExploreStore.ts, `groups`). */
export const GROUP_KEY_CHARS = 512

/** The path's segments, or a RangeError: 1 to 8 segments of 1 to 128 characters without `"` or `\`, so each can be quoted. */
export function checkAttributePath(path: AttributePath): readonly string[] {
  if (path.length === 0 || path.length > 8 || !path.every((segment) => SEGMENT.test(segment))) {
    throw new RangeError('An attribute path is 1 to 8 segments of 1 to 128 characters without quotes or backslashes.')
  }
  return path
}

/** What a typed-in value may equal in the JSON: the text, a number, a boolean (as json_extract gives it: 1 or 0). */
export function matchCandidates(value: string): Array<string | number> {
  const candidates: Array<string | number> = [value]
  if (/^-?\d{1,15}(\.\d{1,15})?$/.test(value)) candidates.push(Number(value))
  if (value === 'true') candidates.push(1)
  if (value === 'false') candidates.push(0)
  return candidates
}

/** SQLite's order of values: NULL, then numbers, then text. */
export function compareGroupKeys(a: ExploreResult['groups'][number]['key'], b: ExploreResult['groups'][number]['key']): number {
  const rank = (key: typeof a) => (key === null ? 0 : typeof key === 'string' ? 2 : 1)
  if (rank(a) !== rank(b)) return rank(a) - rank(b)
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  return Number(a) - Number(b)
}

/** The sessions list's filters and the `sessions` columns they compare. */
export const SESSION_FILTER_COLUMNS: ReadonlyArray<readonly [keyof SessionListQuery, string]> = [
  ['country', 'country'],
  ['browser', 'browser'],
  ['os', 'os'],
  ['deviceType', 'device_type'],
  ['release', 'release'],
  ['entryPage', 'entry_page'],
  ['env', 'env'],
]

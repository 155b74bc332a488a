import { isUtf8 } from 'node:buffer'
import { FlattenMap } from '@jridgewell/trace-mapping'
import type { SourceFileKind } from '../store/SourceMapStore.js'
import { SOURCE_MAP_LIMITS } from './sourceMapLimits.js'

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string }

// Control characters (C0, DEL, C1), invisible format characters (bidi overrides could make a name read as
// another in a terminal) and line/paragraph separators.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u
const BUNDLE_EXTENSIONS = ['.js', '.mjs', '.cjs']

/** A release name as events carry it: 1–256 printable characters, not padded with spaces. */
export function checkRelease(release: unknown): Checked<string> {
  if (typeof release !== 'string' || release === '') return { ok: false, message: 'The release is missing: name the release the files belong to.' }
  if (release.length > SOURCE_MAP_LIMITS.releaseChars) return { ok: false, message: `The release is longer than ${SOURCE_MAP_LIMITS.releaseChars} characters.` }
  if (UNPRINTABLE.test(release) || release.trim() !== release) {
    return { ok: false, message: 'The release contains control characters or surrounding spaces.' }
  }
  return { ok: true, value: release }
}

/**
 * A file name is the path the bundle is served under, relative to the site's root (or to a `--url-prefix`),
 * with `/` separators: `assets/app.3f9a.js.map`. A leading `~/` (Sentry's "any host" prefix) or `./` is
 * dropped. Refused: absolute paths, drive letters, URLs, backslashes, `.` and `..` segments, empty segments,
 * unprintable characters, and extensions other than `.map`, `.js`, `.mjs` and `.cjs`. Names are only ever
 * matched against stack frames, never used as paths on disk, but a name that could climb out of a directory
 * has no business in a listing an operator might feed to a script.
 */
export function checkSourceFileName(name: unknown): Checked<{ name: string; kind: SourceFileKind }> {
  if (typeof name !== 'string' || name === '') return { ok: false, message: 'The file name is missing: give the path the file is served under, e.g. assets/app.js.map.' }
  let path = name
  if (path.startsWith('~/')) path = path.slice(2)
  while (path.startsWith('./')) path = path.slice(2)
  if (path.length > SOURCE_MAP_LIMITS.nameChars) return { ok: false, message: `The file name is longer than ${SOURCE_MAP_LIMITS.nameChars} characters.` }
  if (UNPRINTABLE.test(path)) return { ok: false, message: 'The file name contains control characters.' }
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('://')) {
    return { ok: false, message: 'The file name must be a relative path such as assets/app.js.map, not an absolute path or URL.' }
  }
  if (path.includes('\\')) return { ok: false, message: 'The file name must use "/" between directories, not "\\".' }
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return { ok: false, message: 'The file name must not contain "..", "." or empty path segments.' }
  }
  const lower = path.toLowerCase()
  if (lower.endsWith('.map')) return { ok: true, value: { name: path, kind: 'map' } }
  if (BUNDLE_EXTENSIONS.some((extension) => lower.endsWith(extension))) return { ok: true, value: { name: path, kind: 'bundle' } }
  return { ok: false, message: 'Only source maps (.map) and the scripts they belong to (.js, .mjs, .cjs) can be uploaded.' }
}

/** What a file's content says: a map is valid, a bundle names its map (or not). */
export type CheckedContent = Checked<{ sourceMappingUrl: string | null; inlineMap: boolean }>

export function checkSourceFileContent(kind: SourceFileKind, content: Buffer): CheckedContent {
  if (kind === 'bundle') {
    const url = findSourceMappingUrl(content)
    const inlineMap = url === 'data:'
    return { ok: true, value: { sourceMappingUrl: inlineMap ? null : url, inlineMap } }
  }
  const parsed = parseSourceMap(content)
  return parsed.ok ? { ok: true, value: { sourceMappingUrl: null, inlineMap: false } } : parsed
}

/**
 * Parses and checks a source map v3 (https://tc39.es/ecma426/): a JSON object with `version: 3`, string
 * `mappings` of Base64 VLQ characters, `sources` (strings or null), optional `names`, `sourcesContent` and
 * `sourceRoot`; or an index map whose `sections` embed such maps (sections that point at a `url` are
 * refused: nothing is ever fetched). The result is what trace-mapping accepts.
 */
export function parseSourceMap(content: Buffer): Checked<SourceMapObject> {
  if (!isUtf8(content)) return { ok: false, message: 'The source map is not UTF-8 text.' }
  let text = content.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  // The spec lets a map start with the XSSI guard `)]}'` up to the end of its line.
  if (text.startsWith(")]}'")) text = text.slice(text.indexOf('\n') + 1 || text.length)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, message: 'The source map is not valid JSON.' }
  }
  const problem = mapProblem(json, true)
  if (problem) return { ok: false, message: `The file is not a source map v3: ${problem}.` }
  try {
    // FlattenMap checks what the shape check above cannot (section order, mappings it can index).
    new FlattenMap(json as SourceMapObject)
  } catch {
    return { ok: false, message: 'The file is not a source map v3: its sections or mappings cannot be read.' }
  }
  return { ok: true, value: json as SourceMapObject }
}

/** What `JSON.parse` gave for a map that passed parseSourceMap; trace-mapping reads it. */
export type SourceMapObject = ConstructorParameters<typeof FlattenMap>[0]

const VLQ_CHARS = /^[A-Za-z0-9+/,;]*$/

function mapProblem(json: unknown, allowSections: boolean): string | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return 'it is not a JSON object'
  const map = json as Record<string, unknown>
  if (map.version !== 3) return '"version" is not 3'
  if (map.sections !== undefined) {
    if (!allowSections) return 'a section holds sections of its own'
    if (!Array.isArray(map.sections)) return '"sections" is not an array'
    for (const section of map.sections as unknown[]) {
      const entry = section as Record<string, unknown> | null
      if (entry === null || typeof entry !== 'object') return 'a section is not an object'
      if (entry.url !== undefined) return 'a section points at a URL instead of embedding its map'
      const offset = entry.offset as Record<string, unknown> | null | undefined
      if (!offset || typeof offset !== 'object' || !Number.isInteger(offset.line) || !Number.isInteger(offset.column)) return 'a section has no valid "offset"'
      const inner = mapProblem(entry.map, false)
      if (inner) return inner
    }
    return undefined
  }
  if (typeof map.mappings !== 'string') return '"mappings" is not a string'
  if (!VLQ_CHARS.test(map.mappings)) return '"mappings" holds characters that are not Base64 VLQ'
  if (!isArrayOf(map.sources, (v) => typeof v === 'string' || v === null)) return '"sources" is not an array of strings'
  if (map.names !== undefined && !isArrayOf(map.names, (v) => typeof v === 'string')) return '"names" is not an array of strings'
  if (map.sourcesContent !== undefined && map.sourcesContent !== null && !isArrayOf(map.sourcesContent, (v) => typeof v === 'string' || v === null)) {
    return '"sourcesContent" is not an array of strings'
  }
  if (map.sourceRoot !== undefined && map.sourceRoot !== null && typeof map.sourceRoot !== 'string') return '"sourceRoot" is not a string'
  return undefined
}

function isArrayOf(value: unknown, test: (item: unknown) => boolean): boolean {
  return Array.isArray(value) && value.every(test)
}

const MAX_URL_CHARS = 2048
const MARKER = Buffer.from('sourceMappingURL=', 'latin1')

/**
 * The value of a script's last `//# sourceMappingURL=` comment (also the old `//@` form), or null. The comment
 * ends the script, possibly followed by whitespace or other comments; earlier ones are quoted strings or were
 * overridden. Only read, never fetched: it says which uploaded map a bundle belongs to. An inline map gives
 * just `data:`: it is not used (upload the map as a file).
 */
export function findSourceMappingUrl(content: Buffer): string | null {
  let at = content.lastIndexOf(MARKER)
  while (at >= 4) {
    const before = content.toString('latin1', at - 4, at)
    if (before === '//# ' || before === '//@ ' || before.endsWith('//#') || before.endsWith('//@')) {
      const start = at + MARKER.length
      // An inline map is a data: URL of up to megabytes: its scheme is all that matters here.
      if (content.toString('latin1', start, start + 5).toLowerCase() === 'data:') return 'data:'
      let end = start
      while (end < content.length && end - start <= MAX_URL_CHARS && !isSpace(content[end]!)) end++
      const url = content.toString('utf8', start, end)
      return url === '' || url.length > MAX_URL_CHARS || UNPRINTABLE.test(url) ? null : url
    }
    at = content.lastIndexOf(MARKER, at - 1)
  }
  return null
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0b || byte === 0x0c
}

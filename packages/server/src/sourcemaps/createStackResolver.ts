import { FlattenMap, originalPositionFor, sourceContentFor, type TraceMap } from '@jridgewell/trace-mapping'
import type { Clock } from '../clock.js'
import { isInApp, parseStack, type StackFrame } from '../errors/parseStack.js'
import { truncate } from '../protocol/limits.js'
import type { SourceFile, SourceMapStore } from '../store/SourceMapStore.js'
import { parseSourceMap } from './checkSourceFile.js'
import { createReleaseIndex, type ReleaseIndex } from './createReleaseIndex.js'

/**
 * Why a frame stayed as it was:
 * - `no_release`: the event names no release, and maps are uploaded per release;
 * - `no_source_maps`: nothing was uploaded for the event's release;
 * - `no_position`: the frame has no script or no line and column (native code, `<anonymous>`);
 * - `no_map`: no uploaded map belongs to the frame's script;
 * - `bad_map`: the matching map could not be read;
 * - `no_mapping`: the map has no mapping at the frame's position (e.g. the map is for another build).
 */
export type UnresolvedReason = 'no_release' | 'no_source_maps' | 'no_position' | 'no_map' | 'bad_map' | 'no_mapping'

/** Lines of original source around a resolved frame's line; each line cut at CONTEXT_LINE_CHARS. */
export interface SourceContext {
  /** Up to CONTEXT_LINES lines before, the nearest last. */
  pre: string[]
  /** The frame's own line. */
  line: string
  /** Up to CONTEXT_LINES lines after. */
  post: string[]
}

/**
 * A frame as it should be shown: for a resolved frame, the original source's file, line, column (1-based, like
 * stack traces) and function; otherwise the frame as the stack had it, with the reason. `minified` is always
 * the frame as parsed from the stack.
 */
export interface ResolvedFrame extends StackFrame {
  resolved: boolean
  reason?: UnresolvedReason
  /** The uploaded map used, e.g. `assets/app.3f9a.js.map`. */
  map?: string
  context?: SourceContext
  minified: StackFrame
}

export interface StackResolver {
  /** Parses a stack string (errors/parseStack.ts) and resolves its frames. Never throws for a bad stack or map. */
  resolveStack(appId: number, release: string | null | undefined, stack: string): Promise<ResolvedFrame[]>
  /** Resolves frames in stack order, most recent first (the order matters for function names). */
  resolveFrames(appId: number, release: string | null | undefined, frames: readonly StackFrame[]): Promise<ResolvedFrame[]>
  /** Forgets what is cached for a release, or for every release of an app: after an upload, delete or purge. */
  invalidate(appId: number, release?: string): void
  /** What the map cache holds now. */
  cacheStats(): { maps: number; bytes: number }
}

export interface StackResolverDeps {
  store: { sourceMaps: SourceMapStore }
  clock: Clock
  /** Bound of the parsed-map cache, as estimated from the maps' sizes. Default 64 MiB. */
  maxCachedBytes?: number
  /**
   * How long a release's file list is trusted before it is read again. Uploads by this process invalidate at
   * once; this bounds how long an upload by another process (the CLI, another node) goes unseen. Default 1 s.
   */
  releaseTtlMs?: number
}

export const CONTEXT_LINES = 5
export const CONTEXT_LINE_CHARS = 240
const DEFAULT_MAX_CACHED_BYTES = 64 * 1024 * 1024
const DEFAULT_RELEASE_TTL_MS = 1000
/** Release file lists kept at once; each is small, but apps × releases is unbounded. */
const MAX_CACHED_RELEASES = 256
/**
 * A parsed map costs about three times its JSON in heap (measured on a 5 MB esbuild map with sources
 * content: 15 MB), plus the split source lines kept for context.
 */
const HEAP_BYTES_PER_MAP_BYTE = 4

interface CachedMap {
  map: TraceMap
  bytes: number
  appId: number
  release: string
  /** Source lines by source, split when first needed for context; null without sources content. */
  lines: Map<string, string[] | null>
}

interface CachedRelease {
  expiresAt: number
  index: Promise<ReleaseIndex>
}

/**
 * Resolves minified stack frames with the app's uploaded source maps, when an issue is read (not at ingest:
 * a map uploaded after the errors arrived still applies, and ingest never waits for a map). Only uploaded
 * files are used; no URL from a stack or a `sourceMappingURL` is ever fetched.
 *
 * Parsed maps are cached in an LRU bounded by estimated bytes and keyed by the map's content hash, so a
 * re-upload of a changed map under the same name can never be answered from the old one.
 */
export function createStackResolver(deps: StackResolverDeps): StackResolver {
  const maxBytes = deps.maxCachedBytes ?? DEFAULT_MAX_CACHED_BYTES
  const ttl = deps.releaseTtlMs ?? DEFAULT_RELEASE_TTL_MS
  const releases = new Map<string, CachedRelease>()
  // Insertion order is recency order: a hit is moved to the end, eviction takes from the front.
  const maps = new Map<string, CachedMap>()
  const loading = new Map<string, Promise<CachedMap | undefined>>()
  let cachedBytes = 0

  function releaseIndex(appId: number, release: string): Promise<ReleaseIndex> {
    const key = releaseKey(appId, release)
    const now = deps.clock.now()
    const cached = releases.get(key)
    if (cached && cached.expiresAt > now) return cached.index
    releases.delete(key)
    if (releases.size >= MAX_CACHED_RELEASES) releases.delete(releases.keys().next().value!)
    const index = deps.store.sourceMaps.listFiles(appId, release).then(createReleaseIndex)
    // A failed read is not cached: the next call asks the store again.
    index.catch(() => releases.delete(key))
    releases.set(key, { expiresAt: now + ttl, index })
    return index
  }

  async function loadMap(file: SourceFile): Promise<CachedMap | undefined> {
    const key = mapKey(file.appId, file.sha256)
    const hit = maps.get(key)
    if (hit) {
      maps.delete(key)
      maps.set(key, hit)
      return hit
    }
    let pending = loading.get(key)
    if (!pending) {
      pending = readMap(file).finally(() => loading.delete(key))
      loading.set(key, pending)
    }
    return pending
  }

  async function readMap(file: SourceFile): Promise<CachedMap | undefined> {
    const stored = await deps.store.sourceMaps.readMap(file.appId, file.release, file.name)
    // Replaced meanwhile: the release's list will show the new file within the TTL.
    if (!stored || stored.file.sha256 !== file.sha256) return undefined
    const parsed = parseSourceMap(stored.content)
    if (!parsed.ok) return undefined
    let map: TraceMap
    try {
      // The map's own name as its URL: relative `sources` then read as paths of the upload (`src/app.ts`).
      map = new FlattenMap(parsed.value, file.name)
    } catch {
      return undefined
    }
    const entry: CachedMap = { map, bytes: stored.content.length * HEAP_BYTES_PER_MAP_BYTE, appId: file.appId, release: file.release, lines: new Map() }
    // A map larger than the whole cache serves this call and is not kept.
    if (entry.bytes <= maxBytes) {
      const key = mapKey(file.appId, file.sha256)
      maps.set(key, entry)
      cachedBytes += entry.bytes
      for (const [oldest, old] of maps) {
        if (cachedBytes <= maxBytes) break
        maps.delete(oldest)
        cachedBytes -= old.bytes
      }
    }
    return entry
  }

  async function resolveFrames(appId: number, release: string | null | undefined, frames: readonly StackFrame[]): Promise<ResolvedFrame[]> {
    if (release === undefined || release === null || release === '') return frames.map((frame) => unresolved(frame, 'no_release'))
    let index: ReleaseIndex
    try {
      index = await releaseIndex(appId, release)
    } catch {
      return frames.map((frame) => unresolved(frame, 'no_source_maps'))
    }
    if (index.files === 0) return frames.map((frame) => unresolved(frame, 'no_source_maps'))

    const results: ResolvedFrame[] = []
    // The name a map gives at each frame's position: the identifier at the call, i.e. the called function.
    const calleeNames: Array<string | undefined> = []
    for (const frame of frames) {
      const { result, calleeName } = await resolveFrame(index, frame)
      results.push(result)
      calleeNames.push(calleeName)
    }
    // A frame's own function is named at its caller's call site, the next frame down (what Sentry does too):
    // the name at the frame's own position is that of the function it was calling.
    for (let i = 0; i < results.length; i++) {
      const result = results[i]!
      const name = calleeNames[i + 1]
      if (result.resolved && name !== undefined) result.function = name
    }
    return results
  }

  async function resolveFrame(index: ReleaseIndex, frame: StackFrame): Promise<{ result: ResolvedFrame; calleeName?: string }> {
    if (frame.file === undefined || frame.line === undefined || frame.column === undefined) return { result: unresolved(frame, 'no_position') }
    const file = index.mapFor(frame.file)
    if (!file) return { result: unresolved(frame, 'no_map') }
    let cached: CachedMap | undefined
    try {
      cached = await loadMap(file)
    } catch {
      cached = undefined
    }
    if (!cached) return { result: unresolved(frame, 'bad_map') }
    const position = originalPositionFor(cached.map, { line: frame.line, column: Math.max(0, frame.column - 1) })
    if (position.source === null) return { result: unresolved(frame, 'no_mapping') }
    const source = shownSource(position.source)
    const result: ResolvedFrame = {
      file: source,
      line: position.line,
      column: position.column + 1,
      inApp: isInApp(source),
      resolved: true,
      map: file.name,
      minified: frame,
    }
    if (frame.function !== undefined) result.function = frame.function
    const context = sourceContext(cached, position.source, position.line)
    if (context) result.context = context
    return position.name === null ? { result } : { result, calleeName: position.name }
  }

  function sourceContext(cached: CachedMap, source: string, line: number): SourceContext | undefined {
    let lines = cached.lines.get(source)
    if (lines === undefined) {
      const content = sourceContentFor(cached.map, source)
      lines = content === null ? null : content.split(/\r\n|\r|\n/)
      cached.lines.set(source, lines)
    }
    if (lines === null || line < 1 || line > lines.length) return undefined
    const at = line - 1
    return {
      pre: lines.slice(Math.max(0, at - CONTEXT_LINES), at).map(cutLine),
      line: cutLine(lines[at]!),
      post: lines.slice(at + 1, at + 1 + CONTEXT_LINES).map(cutLine),
    }
  }

  return {
    resolveFrames,
    async resolveStack(appId, release, stack) {
      return resolveFrames(appId, release, parseStack(stack))
    },
    invalidate(appId, release) {
      const prefix = `${appId}\0`
      for (const key of releases.keys()) {
        if (release === undefined ? key.startsWith(prefix) : key === releaseKey(appId, release)) releases.delete(key)
      }
      // Maps are keyed by content, but a deleted release's maps should not stay in memory either.
      for (const [key, entry] of maps) {
        if (entry.appId === appId && (release === undefined || entry.release === release)) {
          maps.delete(key)
          cachedBytes -= entry.bytes
        }
      }
    },
    cacheStats() {
      return { maps: maps.size, bytes: cachedBytes }
    },
  }
}

function unresolved(frame: StackFrame, reason: UnresolvedReason): ResolvedFrame {
  return { ...frame, resolved: false, reason, minified: frame }
}

/**
 * Sources are resolved against the map's name, so a bundler's `../../src/app.ts` next to `assets/app.js.map`
 * reads `../src/app.ts` when the upload's root is the build directory: the climb out of it says nothing.
 */
function shownSource(source: string): string {
  let start = 0
  while (source.startsWith('../', start) || source.startsWith('./', start)) start += source.startsWith('./', start) ? 2 : 3
  return start === 0 ? source : source.slice(start)
}

function cutLine(line: string): string {
  return truncate(line, CONTEXT_LINE_CHARS)
}

function releaseKey(appId: number, release: string): string {
  return `${appId}\0${release}`
}

function mapKey(appId: number, sha256: string): string {
  return `${appId}:${sha256}`
}

import { posix } from 'node:path'
import type { SourceFile } from '../store/SourceMapStore.js'

export interface ReleaseIndex {
  /** Files of the release, maps and bundles. */
  readonly files: number
  /** The uploaded map for a stack frame's script URL or path, if any. */
  mapFor(frameFile: string): SourceFile | undefined
}

/** Path segments of a frame's URL considered: deeper paths are not served by anyone. */
const MAX_SEGMENTS = 32
const MAX_MEMO = 1000

/**
 * Finds the map for a frame by names only — nothing is fetched. The frame's URL is reduced to its path
 * (`https://cdn.example.com/assets/app.3f9a.js?v=2` → `assets/app.3f9a.js`), then, for that path and each
 * shorter suffix of it at a `/` (longest first, so `static/app.js` wins over `app.js`):
 * 1. an uploaded bundle of that name whose `sourceMappingURL` names an uploaded map (resolved against the
 *    bundle's directory, or, for an absolute URL, by the URL's path);
 * 2. an uploaded map named like the script plus `.map`.
 * Uploads under `--url-prefix static` are named `static/…`, so they match frames served under `/static/`.
 */
export function createReleaseIndex(files: readonly SourceFile[]): ReleaseIndex {
  const byName = new Map<string, SourceFile>()
  for (const file of files) byName.set(file.name, file)

  function mapNamed(path: string): SourceFile | undefined {
    const file = byName.get(path)
    return file?.kind === 'map' ? file : undefined
  }

  /** A sourceMappingURL resolved to an uploaded map: exactly, else by the longest suffix that names one. */
  function linkedMap(bundle: SourceFile): SourceFile | undefined {
    const url = bundle.sourceMappingUrl
    if (url === null) return undefined
    const absolute = pathOf(url)
    const path = absolute ?? posix.normalize(posix.join(posix.dirname(bundle.name), safeDecode(stripQuery(url))))
    const segments = splitPath(path)
    for (let i = 0; i < segments.length; i++) {
      const map = mapNamed(segments.slice(i).join('/'))
      if (map) return map
      // A relative URL resolved inside the upload must match exactly; only a URL's path may have a prefix.
      if (absolute === undefined && !path.startsWith('../')) break
    }
    return undefined
  }

  const memo = new Map<string, SourceFile | undefined>()
  return {
    files: byName.size,
    mapFor(frameFile) {
      // A stack repeats its few script URLs: remember the answers (bounded, as URLs come from clients).
      if (memo.has(frameFile)) return memo.get(frameFile)
      const found = findMap(frameFile)
      if (memo.size < MAX_MEMO) memo.set(frameFile, found)
      return found
    },
  }

  function findMap(frameFile: string): SourceFile | undefined {
    const path = pathOf(frameFile) ?? frameFile.replaceAll('\\', '/')
    const segments = splitPath(safeDecode(stripQuery(path)))
    for (let i = 0; i < segments.length; i++) {
      const suffix = segments.slice(i).join('/')
      const bundle = byName.get(suffix)
      const linked = bundle?.kind === 'bundle' ? linkedMap(bundle) : undefined
      if (linked) return linked
      const sibling = mapNamed(`${suffix}.map`)
      if (sibling) return sibling
    }
    return undefined
  }
}

/** The path of a URL with a scheme (`https:`, `file:`, `app:`, `webpack:`), or undefined for a plain path. */
function pathOf(file: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) return undefined
  try {
    return new URL(file).pathname
  } catch {
    return undefined
  }
}

function stripQuery(path: string): string {
  const end = path.search(/[?#]/)
  return end === -1 ? path : path.slice(0, end)
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

/** Non-empty segments, `.` and `..` dropped, at most the last MAX_SEGMENTS. */
function splitPath(path: string): string[] {
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
  return segments.length > MAX_SEGMENTS ? segments.slice(-MAX_SEGMENTS) : segments
}

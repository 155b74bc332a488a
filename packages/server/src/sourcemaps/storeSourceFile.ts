import type { Clock } from '../clock.js'
import type { SourceFile, SourceMapStore } from '../store/SourceMapStore.js'
import { checkRelease, checkSourceFileContent, checkSourceFileName } from './checkSourceFile.js'
import { SOURCE_MAP_LIMITS } from './sourceMapLimits.js'

export type StoreSourceFileResult =
  | { ok: true; file: SourceFile; replaced: boolean; inlineMap: boolean }
  | { ok: false; status: 400 | 413; code: StoreSourceFileError; message: string }

export type StoreSourceFileError =
  | 'bad_release'
  | 'bad_name'
  | 'invalid_source_map'
  | 'file_too_large'
  | 'release_too_large'
  | 'too_many_files'
  | 'app_quota_exceeded'

/**
 * Checks one uploaded file and stores it: the one path for both the HTTP endpoint and `tacit sourcemaps
 * upload`, so they accept and refuse the same files with the same sentences.
 */
export async function storeSourceFile(
  deps: { sourceMaps: SourceMapStore; clock: Clock },
  input: { appId: number; release: unknown; name: unknown; content: Buffer },
): Promise<StoreSourceFileResult> {
  const release = checkRelease(input.release)
  if (!release.ok) return { ok: false, status: 400, code: 'bad_release', message: release.message }
  const named = checkSourceFileName(input.name)
  if (!named.ok) return { ok: false, status: 400, code: 'bad_name', message: named.message }
  if (input.content.length > SOURCE_MAP_LIMITS.fileBytes) {
    return { ok: false, status: 413, code: 'file_too_large', message: `The file is larger than ${formatBytes(SOURCE_MAP_LIMITS.fileBytes)}, the limit for one file.` }
  }
  const { name, kind } = named.value
  const content = checkSourceFileContent(kind, input.content)
  if (!content.ok) return { ok: false, status: 400, code: 'invalid_source_map', message: content.message }

  const stored = await deps.sourceMaps.put(
    { appId: input.appId, release: release.value, name, kind, content: input.content, sourceMappingUrl: content.value.sourceMappingUrl, uploadedAt: deps.clock.now() },
    { releaseBytes: SOURCE_MAP_LIMITS.releaseBytes, releaseFiles: SOURCE_MAP_LIMITS.releaseFiles, appBytes: SOURCE_MAP_LIMITS.appBytes },
  )
  if (stored.ok) return { ...stored, inlineMap: content.value.inlineMap }
  const { exceeded, used, limit } = stored
  if (exceeded === 'release_files') {
    return { ok: false, status: 413, code: 'too_many_files', message: `The release already has ${used} files, the most one release may have.` }
  }
  if (exceeded === 'release_bytes') {
    return {
      ok: false,
      status: 413,
      code: 'release_too_large',
      message: `The release's source maps would exceed ${formatBytes(limit)} (${formatBytes(used)} stored already).`,
    }
  }
  return {
    ok: false,
    status: 413,
    code: 'app_quota_exceeded',
    message: `The app's source maps would exceed ${formatBytes(limit)} (${formatBytes(used)} stored): delete old releases' source maps first.`,
  }
}

/** `32 MiB`, `1.5 MiB`, `812 KiB`, `90 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${trim(bytes / (1024 * 1024))} MiB`
  if (bytes >= 1024) return `${trim(bytes / 1024)} KiB`
  return `${bytes} bytes`
}

function trim(value: number): string {
  return value >= 100 ? String(Math.round(value)) : String(Math.round(value * 10) / 10)
}

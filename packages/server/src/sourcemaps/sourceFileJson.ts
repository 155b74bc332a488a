import type { SourceFile, SourceMapRelease } from '../store/SourceMapStore.js'

/** A stored file as the API and `--json` show it. */
export function sourceFileJson(file: SourceFile) {
  return {
    release: file.release,
    name: file.name,
    kind: file.kind,
    size: file.size,
    stored_size: file.storedSize,
    sha256: file.sha256,
    source_mapping_url: file.sourceMappingUrl,
    uploaded_at: new Date(file.uploadedAt).toISOString(),
  }
}

export function sourceMapReleaseJson(release: SourceMapRelease) {
  return { release: release.release, files: release.files, maps: release.maps, bytes: release.bytes, uploaded_at: new Date(release.uploadedAt).toISOString() }
}

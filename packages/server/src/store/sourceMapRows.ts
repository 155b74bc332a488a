import { createHash } from 'node:crypto'
import type { NewSourceFile, SourceFile, SourceFileKind } from './SourceMapStore.js'

/** Rows of `source_maps` as both adapters return them (without content), and the SourceFile they stand for. */

export const FILE_COLUMNS = 'app_id, release, name, kind, size, stored_size, sha256, source_mapping_url, uploaded_at'

export interface FileRow {
  app_id: number
  release: string
  name: string
  kind: SourceFileKind
  size: number
  stored_size: number
  sha256: string
  source_mapping_url: string | null
  uploaded_at: number
}
export function toFile(row: FileRow): SourceFile {
  return {
    appId: row.app_id,
    release: row.release,
    name: row.name,
    kind: row.kind,
    size: row.size,
    storedSize: row.stored_size,
    sha256: row.sha256,
    sourceMappingUrl: row.source_mapping_url,
    uploadedAt: row.uploaded_at,
  }
}

/** The record a put stores for an upload, given the compressed content kept for it (null for a bundle). */
export function toStoredFile(file: NewSourceFile, content: Buffer | null): SourceFile {
  return {
    appId: file.appId,
    release: file.release,
    name: file.name,
    kind: file.kind,
    size: file.content.length,
    storedSize: content?.length ?? 0,
    sha256: createHash('sha256').update(file.content).digest('hex'),
    sourceMappingUrl: file.sourceMappingUrl,
    uploadedAt: file.uploadedAt,
  }
}

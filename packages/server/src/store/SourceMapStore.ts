/**
 * Uploaded source maps per app, release and file (issue 5). Not visitor data: the customer's own build output.
 * Names are relative paths (`assets/app.3f9a.js.map`) checked by sourcemaps/checkSourceFile.ts before they
 * get here; the store keeps what it is given.
 */

/** `map`: a source map v3, kept whole. `bundle`: a minified script, kept only as the map it links to. */
export type SourceFileKind = 'map' | 'bundle'

export interface SourceFile {
  appId: number
  release: string
  name: string
  kind: SourceFileKind
  /** Bytes as uploaded (uncompressed). */
  size: number
  /** Bytes the content takes on disk (compressed); 0 for a bundle, whose content is not kept. */
  storedSize: number
  /** Hex SHA-256 of the uploaded bytes: the same file uploaded twice has the same one. */
  sha256: string
  /** A bundle's `//# sourceMappingURL=` value as written (never fetched); null for maps and bundles without one. */
  sourceMappingUrl: string | null
  uploadedAt: number
}

export interface NewSourceFile {
  appId: number
  release: string
  name: string
  kind: SourceFileKind
  /** The uploaded bytes; only a map's are kept. */
  content: Buffer
  sourceMappingUrl: string | null
  uploadedAt: number
}

/**
 * Totals a put must stay within, counted in uploaded bytes of maps (bundles are not kept, so they count as
 * files only). A file that replaces one of the same name counts net of the old one.
 */
export interface SourceFileQuota {
  releaseBytes: number
  releaseFiles: number
  appBytes: number
}

export type PutSourceFileResult =
  | { ok: true; file: SourceFile; replaced: boolean }
  | { ok: false; exceeded: 'release_bytes' | 'release_files' | 'app_bytes'; used: number; limit: number }

export interface SourceMapRelease {
  release: string
  files: number
  maps: number
  /** Uploaded bytes of its maps. */
  bytes: number
  /** The latest upload to it. */
  uploadedAt: number
}

export interface SourceMapStore {
  /**
   * Stores a file, replacing one of the same app, release and name. The quota is checked in the same
   * transaction as the write, so concurrent uploads (the server and a CLI, two CI jobs) cannot overrun it.
   */
  put(file: NewSourceFile, quota: SourceFileQuota): Promise<PutSourceFileResult>
  /** A release's files, without content, by name. */
  listFiles(appId: number, release: string): Promise<SourceFile[]>
  /** An app's releases that have files, latest upload first. */
  listReleases(appId: number): Promise<SourceMapRelease[]>
  /** A map's record and its uploaded bytes; undefined for a bundle or a name that is not there. */
  readMap(appId: number, release: string, name: string): Promise<{ file: SourceFile; content: Buffer } | undefined>
  /** Uploaded bytes of all of an app's maps. */
  appBytes(appId: number): Promise<number>
  /** Deletes a release's files; returns how many. */
  deleteRelease(appId: number, release: string): Promise<number>
  /**
   * Retention: deletes the files of the app's releases that were last uploaded to before a time and that no event
   * named since then (their row in `releases` is gone or older); returns how many files. A map uploaded ahead of
   * its release's first event is kept until the same time has passed.
   */
  deleteStaleReleases(appId: number, before: number): Promise<number>
  /** Deletes every file of an app; returns how many. */
  purgeApp(appId: number): Promise<number>
}

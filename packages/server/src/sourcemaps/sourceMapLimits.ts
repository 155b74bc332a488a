import { CAPS } from '../protocol/limits.js'

const MIB = 1024 * 1024

/**
 * Limits on uploaded source maps (docs/API.md#source-maps). Sizes count uploaded (uncompressed) bytes of maps;
 * bundles are read for their `sourceMappingURL` comment and not kept, so they count as files only. A map is
 * parsed whole when a frame is resolved against it, so the per-file size is also a bound on the server's memory.
 */
export const SOURCE_MAP_LIMITS = {
  /** One file, map or bundle, as uploaded (after undoing a gzip Content-Encoding). */
  fileBytes: 32 * MIB,
  /** Every map of one release together. */
  releaseBytes: 256 * MIB,
  /** Files (maps and bundles) in one release. */
  releaseFiles: 10_000,
  /** Every map of one app together, all releases: delete old releases to make room. */
  appBytes: 1024 * MIB,
  /** A file name, in UTF-16 code units. */
  nameChars: 1024,
  /** A release name: the same cap as an event's `release`, so every release an event can name fits. */
  releaseChars: CAPS.name,
} as const

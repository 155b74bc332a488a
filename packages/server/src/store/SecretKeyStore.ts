/**
 * Secret keys (DESIGN.md P9): unlike client tokens, they grant more than ingest, so only a SHA-256 of each is
 * stored (the key is 256 random bits: a slow password hash would add nothing) and the key itself is shown once.
 * See keys/secretKey.ts for the kinds and the format.
 */
import type { SecretKeyKind } from '../keys/secretKey.js'

export interface SecretKey {
  id: number
  kind: SecretKeyKind
  /** The app it is limited to; null for keys that serve every app (an unscoped API or relay key). */
  appId: number | null
  /** `tacit_upload_AbCd…`: enough to tell keys apart, far too little to use one. */
  hint: string
  /** The operator's own words for where the key is used (`github-actions`); not personal data by contract. */
  label: string | null
  createdAt: number
  revokedAt: number | null
  /** Coarse: updated at most once an hour, rounded down to the hour. */
  lastUsedAt: number | null
}

export interface SecretKeyStore {
  create(input: { kind: SecretKeyKind; appId: number | null; hash: string; hint: string; label: string | null; createdAt: number }): Promise<SecretKey>
  /** By the hex SHA-256 of the key, revoked ones included (the caller decides). */
  findByHash(hash: string): Promise<SecretKey | undefined>
  get(id: number): Promise<SecretKey | undefined>
  /** Oldest first; only one app's keys and the unscoped ones when `appId` is given. */
  list(query?: { appId?: number; kind?: SecretKeyKind }): Promise<SecretKey[]>
  /** False when the key does not exist or was already revoked. */
  revoke(id: number, at: number): Promise<boolean>
  touch(id: number, at: number): Promise<void>
}

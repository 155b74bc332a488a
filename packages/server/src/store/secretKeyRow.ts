import type { SecretKeyKind } from '../keys/secretKey.js'
import type { SecretKey } from './SecretKeyStore.js'

/** A row of `secret_keys` as both adapters return it, and the SecretKey it stands for. */
export interface SecretKeyRow {
  id: number
  kind: SecretKeyKind
  app_id: number | null
  hint: string
  label: string | null
  created_at: number
  revoked_at: number | null
  last_used_at: number | null
}
export function toSecretKey(row: SecretKeyRow): SecretKey {
  return {
    id: row.id,
    kind: row.kind,
    appId: row.app_id,
    hint: row.hint,
    label: row.label,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  }
}

import type { AdminDeps } from '../apps/appAdmin.js'
import { AdminError } from '../apps/appAdmin.js'
import type { SecretKey } from '../store/SecretKeyStore.js'
import { generateSecretKey, hashSecretKey, secretKeyHint, type SecretKeyKind } from './secretKey.js'

const LABEL = /^[\p{L}\p{N} ._:/@-]{1,64}$/u

/**
 * Creates a secret key and records it in the audit log; the key itself is returned once and never stored.
 * Upload and TrackX keys belong to one app; API and relay keys serve one app or, created without one, every app.
 */
export async function createSecretKey(
  deps: AdminDeps,
  input: { kind: SecretKeyKind; appId: number | null; label?: string },
): Promise<{ key: string; record: SecretKey }> {
  if (input.kind === 'upload' && input.appId === null) throw new AdminError('An upload key belongs to one app: name it, e.g. `tacit key create shop --kind upload`.')
  if (input.kind === 'trackx' && input.appId === null) throw new AdminError('A TrackX key sends to one app: name it, e.g. `tacit key create shop --kind trackx`.')
  const label = input.label?.trim() || null
  if (label !== null && !LABEL.test(label)) {
    throw new AdminError('A key label is up to 64 letters, digits, spaces and . _ : / @ - characters.')
  }
  const key = generateSecretKey(input.kind, deps.random)
  const record = await deps.store.secretKeys.create({
    kind: input.kind,
    appId: input.appId,
    hash: hashSecretKey(key),
    hint: secretKeyHint(key),
    label,
    createdAt: deps.clock.now(),
  })
  await deps.store.appendAudit({
    appId: record.appId,
    at: record.createdAt,
    actor: deps.actor ?? 'server',
    action: 'key.create',
    detail: { id: record.id, kind: record.kind, hint: record.hint, label: record.label },
  })
  return { key, record }
}

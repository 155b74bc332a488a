import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../clock.js'
import { hashSecretKey, type SecretKeyKind } from '../keys/secretKey.js'
import type { SecretKey } from '../store/SecretKeyStore.js'
import type { Store } from '../store/Store.js'

export interface KeyAuthDeps {
  store: Store
  clock: Clock
}

const HOUR_MS = 3_600_000

export type KeyAuthResult = { key: SecretKey } | { refused: FastifyReply }

/**
 * Authenticates a request by the secret key in `Authorization: Bearer <key>` — only there: a key in the query
 * string would end up in proxies' access logs and shell history. A missing, unknown or revoked key is 401, a
 * valid key of another kind 403, so a leaked client token or upload key opens nothing else. Every failure reads
 * the same apart from that, so a prober learns nothing about which keys exist.
 */
export async function authenticateSecretKey(deps: KeyAuthDeps, request: FastifyRequest, reply: FastifyReply, kind: SecretKeyKind): Promise<KeyAuthResult> {
  const header = request.headers.authorization
  const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null
  if (!match) {
    reply.header('www-authenticate', 'Bearer')
    return { refused: reply.code(401).send({ error: 'unauthorized', message: `Send a ${kind} key as "Authorization: Bearer <key>" (tacit key create --kind ${kind}).` }) }
  }
  const key = await deps.store.secretKeys.findByHash(hashSecretKey(match[1]!))
  if (!key || key.revokedAt !== null) {
    reply.header('www-authenticate', 'Bearer error="invalid_token"')
    return { refused: reply.code(401).send({ error: 'unauthorized', message: 'The key is not valid or was revoked.' }) }
  }
  if (key.kind !== kind) {
    return { refused: reply.code(403).send({ error: 'forbidden', message: `This endpoint needs a ${kind} key; this is a ${key.kind} key.` }) }
  }
  const hour = Math.floor(deps.clock.now() / HOUR_MS) * HOUR_MS
  if (key.lastUsedAt === null || key.lastUsedAt < hour) await deps.store.secretKeys.touch(key.id, hour)
  return { key }
}

/** Whether a key may act on an app: keys limited to an app serve only that one. */
export function keyCoversApp(key: SecretKey, appId: number): boolean {
  return key.appId === null || key.appId === appId
}

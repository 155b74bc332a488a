import type { FastifyRequest } from 'fastify'
import type { Clock } from '../clock.js'
import { hashSecretKey, secretKeyKindOf } from '../keys/secretKey.js'
import { parseRelayFields, RELAY_HEADER, type RelayFields } from '../protocol/relayFields.js'
import type { SecretKey } from '../store/SecretKeyStore.js'
import type { Store } from '../store/Store.js'

/**
 * Relay keys, looked up once per half minute per key rather than on every relayed request: a relay sends
 * hundreds a second. A revoked key is refused within that half minute (docs/RELAY.md says so).
 */
export interface RelayKeys {
  /** The relay key this secret is, when it exists, is a relay key and is not revoked. */
  find(secret: string): Promise<SecretKey | undefined>
}

const KEY_CACHE_MS = 30_000
const HOUR_MS = 3_600_000
/** Wrong guesses are cached too (a prober cannot make every request a database read), but only so many. */
const MAX_CACHED_KEYS = 1000

export function createRelayKeys(deps: { store: Store; clock: Clock; cacheMs?: number }): RelayKeys {
  const cacheMs = deps.cacheMs ?? KEY_CACHE_MS
  const cache = new Map<string, { key: SecretKey | undefined; until: number }>()
  return {
    async find(secret) {
      // Only a well-formed relay key is looked up at all.
      if (secretKeyKindOf(secret) !== 'relay') return undefined
      const hash = hashSecretKey(secret)
      const now = deps.clock.now()
      const cached = cache.get(hash)
      if (cached && cached.until > now) return cached.key
      const found = await deps.store.secretKeys.findByHash(hash)
      const key = found && found.kind === 'relay' && found.revokedAt === null ? found : undefined
      if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string)
      cache.set(hash, { key, until: now + cacheMs })
      // "Last used", coarse to the hour, as for the other secret keys.
      const hour = Math.floor(now / HOUR_MS) * HOUR_MS
      if (key && (key.lastUsedAt === null || key.lastUsedAt < hour)) {
        await deps.store.secretKeys.touch(key.id, hour)
        key.lastUsedAt = hour
      }
      return key
    },
  }
}

export type RelayAdmission =
  /** Not relayed: no relay key. An X-Tacit-Relay header on such a request is ignored. */
  | undefined
  | { relay: RelayFields }
  | { refusal: { status: number; error: string; message: string } }

/** Any `Authorization: Bearer tacit_relay_…`: a request that claims to come from a relay. */
const RELAY_BEARER = /^Bearer +(tacit_relay_\S*) *$/i

/**
 * A request that carries `Authorization: Bearer tacit_relay_…` comes from a `tacit relay` (issue 8): the key must
 * be a valid relay key for this app (a wrong one is refused loudly, never treated as the visitor's own request),
 * and its X-Tacit-Relay fields are then read in place of the request's own address and User-Agent (which are the
 * relay's). Any other request is the visitor's own — whatever else its Authorization header holds, which a
 * gateway in front of Tacit may add — and relay fields on it are ignored: a browser or script cannot claim to be
 * a relay to pick its country or session.
 */
export async function admitRelay(keys: RelayKeys, request: FastifyRequest, appId: number): Promise<RelayAdmission> {
  const authorization = request.headers.authorization
  const secret = authorization === undefined ? undefined : RELAY_BEARER.exec(authorization)?.[1]
  if (secret === undefined) return undefined
  const key = await keys.find(secret)
  if (!key) {
    return { refusal: { status: 401, error: 'invalid_relay_key', message: 'The relay key is not valid or was revoked (tacit key create --kind relay).' } }
  }
  if (key.appId !== null && key.appId !== appId) {
    return { refusal: { status: 403, error: 'relay_not_for_app', message: 'This relay key is limited to another app.' } }
  }
  const header = request.headers[RELAY_HEADER]
  const parsed = parseRelayFields(typeof header === 'string' ? header : undefined)
  if (!parsed.ok) return { refusal: { status: 400, error: 'invalid_relay_fields', message: parsed.message } }
  return { relay: parsed.fields }
}

/** A relay replaying its spool sends when it received the request; no further back than this is believed. */
export const MAX_RELAYED_AGE_MS = 7 * 86_400_000

/** When a request was received: now, or for a relayed one the relay's time, within the last week and not ahead. */
export function receivedAtOf(relay: RelayFields | undefined, now: number): number {
  const sent = relay?.received_at
  if (sent === undefined) return now
  return Math.min(now, Math.max(now - MAX_RELAYED_AGE_MS, sent))
}

import { createHash } from 'node:crypto'
import type { RandomSource } from '../randomSource.js'

/**
 * Secret keys (issue 5, DESIGN.md P9), each for one job:
 * - `upload`: one app's CI uploads source maps (`POST /api/v1/sourcemaps`); never the public client token.
 * - `api`: operators' scripts read and change issues under `/api/v1/`; for one app or, unscoped, for all.
 * - `relay`: a customer-hosted `tacit relay` authenticates to this server (issue 8).
 * - `trackx`: the unmodified `trackx` browser client sends to one app with it, in its URL path (issue 9). Like a
 *   client token it sits in pages and only lets events in; it is a key rather than a token because the TrackX
 *   client puts it where a token cannot go (`/v1/<key>/event`), and so it is revocable on its own.
 */
export const SECRET_KEY_KINDS = ['upload', 'api', 'relay', 'trackx'] as const
export type SecretKeyKind = (typeof SECRET_KEY_KINDS)[number]

export function isSecretKeyKind(value: string): value is SecretKeyKind {
  return (SECRET_KEY_KINDS as readonly string[]).includes(value)
}

/** 32 random bytes as base64url: 43 characters, 256 bits. The prefix lets secret scanners recognise a leak. */
const KEY_BYTES = 32
export const SECRET_KEY_PATTERN = /^tacit_(upload|api|relay|trackx)_[A-Za-z0-9_-]{43}$/
const HINT_CHARS = 4

export function generateSecretKey(kind: SecretKeyKind, random: RandomSource): string {
  return `tacit_${kind}_${random.bytes(KEY_BYTES).toString('base64url')}`
}

/** What is stored and looked up: the key itself never is. */
export function hashSecretKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

export function secretKeyHint(key: string): string {
  const match = /^(tacit_[a-z]+_)(.*)$/.exec(key)
  return match ? `${match[1]}${match[2]!.slice(0, HINT_CHARS)}…` : '…'
}

/** The kind a well-formed key names, or undefined; it does not say the key exists. */
export function secretKeyKindOf(key: string): SecretKeyKind | undefined {
  return SECRET_KEY_PATTERN.exec(key)?.[1] as SecretKeyKind | undefined
}

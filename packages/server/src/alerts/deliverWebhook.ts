import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature } from './signWebhook.js'

/** The subset of `fetch` a delivery uses, so tests and other runtimes can pass their own. */
export type FetchLike = (url: string, init: { method: 'POST'; headers: Record<string, string>; body: string; redirect: 'manual'; signal: AbortSignal }) => Promise<{
  status: number
  body: { cancel(): Promise<void> } | null
}>

export type WebhookResult =
  | { ok: true; status: number }
  /** `error` is in our own words: the receiver's response body is never read, stored or logged. */
  | { ok: false; status: number | null; error: string }

export const DEFAULT_TIMEOUT_MS = 10_000

/**
 * One signed POST. Redirects are not followed (a receiver that moved must be reconfigured by an operator,
 * and following one would let the receiver steer the server to any other address), the response body is
 * discarded unread, and a receiver that does not answer within the timeout counts as failed.
 */
export async function deliverWebhook(input: {
  fetch: FetchLike
  url: string
  secret: string
  deliveryId: number
  event: string
  body: string
  /** Seconds since the epoch, from the injected clock. */
  timestamp: number
  timeoutMs?: number
  /** Aborts the attempt early (the server is stopping). */
  signal?: AbortSignal
}): Promise<WebhookResult> {
  const timeout = AbortSignal.timeout(input.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout
  let response: Awaited<ReturnType<FetchLike>>
  try {
    response = await input.fetch(input.url, {
      method: 'POST',
      redirect: 'manual',
      signal,
      body: input.body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Tacit-Webhook/1',
        [TIMESTAMP_HEADER]: String(input.timestamp),
        [SIGNATURE_HEADER]: webhookSignature(input.secret, input.timestamp, input.body),
        [DELIVERY_HEADER]: String(input.deliveryId),
        [EVENT_HEADER]: input.event,
      },
    })
  } catch {
    if (input.signal?.aborted) return { ok: false, status: null, error: 'interrupted: the server was stopping' }
    if (timeout.aborted) return { ok: false, status: null, error: 'timeout: no answer in time' }
    // fetch's own messages can quote the URL (and a webhook URL's path is often its secret): our words only.
    return { ok: false, status: null, error: 'connection failed' }
  }
  // Unread, so a large or slow body costs nothing; cancelling also frees the connection.
  await response.body?.cancel().catch(() => undefined)
  if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status }
  if (response.status >= 300 && response.status < 400) return { ok: false, status: response.status, error: `HTTP ${response.status}: redirect not followed` }
  return { ok: false, status: response.status, error: `HTTP ${response.status}` }
}

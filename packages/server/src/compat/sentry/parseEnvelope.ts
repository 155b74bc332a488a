/**
 * Sentry envelopes (https://develop.sentry.dev/sdk/data-model/envelopes/), the body of
 * `POST /api/<project>/envelope/`:
 *
 * ```
 * {"event_id":"…","sent_at":"…","sdk":{…}}        envelope header: one JSON object on one line
 * {"type":"event"}                                 item header: one JSON object on one line
 * {"exception":{…},…}                              payload: up to the next \n (no `length`) …
 * {"type":"attachment","length":12}
 * binary\nbytes                                    … or exactly `length` bytes, newlines and all
 * ```
 *
 * What the SDKs really send (test/fixtures/sentry/): @sentry/browser and @sentry/node 11 write JSON items
 * without `length` and no trailing newline; binary items (attachments, replay recordings) carry `length`.
 * The envelope header may be `{}` (client reports).
 *
 * Bounded and total: at most MAX_ITEMS items, a `length` must be a non-negative integer that stays inside the
 * body, header lines must be JSON objects; anything else is a `{ ok: false }` with a message that names what
 * broke and where (item number), never quoting the body. It never throws, whatever the bytes.
 */

export interface EnvelopeItem {
  /** The item header's `type`: `event`, `session`, `attachment`, … (see sentryItemKind). */
  type: string
  headers: Record<string, unknown>
  /** The payload's bytes: a view into the body, not a copy. */
  payload: Buffer
}

export type ParsedEnvelope =
  | { ok: true; header: Record<string, unknown>; items: EnvelopeItem[] }
  | { ok: false; message: string }

/**
 * Items per envelope. The SDKs put one event (plus its attachments) or a few sessions in an envelope; Relay
 * itself caps envelopes by size, not count. A hundred leaves room and keeps hostile bodies cheap.
 */
export const MAX_ENVELOPE_ITEMS = 100

const NEWLINE = 0x0a

export function parseEnvelope(body: Buffer): ParsedEnvelope {
  try {
    return parse(body)
  } catch {
    // Nothing below is expected to throw; this keeps the promise whatever a future edit does.
    return { ok: false, message: 'The envelope could not be read.' }
  }
}

function parse(body: Buffer): ParsedEnvelope {
  if (!Buffer.isBuffer(body) || body.length === 0) return fail('The envelope is empty.')
  let position = 0

  /** The line starting at `position` (without its \n), and moves past it. */
  const readLine = (): Buffer => {
    let end = body.indexOf(NEWLINE, position)
    if (end === -1) end = body.length
    const line = body.subarray(position, end)
    position = end + 1
    return line
  }

  const header = parseObject(readLine())
  if (!header) return fail('The envelope header (its first line) must be a JSON object.')

  const items: EnvelopeItem[] = []
  while (position < body.length) {
    const line = readLine()
    // Blank lines between items (a trailing newline, or one after a `length` payload) carry nothing.
    if (isBlank(line)) continue
    const number = items.length + 1
    if (number > MAX_ENVELOPE_ITEMS) return fail(`The envelope holds more than ${MAX_ENVELOPE_ITEMS} items.`)
    const headers = parseObject(line)
    if (!headers) return fail(`Item ${number}: its header must be a JSON object on one line.`)
    const type = headers.type
    if (typeof type !== 'string' || type === '') return fail(`Item ${number}: its header has no type.`)

    const length = headers.length
    let payload: Buffer
    if (length === undefined || length === null) {
      // Up to the next newline; a header on the last line has an empty payload (Relay reads it the same way).
      payload = readLine()
    } else {
      if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
        return fail(`Item ${number}: its length must be a non-negative integer.`)
      }
      const start = Math.min(position, body.length)
      if (length > body.length - start) return fail(`Item ${number}: its length runs past the end of the envelope.`)
      payload = body.subarray(start, start + length)
      position = start + length
      // A payload of declared length ends the item: the next byte must end the line (or the body).
      if (position < body.length) {
        if (body[position] !== NEWLINE) return fail(`Item ${number}: its payload is longer than its length says.`)
        position++
      }
    }
    items.push({ type, headers, payload })
  }
  return { ok: true, header, items }
}

function parseObject(line: Buffer): Record<string, unknown> | undefined {
  if (isBlank(line)) return undefined
  let value: unknown
  try {
    value = JSON.parse(line.toString('utf8'))
  } catch {
    return undefined
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

function isBlank(line: Buffer): boolean {
  for (const byte of line) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return false
  return true
}

function fail(message: string): ParsedEnvelope {
  return { ok: false, message }
}

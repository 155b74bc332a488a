import { isUtf8 } from 'node:buffer'
import { promisify } from 'node:util'
import { brotliDecompress, gunzip, inflate } from 'node:zlib'
import { LIMITS } from '../protocol/limits.js'

const gunzipAsync = promisify(gunzip)
const inflateAsync = promisify(inflate)
const brotliAsync = promisify(brotliDecompress)

export type BodyResult = { ok: true; bytes: Buffer } | { ok: false; status: 400 | 413 | 415; code: string; message: string }

/**
 * Undoes Content-Encoding with the body limit applied to the decompressed size too, so a small
 * compressed body cannot expand into gigabytes (a decompression bomb).
 */
export async function decodeContentEncoding(raw: Buffer, encoding: string | undefined): Promise<BodyResult> {
  const name = (encoding ?? 'identity').trim().toLowerCase()
  if (name === 'identity' || name === '') return { ok: true, bytes: raw }
  // br: what Sentry's SDKs and relays may send (issue 9).
  const inflater = name === 'gzip' || name === 'x-gzip' ? gunzipAsync : name === 'deflate' ? inflateAsync : name === 'br' ? brotliAsync : undefined
  if (!inflater) return { ok: false, status: 415, code: 'unsupported_encoding', message: 'Content-Encoding must be gzip, deflate, br or identity.' }
  try {
    return { ok: true, bytes: await inflater(raw, { maxOutputLength: LIMITS.bodyBytes }) }
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      return { ok: false, status: 413, code: 'body_too_large', message: `The decompressed body is larger than ${LIMITS.bodyBytes} bytes.` }
    }
    return { ok: false, status: 400, code: 'bad_encoding', message: `The body is not valid ${name} data.` }
  }
}

/**
 * Splits off lines that are not valid UTF-8, so the valid lines of a batch still count. Returns the text
 * with those lines emptied (line numbers stay right) and their 1-based numbers.
 */
export function decodeUtf8Lines(bytes: Buffer): { text: string; badLines: number[] } {
  if (isUtf8(bytes)) return { text: bytes.toString('utf8'), badLines: [] }
  const lines: string[] = []
  const badLines: number[] = []
  let start = 0
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start)
    if (end === -1) end = bytes.length
    const line = bytes.subarray(start, end)
    if (isUtf8(line)) lines.push(line.toString('utf8'))
    else {
      lines.push('')
      badLines.push(lines.length)
    }
    start = end + 1
  }
  return { text: lines.join('\n'), badLines }
}

import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { access, mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The relay's bounded on-disk spool (issue 8): while the upstream is unreachable, requests already acknowledged
 * to the browser wait here, one file per request, and are replayed oldest first when it returns.
 *
 * File format (version 1), all integers big-endian:
 *
 *   magic 'TSPL' (4) · version 1 (1) · meta length (4) · body length (4) · meta JSON {path, headers} · body
 *   · sha256 of everything before it (32)
 *
 * The lengths let a truncated file be recognised cheaply on open (its size disagrees with them); the checksum
 * catches any other damage when the entry is read. Either way the entry is discarded and counted: replaying
 * a damaged request upstream would be worse than losing it.
 */

export interface SpooledRequest {
  /** The upstream path, e.g. '/api/v1/ingest' or '/api/v1/report'. */
  path: string
  /** Headers to send upstream again, lower-case name → value (content-type, content-encoding, x-tacit-token, origin, x-tacit-relay …). */
  headers: Record<string, string>
  body: Buffer
}
export interface SpoolEntry {
  id: string
  request: SpooledRequest
}
export interface SpoolStats {
  entries: number
  bytes: number
  maxBytes: number
}
export interface RelaySpool {
  /** Appends at the end, durable (written to a temp file, fsync'd, renamed, directory fsync'd) before it resolves. Resolves false, writing nothing, when the entry would take the spool past maxBytes. */
  append(request: SpooledRequest): Promise<boolean>
  /** The oldest entry, or undefined when the spool is empty; it stays in the spool until removed. */
  peek(): Promise<SpoolEntry | undefined>
  /** Removes a delivered entry (or one refused for good). Removing an unknown id is a no-op. */
  remove(id: string): Promise<void>
  stats(): SpoolStats
  /** Entries found unreadable (corrupt, truncated) on open or on peek: removed and counted, never thrown. */
  discarded(): number
}

const MAGIC = Buffer.from('TSPL', 'ascii')
const VERSION = 1
const HEADER_BYTES = MAGIC.length + 1 + 4 + 4
const CHECKSUM_BYTES = 32
/** 16 digits hold every safe integer, so ids sort as strings in the same order as numbers. */
const ID_DIGITS = 16
const ENTRY_SUFFIX = '.req'
const TEMP_SUFFIX = '.req.tmp'
const ENTRY_NAME = /^(\d{16})\.req$/
/** A lower-case HTTP token (RFC 9110 §5.6.2): what a header name may be. */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/
/** CR, LF and NUL would let a stored value split or smuggle headers when it is sent upstream again. */
const UNSAFE_HEADER_VALUE = /[\r\n\0]/

interface Slot {
  id: string
  bytes: number
}

export async function createRelaySpool(options: { dir: string; maxBytes: number }): Promise<RelaySpool> {
  const { dir, maxBytes } = options
  if (typeof dir !== 'string' || dir === '') throw new TypeError('The relay spool needs a directory.')
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new TypeError(`The relay spool size limit must be a positive whole number of bytes, not ${String(maxBytes)}.`)
  }

  // Ordered oldest first; peek and remove work on it without listing the directory again.
  const slots: Slot[] = []
  let bytes = 0
  // Bytes of appends still being written: counted against the limit at once, so concurrent appends cannot
  // together overshoot it, but shown in stats only once durable.
  let reservedBytes = 0
  let discardedCount = 0
  let nextSeq = 0

  let names: string[]
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK)
    names = (await readdir(dir)).sort()
  } catch (error) {
    throw new Error(`The relay spool directory ${dir} is not a writable directory (${describe(error)}).`, { cause: error })
  }

  for (const name of names) {
    // A temp file is a write that crashed before its rename; its append never resolved, so nobody was told it was kept.
    if (name.endsWith(TEMP_SUFFIX)) {
      await unlinkIfPresent(join(dir, name))
      continue
    }
    const match = ENTRY_NAME.exec(name)
    if (!match?.[1]) continue // not ours: leave the operator's files alone
    const id = match[1]
    nextSeq = Math.max(nextSeq, Number(id) + 1)
    const size = await fileSizeIfComplete(join(dir, name))
    if (size === undefined) {
      discardedCount += 1
      await unlinkIfPresent(join(dir, name))
      continue
    }
    slots.push({ id, bytes: size })
    bytes += size
  }
  // Deleted temp files and discarded entries must stay deleted after a power loss, or the count would be wrong next time.
  await syncDir(dir)

  function entryPath(id: string): string {
    return join(dir, id + ENTRY_SUFFIX)
  }

  /** Keeps `slots` ordered by id; an append usually lands at the end, so search from there. */
  function insertSlot(slot: Slot): void {
    let i = slots.length
    while (i > 0 && (slots[i - 1] as Slot).id > slot.id) i -= 1
    slots.splice(i, 0, slot)
    bytes += slot.bytes
  }

  /** Takes the slot out of memory, synchronously, so that two callers racing on one id account for it once. */
  function takeSlot(id: string): Slot | undefined {
    const i = slots.findIndex((slot) => slot.id === id)
    if (i < 0) return undefined
    const [slot] = slots.splice(i, 1) as [Slot]
    bytes -= slot.bytes
    return slot
  }

  async function discard(id: string): Promise<void> {
    if (!takeSlot(id)) return
    discardedCount += 1
    await unlinkIfPresent(entryPath(id))
  }

  return {
    async append(request) {
      const file = encode(request)
      if (bytes + reservedBytes + file.length > maxBytes) return false
      // The sequence number is taken synchronously, so ids follow the order of the append calls even though
      // the writes (and their fsyncs, which the file system may group) run concurrently.
      const id = String(nextSeq++).padStart(ID_DIGITS, '0')
      reservedBytes += file.length
      try {
        await writeDurably(dir, id, file)
      } finally {
        reservedBytes -= file.length
      }
      insertSlot({ id, bytes: file.length })
      return true
    },

    async peek() {
      for (;;) {
        const slot = slots[0]
        if (!slot) return undefined
        let file: Buffer
        try {
          file = await readFile(entryPath(slot.id))
        } catch (error) {
          if (!isNotFound(error)) throw error
          // Removed while we were reading: look at the new head. Still listed: deleted behind our back, unreadable.
          if (slots[0] === slot) await discard(slot.id)
          continue
        }
        const request = decode(file)
        if (request) return { id: slot.id, request }
        await discard(slot.id)
      }
    },

    async remove(id) {
      const slot = takeSlot(id)
      if (!slot) return
      try {
        await unlink(entryPath(id))
      } catch (error) {
        if (!isNotFound(error)) {
          // Still on disk, so still in the spool: keep the accounting true to it.
          insertSlot(slot)
          throw error
        }
      }
      // Without this a crash could bring the entry back, and it would be delivered twice.
      await syncDir(dir)
    },

    stats() {
      return { entries: slots.length, bytes, maxBytes }
    },

    discarded() {
      return discardedCount
    },
  }
}

/**
 * Checks the request where it enters the module and returns a plain copy of it, so that what is checked is what
 * is stored (a getter or a later change by the caller cannot slip a different value in); below this, the shape is trusted.
 */
function normalizeRequest(request: unknown): SpooledRequest {
  if (typeof request !== 'object' || request === null) throw new TypeError('A spooled request must be an object.')
  const { path, headers, body } = request as Record<string, unknown>
  // '//host/…' would make the upstream URL point at another host once resolved against it (SSRF).
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
    throw new TypeError(`A spooled request path must start with a single '/', not ${JSON.stringify(path)}.`)
  }
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new TypeError('Spooled request headers must be an object of lower-case names to strings.')
  }
  const copy: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw new TypeError(`Spooled request header name ${JSON.stringify(name)} is not a lower-case HTTP token.`)
    if (typeof value !== 'string') throw new TypeError(`Spooled request header ${name} must be a string, not ${typeof value}.`)
    if (UNSAFE_HEADER_VALUE.test(value)) throw new TypeError(`Spooled request header ${name} contains CR, LF or NUL.`)
    copy[name] = value
  }
  if (!Buffer.isBuffer(body)) throw new TypeError('A spooled request body must be a Buffer.')
  return { path, headers: copy, body }
}

function encode(input: SpooledRequest): Buffer {
  const request = normalizeRequest(input)
  const meta = Buffer.from(JSON.stringify({ path: request.path, headers: request.headers }), 'utf8')
  const header = Buffer.alloc(HEADER_BYTES)
  MAGIC.copy(header, 0)
  header.writeUInt8(VERSION, MAGIC.length)
  header.writeUInt32BE(meta.length, MAGIC.length + 1)
  header.writeUInt32BE(request.body.length, MAGIC.length + 5)
  const checksum = createHash('sha256').update(header).update(meta).update(request.body).digest()
  return Buffer.concat([header, meta, request.body, checksum])
}

/** The request in a spool file, or undefined when the file is damaged in any way. */
function decode(file: Buffer): SpooledRequest | undefined {
  const lengths = readHeader(file)
  if (!lengths || file.length !== lengths.total) return undefined
  const contentEnd = file.length - CHECKSUM_BYTES
  const checksum = createHash('sha256').update(file.subarray(0, contentEnd)).digest()
  if (!checksum.equals(file.subarray(contentEnd))) return undefined
  const metaEnd = HEADER_BYTES + lengths.meta
  try {
    const meta = JSON.parse(file.toString('utf8', HEADER_BYTES, metaEnd)) as { path: unknown; headers: unknown }
    // The checksum proves the bytes are what was written; this guards against a file from an incompatible writer.
    return normalizeRequest({ path: meta.path, headers: meta.headers, body: file.subarray(metaEnd, contentEnd) })
  } catch {
    return undefined
  }
}

function readHeader(file: Buffer): { meta: number; total: number } | undefined {
  if (file.length < HEADER_BYTES || !file.subarray(0, MAGIC.length).equals(MAGIC)) return undefined
  if (file.readUInt8(MAGIC.length) !== VERSION) return undefined
  const meta = file.readUInt32BE(MAGIC.length + 1)
  const body = file.readUInt32BE(MAGIC.length + 5)
  return { meta, total: HEADER_BYTES + meta + body + CHECKSUM_BYTES }
}

/**
 * The file's size when its header agrees with it, else undefined. Reading only the header keeps opening a
 * large spool fast; the checksum is verified when the entry is peeked.
 */
async function fileSizeIfComplete(path: string): Promise<number | undefined> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    const header = Buffer.alloc(HEADER_BYTES)
    const { bytesRead } = await handle.read(header, 0, HEADER_BYTES, 0)
    const lengths = readHeader(header.subarray(0, bytesRead))
    return lengths && lengths.total === size ? size : undefined
  } finally {
    await handle.close()
  }
}

/** Temp file, fsync, rename, directory fsync: after this resolves the entry survives a crash or power loss, whole. */
async function writeDurably(dir: string, id: string, file: Buffer): Promise<void> {
  const tempPath = join(dir, id + TEMP_SUFFIX)
  const finalPath = join(dir, id + ENTRY_SUFFIX)
  try {
    // 'wx': never reuse a file someone else created; 0600 because entries hold the client token and visitor keys.
    const handle = await open(tempPath, 'wx', 0o600)
    try {
      await handle.writeFile(file)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tempPath, finalPath)
    await syncDir(dir)
  } catch (error) {
    // The append is reported as failed, so nothing of it may stay to be replayed or counted on the next open.
    await unlinkIfPresent(tempPath).catch(() => undefined)
    await unlinkIfPresent(finalPath).catch(() => undefined)
    throw error
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (error) {
    if (!isNotFound(error)) throw error
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}

function describe(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? String(error)
}

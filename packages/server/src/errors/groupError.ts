import { createHash } from 'node:crypto'
import type { IssueKey } from '../pipeline/storedEvent.js'
import { truncate } from '../protocol/limits.js'
import { parameterizeMessage } from './parameterizeMessage.js'
import { parseStack, type StackFrame } from './parseStack.js'

/** What grouping reads from an error event (its `error` object, already scrubbed). */
export interface GroupableError {
  type?: string
  message: string
  stack?: string
  /** Client-supplied grouping key: events with the same value form one issue. */
  fingerprint?: string
}

/** Frames from the top of the stack that decide the group; deeper frames are shared by too many errors. */
export const FINGERPRINT_FRAMES = 10
const TITLE_CAP = 200
const CULPRIT_CAP = 256
const ANONYMOUS = '?'

/**
 * Works out the issue an error belongs to (issue 5, "Stack traces and grouping"). The fingerprint is the
 * first 32 hex characters of a SHA-256 over, in order of preference:
 * 1. the client's `fingerprint`;
 * 2. the error type and the top in-app frames, each as file basename without content hash + normalized
 *    function name — never line or column, so a rebuilt bundle does not split the issue (TrackX hashes
 *    `file:line:col` and opens a new issue on every deploy);
 * 3. the same over all frames, when none is in-app;
 * 4. the error type and the parameterised message, when there is no stack.
 * When no frame in 2–3 has a usable function name (a minified bundle without source maps: every frame is
 * `? (app.js)`), the frames alone cannot tell errors apart, so the parameterised message joins them, with
 * quoted JavaScript names kept: "reading 'price'" and "reading 'total'" are two bugs, not one. (A message
 * without any stack is usually the site's own text, where quotes hold data, so there all quotes go.)
 */
export function groupError(error: GroupableError): IssueKey {
  const type = error.type ?? ''
  const message = error.message ?? ''
  const frames = error.stack ? parseStack(error.stack) : []
  const inApp = frames.filter((frame) => frame.inApp)

  const issue: IssueKey = { fingerprint: fingerprintOf(error.fingerprint, type, message, inApp.length > 0 ? inApp : frames), title: titleOf(type, message) }
  const culprit = inApp[0] && culpritOf(inApp[0])
  if (culprit) issue.culprit = culprit
  return issue
}

function fingerprintOf(clientFingerprint: string | undefined, type: string, message: string, frames: StackFrame[]): string {
  if (clientFingerprint) return sha256Hex(`client\0${clientFingerprint}`)
  const keys: string[] = []
  let named = false
  for (const frame of frames) {
    const name = normalizeFunctionName(frame.function)
    const key = `${normalizeFileName(frame.file)}\0${name}`
    // Recursion depth varies from one occurrence to the next: collapse repeated frames.
    if (keys[keys.length - 1] === key) continue
    if (name !== ANONYMOUS) named = true
    keys.push(key)
    if (keys.length === FINGERPRINT_FRAMES) break
  }
  if (keys.length === 0) return sha256Hex(`message\0${type}\0${parameterizeMessage(message)}`)
  const weak = named ? '' : `\0${parameterizeMessage(message, { keepQuotedIdentifiers: true })}`
  return sha256Hex(`frames\0${type}\0${keys.join('\n')}${weak}`)
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32)
}

function titleOf(type: string, message: string): string {
  const newline = message.indexOf('\n')
  const firstLine = (newline === -1 ? message : message.slice(0, newline)).trim()
  const title = type && firstLine ? `${type}: ${firstLine}` : type || firstLine || '(no message)'
  return truncate(title, TITLE_CAP)
}

/** `function (file)`, or `file` for an anonymous or minified function. */
function culpritOf(frame: StackFrame): string | undefined {
  if (!frame.file) return undefined
  const file = normalizeFileName(frame.file)
  const name = normalizeFunctionName(frame.function)
  // Firefox's `outer/inner<` reads better as its normalized `inner`; other names keep their receiver.
  const readable = frame.function?.includes('/') ? name : readableFunctionName(frame.function ?? '')
  const shown = name === ANONYMOUS ? file : `${readable} (${file})`
  return truncate(shown, CULPRIT_CAP)
}

/** Strips the engine's decorations but keeps the receiver: `CartStore.load`, `get total`. */
function readableFunctionName(name: string): string {
  let result = name.trim()
  for (const prefix of ['async ', 'new ']) if (result.startsWith(prefix)) result = result.slice(prefix.length).trimStart()
  const alias = result.indexOf(' [as ')
  return alias > 0 ? result.slice(0, alias) : result
}

/**
 * The part of a function name every engine prints alike, so the same code groups the same in Chrome,
 * Firefox and Safari: Chrome prints `CartStore.load`, `new Cart`, `Object.parse [as p]`, `get total`;
 * Firefox `load`, `Cart`, `outer/<` (an anonymous function inside `outer`); Safari `load`, `global code`.
 * Anonymous, top-level and minified names (one or two characters, reassigned on every build) become `?`.
 */
export function normalizeFunctionName(name: string | undefined): string {
  if (!name) return ANONYMOUS
  let result = readableFunctionName(name)
  for (const prefix of ['get ', 'set ']) if (result.startsWith(prefix)) result = result.slice(prefix.length).trimStart()
  // Firefox: `outer/<` is an anonymous function inside `outer`, `outer/inner<` one assigned to `inner`.
  const slash = result.lastIndexOf('/')
  if (slash !== -1) result = result.slice(slash + 1)
  result = result.replaceAll('<', '').trim()
  const dot = result.lastIndexOf('.')
  if (dot !== -1) result = result.slice(dot + 1)
  result = result.replaceAll('>', '').trim()
  if (result.length <= 2 || TOP_LEVEL_NAMES.has(result)) return ANONYMOUS
  return result
}

// `<anonymous>` has lost its brackets by the time it is compared.
// `<computed>` is V8's name for a method under a computed key: it says nothing about which one.
const TOP_LEVEL_NAMES = new Set(['anonymous', 'computed', 'global code', 'module code', 'eval code', 'eval', 'function code'])

/**
 * The file's basename without query, fragment, directories or build hash: `app.3f9a2c1b.js`, `app.js?v=3`
 * and `/srv/releases/42/app.js` all become `app.js`; `main-B2x9_kQz.mjs` → `main.mjs` (Vite/Rollup),
 * `chunk-5HDQGNTS.js` → `chunk.js` (esbuild), `framework-0c7baedf5d2a2c4b.js` → `framework.js` (Next.js),
 * `main.4e2b1d9c.chunk.js` → `main.chunk.js` (webpack `[name].[contenthash].js`), numeric chunk ids
 * `1234.js` → `[n].js`, and `blob:` URLs' UUIDs → `[uuid]`.
 */
export function normalizeFileName(file: string | undefined): string {
  if (!file) return ''
  let normalized = fileNameCache.get(file)
  if (normalized === undefined) {
    normalized = normalizeUncached(file)
    // Bounded: cleared when full, so hostile streams of unique file names cannot grow it.
    if (fileNameCache.size >= FILE_NAME_CACHE_SIZE) fileNameCache.clear()
    if (file.length <= MAX_CACHED_FILE_LENGTH) fileNameCache.set(file, normalized)
  }
  return normalized
}

// The same few bundle URLs appear in every frame of every error: normalizing each once saves most of the work.
const FILE_NAME_CACHE_SIZE = 1024
const MAX_CACHED_FILE_LENGTH = 1024
const fileNameCache = new Map<string, string>()

function normalizeUncached(file: string): string {
  let path = file
  for (const mark of ['?', '#']) {
    const index = path.indexOf(mark)
    if (index !== -1) path = path.slice(0, index)
  }
  let end = path.length
  while (end > 0 && (path[end - 1] === '/' || path[end - 1] === '\\')) end--
  const start = Math.max(path.lastIndexOf('/', end - 1), path.lastIndexOf('\\', end - 1)) + 1
  const base = path.slice(start, end)
  if (base === '') return path
  if (isUuid(base)) return '[uuid]'

  const parts = base.split('.')
  const extension = parts.length > 1 ? parts.pop()! : undefined
  const kept: string[] = []
  parts.forEach((part, index) => {
    if (index > 0 && isHashPart(part)) return
    kept.push(index === 0 ? normalizeNamePart(part) : part)
  })
  if (extension !== undefined) kept.push(extension)
  return kept.join('.')
}

function normalizeNamePart(name: string): string {
  if (name !== '' && isDigits(name)) return '[n]'
  // Rollup/Vite: `name-` + 8 base64url characters, which may themselves hold `-` or `_` and need no digit.
  if (name.length > 9 && name[name.length - 9] === '-' && isRollupHash(name.slice(-8))) return name.slice(0, -9)
  // esbuild `name-5HDQGNTS`, Next.js `name-0c7baedf5d2a2c4b`, and other `name-hash` or `name_hash`.
  const cut = Math.max(name.lastIndexOf('-'), name.lastIndexOf('_'))
  if (cut > 0 && isHashPart(name.slice(cut + 1))) return name.slice(0, cut)
  return name
}

/**
 * A content hash: 6+ hex characters with a digit (`3f9a2c1b`, webpack, Parcel, Next.js), or 8+ alphanumerics
 * with a digit or all in capitals (`B2x9kQzA`, esbuild's `5HDQGNTS`). Words (`vendors`, `decade`) are kept.
 */
function isHashPart(part: string): boolean {
  let digit = false
  let hex = true
  let lower = false
  for (let i = 0; i < part.length; i++) {
    const char = part.charCodeAt(i)
    if (char >= 48 && char <= 57) digit = true
    else if (char >= 97 && char <= 122) {
      lower = true
      if (char > 102) hex = false
    } else if (char >= 65 && char <= 90) {
      if (char > 70) hex = false
    } else return false
  }
  if (part.length >= 6 && hex && digit) return true
  return part.length >= 8 && (digit || !lower)
}

/** Rollup's 8 base64url characters, unless they read as a word (`overview`, `Overview`). */
function isRollupHash(part: string): boolean {
  let upper = 0
  for (let i = 0; i < part.length; i++) {
    const char = part.charCodeAt(i)
    if (char >= 65 && char <= 90) upper++
    else if (!((char >= 48 && char <= 57) || (char >= 97 && char <= 122) || char === 45 || char === 95)) return false
  }
  const capitalizedWord = upper === 1 && part.charCodeAt(0) <= 90 && isLowerLetters(part.slice(1))
  return !isLowerLetters(part) && !capitalizedWord
}

function isLowerLetters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (char < 97 || char > 122) return false
  }
  return true
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (char < 48 || char > 57) return false
  }
  return true
}

function isUuid(text: string): boolean {
  if (text.length !== 36) return false
  for (let i = 0; i < 36; i++) {
    const char = text.charCodeAt(i)
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (char !== 45) return false
    } else if (!((char >= 48 && char <= 57) || (char >= 97 && char <= 102) || (char >= 65 && char <= 70))) return false
  }
  return true
}

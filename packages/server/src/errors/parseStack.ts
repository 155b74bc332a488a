/** One call site of a parsed stack trace, most recent first. */
export interface StackFrame {
  /** The function name as the engine printed it, without async markers (`async `, Firefox's `async*`). */
  function?: string
  /** URL or path of the script; for eval'd code, the script that called eval. */
  file?: string
  line?: number
  column?: number
  /** False for code the site does not own: node_modules, Node internals, native code, browser extensions. */
  inApp: boolean
}

/** Frames kept from the top of a stack: deeper frames never decide grouping and only cost time. */
export const MAX_FRAMES = 100

// Nested `eval at … (eval at … (…))` levels followed to the script that called eval.
const MAX_EVAL_DEPTH = 5
// Line and column numbers longer than this are not numbers an engine prints.
const MAX_NUMBER_DIGITS = 9

/**
 * Parses a stack string as Chrome/V8 (Node included), Firefox or Safari/JavaScriptCore print it into frames.
 * Lines that are not frames (the message, which V8 prints first and which may span lines) are skipped.
 * When a stack holds V8 frames (`at …`), only those count, so a message that happens to contain `x@y:1:2`
 * is not mistaken for a Firefox frame.
 *
 * The parser is written with string scans and no regular expressions: every line is scanned a bounded
 * number of times, so the work is linear in the input however hostile it is (stacks are client-supplied,
 * up to 32 KB each). It never throws.
 */
export function parseStack(stack: string): StackFrame[] {
  if (typeof stack !== 'string') return []
  try {
    return parseLines(stack)
  } catch {
    return []
  }
}

function parseLines(stack: string): StackFrame[] {
  const v8: StackFrame[] = []
  const other: StackFrame[] = []
  let start = 0
  while (start <= stack.length && v8.length < MAX_FRAMES) {
    let end = stack.indexOf('\n', start)
    if (end === -1) end = stack.length
    const line = stack.slice(start, end).trim()
    start = end + 1
    if (line.startsWith('at ')) {
      const frame = parseV8Line(line.slice(3).trim())
      if (frame) v8.push(frame)
    } else if (v8.length === 0 && other.length < MAX_FRAMES && line !== '') {
      const frame = parseGeckoLine(line)
      if (frame) other.push(frame)
    }
  }
  return v8.length > 0 ? v8 : other
}

// What V8 prints in place of a position for code without a script.
const POSITIONLESS_V8 = new Set(['<anonymous>', 'native', 'unknown location'])

/**
 * V8: `fn (location)`, `location`, `async fn (location)`, `new Foo (location)`, `fn [as alias] (location)`,
 * `eval (eval at fn (location), <anonymous>:1:2)`, `Promise.all (index 0)`, `fn (<anonymous>)`, `fn (native)`.
 * https://v8.dev/docs/stack-trace-api
 */
function parseV8Line(body: string): StackFrame | undefined {
  let name: string | undefined
  let location = body
  if (body.endsWith(')')) {
    const open = matchingOpenParen(body)
    if (open > 0) {
      name = body.slice(0, open).trim()
      location = body.slice(open + 1, -1).trim()
    } else if (open === 0) {
      location = body.slice(1, -1).trim()
    }
  }
  if (name !== undefined) name = stripPrefix(name, 'async ')
  else location = stripPrefix(location, 'async ')

  if (location.startsWith('eval at ')) location = evalCallSite(location)
  const frame = locationFrame(location)
  // A message line like "at most 3 items (got 4)" has no position: prose, not a frame.
  if (frame.line === undefined && !POSITIONLESS_V8.has(location) && !isArgumentIndex(location) && !location.startsWith('wasm://')) {
    return undefined
  }
  if (name) frame.function = name
  return frame
}

/**
 * Firefox: `fn@location`, `@location`, `fn/<@…`, `async*fn@…` (and other `cause*` prefixes), eval'd code as
 * `fn@https://x/app.js line 4 > eval:1:2`. Safari: `fn@location`, `global code@…`, `module code@…`,
 * `fn@[native code]`, and `[native code]` alone.
 */
function parseGeckoLine(line: string): StackFrame | undefined {
  if (line === '[native code]') return { file: '[native code]', inApp: false }
  const at = line.indexOf('@')
  if (at === -1) return undefined
  let name = line.slice(0, at).trim()
  const location = line.slice(at + 1).trim()
  // Firefox prefixes the async cause: `async*fn`, `promise callback*fn`, `setTimeout handler*fn`.
  const star = name.lastIndexOf('*')
  if (star !== -1) name = name.slice(star + 1)

  let frame: StackFrame
  const evalMarker = location.indexOf(' > ')
  const lineMarker = location.indexOf(' line ')
  if (location === '[native code]') {
    frame = { file: '[native code]', inApp: false }
  } else if (evalMarker !== -1 && lineMarker > 0 && lineMarker < evalMarker) {
    // `file line N > eval:L:C`: N is the line of the eval call in `file`, like V8's call site.
    const file = location.slice(0, lineMarker)
    const line = toNumber(location.slice(lineMarker + 6, evalMarker))
    frame = { file, inApp: isInApp(file) }
    if (line !== undefined) frame.line = line
  } else {
    frame = locationFrame(location)
    // `text@text` without a line number is an email-like string in a message, not a frame.
    if (frame.line === undefined) return undefined
  }
  if (name) frame.function = name
  return frame
}

/** Splits `file:line:column` (or `file:line`, or `file`) from the end, so Windows drives and ports survive. */
function locationFrame(location: string): StackFrame {
  if (location === '') return { inApp: false }
  if (POSITIONLESS_V8.has(location)) return { file: location, inApp: false }
  if (isArgumentIndex(location)) return { inApp: false }
  let file = location
  let line: number | undefined
  let column: number | undefined
  const last = file.lastIndexOf(':')
  const lastNumber = last === -1 ? undefined : toNumber(file.slice(last + 1))
  if (lastNumber !== undefined) {
    file = file.slice(0, last)
    const previous = file.lastIndexOf(':')
    const previousNumber = previous === -1 ? undefined : toNumber(file.slice(previous + 1))
    if (previousNumber !== undefined) {
      file = file.slice(0, previous)
      line = previousNumber
      column = lastNumber
    } else {
      line = lastNumber
    }
  }
  const frame: StackFrame = { file, inApp: isInApp(file) }
  if (line !== undefined) frame.line = line
  if (column !== undefined) frame.column = column
  return frame
}

/**
 * `eval at fn (location), <anonymous>:1:2` → `location`: the script that called eval, followed through
 * nested evals. Grouping and in-app decisions need a real script; the eval'd code's own position is not one.
 */
function evalCallSite(location: string): string {
  let current = location
  for (let depth = 0; depth < MAX_EVAL_DEPTH && current.startsWith('eval at '); depth++) {
    const open = current.indexOf('(')
    const close = open === -1 ? -1 : matchingCloseParen(current, open)
    if (close === -1) {
      // No call site in parentheses: fall back to the eval'd code's own position after the last comma.
      const comma = current.lastIndexOf(', ')
      return comma === -1 ? '<anonymous>' : current.slice(comma + 2)
    }
    current = current.slice(open + 1, close).trim()
  }
  return current
}

/** `Promise.all (index 0)`: a position in the arguments, not a file. */
function isArgumentIndex(location: string): boolean {
  return location.startsWith('index ') && toNumber(location.slice(6)) !== undefined
}

/** Index of the `(` that balances the `)` ending `text`, or -1. One backward scan. */
function matchingOpenParen(text: string): number {
  let depth = 0
  for (let i = text.length - 1; i >= 0; i--) {
    const char = text.charCodeAt(i)
    if (char === 41 /* ) */) depth++
    else if (char === 40 /* ( */ && --depth === 0) return i
  }
  return -1
}

/** Index of the `)` that balances the `(` at `open`, or -1. One forward scan. */
function matchingCloseParen(text: string, open: number): number {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (char === 40 /* ( */) depth++
    else if (char === 41 /* ) */ && --depth === 0) return i
  }
  return -1
}

function toNumber(text: string): number | undefined {
  if (text.length === 0 || text.length > MAX_NUMBER_DIGITS) return undefined
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (char < 48 || char > 57) return undefined
  }
  return Number(text)
}

function stripPrefix(text: string, prefix: string): string {
  return text.startsWith(prefix) ? text.slice(prefix.length).trimStart() : text
}

/**
 * In-app means "code the site wrote and deploys". Deliberately simple and documented rather than clever:
 * not in-app are dependencies (`node_modules`), Node's own modules (`node:…`, `internal/…` before Node 16),
 * code without a script (`<anonymous>`, `native`, Safari's `[native code]`) and browser extensions (any
 * `*-extension://` scheme, and Safari's `webkit-masked-url://` that hides extension URLs). Everything else,
 * third-party scripts loaded from a CDN included, counts as in-app: the site chose to load it, and guessing
 * vendors by hostname would be wrong as often as right.
 */
export function isInApp(file: string): boolean {
  if (file === '' || file === '[native code]' || POSITIONLESS_V8.has(file)) return false
  if (file.startsWith('node:') || file.startsWith('internal/')) return false
  if (file.includes('/node_modules/') || file.includes('\\node_modules\\') || file.startsWith('node_modules/')) return false
  const scheme = file.indexOf('://')
  if (scheme > 0) {
    const name = file.slice(0, scheme).toLowerCase()
    if (name.endsWith('-extension') || name === 'webkit-masked-url') return false
  }
  return true
}

/** `\u0000` as a JSON escape, not itself escaped (`\\u0000` is a backslash followed by the text "u0000"). */
const ESCAPED_NUL = /(?<!\\)((?:\\\\)*)\\u0000/g

/**
 * JSON.parse that reports where the text broke without quoting it: V8's messages include a slice of the
 * input, which may be personal data, and error answers never echo input (DESIGN.md P2).
 *
 * U+0000 becomes U+FFFD: PostgreSQL's text and jsonb cannot hold it, so an event carrying one would fail its
 * whole batch there, and the client would retry it for ever. Done here, for every adapter, so both store the
 * same thing. (JSON cannot carry a raw U+0000 inside a string; only the escape needs replacing.)
 */
export function parseJsonSafely(text: string): { ok: true; value: unknown } | { ok: false; where: string } {
  try {
    return { ok: true, value: JSON.parse(text.includes('\\u0000') ? text.replace(ESCAPED_NUL, '$1\\ufffd') : text) }
  } catch (error) {
    // Keep only the position from V8's message; the rest quotes the input.
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1]
    return { ok: false, where: position ? ` (at character ${position})` : '' }
  }
}

/**
 * JSON.parse that reports where the text broke without quoting it: V8's messages include a slice of the
 * input, which may be personal data, and error answers never echo input (DESIGN.md P2).
 */
export function parseJsonSafely(text: string): { ok: true; value: unknown } | { ok: false; where: string } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    // Keep only the position from V8's message; the rest quotes the input.
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1]
    return { ok: false, where: position ? ` (at character ${position})` : '' }
  }
}

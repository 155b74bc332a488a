/**
 * Titles, messages and stacks come from the sites' events: a terminal must show them, not obey them. Control
 * characters (ANSI escape sequences among them) and bidirectional overrides become visible `\u` escapes.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

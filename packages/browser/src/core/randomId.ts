/**
 * A random UUID v4 for view ids. `crypto.randomUUID` exists only in secure contexts (HTTPS, localhost);
 * `getRandomValues` works on plain-HTTP pages too.
 */
export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  let hex = ''
  for (let i = 0; i < 16; i++) hex += (b[i]! + 0x100).toString(16).slice(1) + (i === 3 || i === 5 || i === 7 || i === 9 ? '-' : '')
  return hex
}

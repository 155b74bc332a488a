/*
 * The variable parts of error messages, replaced in this order (earlier placeholders are never re-read by
 * later patterns). Each pattern is linear on any input, which matters because messages are client-supplied:
 * starts are anchored at a quote or a word boundary, the only unbounded repetitions are single character
 * classes with nothing after them that could fail (or only a `\b`), and the URL scheme is bounded.
 */

// A quote that opens a string: not preceded by a letter, so the apostrophes in "can't" and "user's" stay.
const QUOTED = /(?<!\w)(?:'[^'\n]*'|"[^"\n]*"|`[^`\n]*`)/g
const URL = /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s'"`<>()]*/gi
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi
// Runs of 6+ hex characters: ids, hashes, addresses. Words made of a–f only ("facade", "decade") are kept.
const HEX = /\b(?:0x)?[0-9a-f]{6,}\b/gi
// Numbers standing alone (`503`, `1.5`, `2026.11.3`); digits inside identifiers (`item_42`, `v2`) are kept.
const NUMBER = /\b\d+(?:\.\d+)*\b/g

// A quoted JavaScript name or dotted path, e.g. 'price', 'addEventListener', 'Symbol.iterator'.
const IDENTIFIER_PATH = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/
const MAX_IDENTIFIER = 64

export interface ParameterizeOptions {
  /**
   * Keep quoted JavaScript names ('price' in "Cannot read properties of undefined (reading 'price')"): they
   * name code, not data, and are what tells two errors of one minified bundle apart.
   */
  keepQuotedIdentifiers?: boolean
}

/**
 * The message with numbers, hex ids, UUIDs, URLs and quoted strings turned into `<num>`, `<hex>`, `<uuid>`,
 * `<url>` and `<str>`, so "Item 48213 not found" and "Item 77 not found" group together when there is no
 * stack to tell them apart. The scrubber's placeholders (`[email]`, `[card]`, …) have no digits and stay.
 */
export function parameterizeMessage(message: string, options: ParameterizeOptions = {}): string {
  const quoted = options.keepQuotedIdentifiers ? keepIdentifier : () => '<str>'
  return message
    .replace(QUOTED, quoted)
    .replace(URL, '<url>')
    .replace(UUID, '<uuid>')
    .replace(HEX, hexOrWord)
    .replace(NUMBER, '<num>')
}

function keepIdentifier(match: string): string {
  const inner = match.slice(1, -1)
  return inner.length <= MAX_IDENTIFIER && IDENTIFIER_PATH.test(inner) ? match : '<str>'
}

function hexOrWord(match: string): string {
  let digits = 0
  for (let i = 0; i < match.length; i++) {
    const char = match.charCodeAt(i)
    if (char >= 48 && char <= 57) digits++
  }
  if (match.length > 2 && (match[1] === 'x' || match[1] === 'X') && match[0] === '0') return '<hex>'
  if (digits === 0) return match
  return digits === match.length ? '<num>' : '<hex>'
}

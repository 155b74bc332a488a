import type { SensitiveKeyMatcher } from './createSensitiveKeyMatcher.js'
import type { TextRule } from './textRule.js'

/**
 * Secrets written as `key=value` or `"key": "value"` inside free text: query strings in messages, JSON in
 * error messages, `password: hunter2` in logs. The key is kept (it says what was there), the value becomes
 * `[secret]`. An unquoted `Key: value` needs a space after the colon (so `auth.js:12:5` stack frames never
 * match) and a key that is not an error class (`TokenExpiredError: jwt expired` is a message, not a secret).
 * Values that are already placeholders, or `Bearer [token]`, are left as they are.
 */
export function createKeyValueRule(isSensitiveKey: SensitiveKeyMatcher, mayHoldSensitiveKey: (text: string) => boolean = () => true): TextRule {
  return {
    name: 'secret',
    // Only a sensitive key's value is ever replaced, and the key is part of the text.
    mayMatch: (text) => (text.includes('=') || text.includes(':')) && mayHoldSensitiveKey(text),
    regex:
      /(["'])([^"'\s:=]{1,64})\1(\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s&,;"'<>)}\]]+)|(?<![\w-])([A-Za-z_][\w-]{0,63})(\s*=\s*|:[ \t]+)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s&,;"'<>)}\]]+)/g,
    replace: (match, _quote, quotedKey, quotedSep, quotedValue, key, sep, value) => {
      const name = quotedKey ?? key
      const rawValue = quotedValue ?? value
      const separator = quotedSep ?? sep
      if (name === undefined || rawValue === undefined || separator === undefined) return match
      if (!isSensitiveKey(name)) return match
      if (key !== undefined && separator.startsWith(':') && /(?:Error|Exception|Warning)$/.test(key)) return match
      const inner = /^["']/.test(rawValue) ? rawValue.slice(1, -1) : rawValue
      if (inner === '' || /^\[\w+\]$/.test(inner) || /^(?:Bearer|Basic)$/i.test(inner)) return match
      const replaced = /^["']/.test(rawValue) ? `${rawValue[0]}[secret]${rawValue[0]}` : '[secret]'
      return match.slice(0, match.length - rawValue.length) + replaced
    },
  }
}

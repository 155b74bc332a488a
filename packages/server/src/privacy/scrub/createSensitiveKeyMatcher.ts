/**
 * DESIGN.md P4: values under these key names are secrets whatever they look like. Matching is a
 * case-insensitive substring, so `X-Auth-Token`, `user_password` and `sessionId` are all caught.
 */
export const SENSITIVE_KEY_PARTS = [
  'password', 'passwd', 'secret', 'token', 'auth', 'api_key', 'apikey', 'api-key', 'session', 'cookie',
  'credential', 'private_key', 'privatekey', 'card', 'cvv', 'iban', 'email', 'phone',
] as const

/**
 * `ssn` is the one part matched as a word of the key (`ssn`, `user_ssn`, `userSSN`, `customerSsn`), not as a
 * bare substring: as a substring it hits `className`, `classNames` and `crossname`, which are everywhere in
 * report bodies and contexts, and hiding them would be a false positive with no privacy gain.
 */
const SSN_WORD = /(?:^|[^A-Za-z])(?:ssn|Ssn|SSN)(?![a-z])|[a-z](?:Ssn|SSN)(?![a-z])/

export type SensitiveKeyMatcher = (key: string) => boolean

export function createSensitiveKeyMatcher(extraParts: readonly string[] = []): SensitiveKeyMatcher {
  const substring = sensitivePartsRegex(extraParts)
  return (key) => substring.test(key) || SSN_WORD.test(key)
}

/**
 * True when free text could hold a key the matcher above accepts: a matching key is a substring of the
 * text, so the text holds one of the parts, or `ssn` in some case. False means no key in it is sensitive.
 */
export function createSensitiveKeyFinder(extraParts: readonly string[] = []): (text: string) => boolean {
  const substring = sensitivePartsRegex(extraParts)
  const ssn = /ssn/i
  return (text) => substring.test(text) || ssn.test(text)
}

function sensitivePartsRegex(extraParts: readonly string[]): RegExp {
  const parts = [...SENSITIVE_KEY_PARTS, ...extraParts.map((part) => part.toLowerCase()).filter((part) => part !== '')]
  const escaped = parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(escaped.join('|'), 'i')
}

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
  const parts = [...SENSITIVE_KEY_PARTS, ...extraParts.map((part) => part.toLowerCase()).filter((part) => part !== '')]
  const escaped = parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  const substring = new RegExp(escaped.join('|'), 'i')
  return (key) => substring.test(key) || SSN_WORD.test(key)
}

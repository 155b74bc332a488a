/** RFC 5321's limit on a path, which bounds an address. */
export const MAX_EMAIL_LENGTH = 254

/**
 * A dashboard user's email as stored (trimmed, lower-cased), or undefined when it is not a plausible address.
 * Deliberately loose (one @, a dot in the domain, no spaces or control characters): it only names an account,
 * Tacit sends no mail.
 */
export function normalizeEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const email = value.trim().toLowerCase()
  if (email.length === 0 || email.length > MAX_EMAIL_LENGTH) return undefined
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"<>\\]/.test(email)) return undefined
  return /^[^@]{1,64}@[^@.]+(\.[^@.]+)+$/.test(email) ? email : undefined
}

/** Length in characters (code points), not UTF-16 units: an emoji counts once. */
export const MIN_PASSWORD_LENGTH = 10
/** Long enough for any passphrase or manager; short enough that hashing it costs nothing extra. */
export const MAX_PASSWORD_LENGTH = 256

/**
 * Why a new password is refused, as one sentence, or undefined when it is acceptable. The rules follow NIST
 * SP 800-63B: a minimum length and no composition rules; the account's own email is refused as the most
 * guessable password there is.
 */
export function passwordProblem(password: string, email: string): string | undefined {
  const length = [...password].length
  if (length < MIN_PASSWORD_LENGTH) return `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`
  if (length > MAX_PASSWORD_LENGTH) return `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`
  const lowered = password.trim().toLowerCase()
  const local = email.split('@')[0] ?? ''
  if (lowered === email.toLowerCase() || (local.length >= MIN_PASSWORD_LENGTH && lowered === local.toLowerCase())) {
    return 'The password must not be the email address.'
  }
  if (new Set(password).size === 1) return 'The password must not be one character repeated.'
  return undefined
}

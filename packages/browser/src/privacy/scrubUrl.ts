/**
 * Parameter names whose values are secrets whatever they look like: the server's list
 * (createSensitiveKeyMatcher.ts) plus PHP's `PHPSESSID`. `ssn` only at a word edge, or it would hit `className`.
 */
const SENSITIVE = /passw(or)?d|secret|token|auth|api[-_]?key|session|sessid|cookie|credential|private_?key|card|cvv|iban|email|phone|\bssn|ssn\b/i

/**
 * A `?`, `&`, `;` or `#` with `name=` (group 1) and a non-empty value, in the query or the fragment (OAuth
 * implicit flows put `#access_token=…` there, hash routers `#/path?token=…`). A value ends at the next
 * separator, so a secret nested in another parameter's unencoded value (`?next=/a?token=…`) is reached too.
 */
const PARAMETER = /([?&;#][^=?&;#]*=)[^?&;#]+/g

/**
 * The URL with sensitive parameter values replaced by `[secret]` and `user:pass@` by `[credentials]@`.
 * Done by hand rather than with `new URL`, which re-encodes and would change clean URLs: only the secrets
 * change, every other byte stays as it was, and a string that is not a URL at all passes through. The
 * server scrubs again and stays authoritative (DESIGN.md P4); this keeps the obvious secrets off the wire.
 */
export function scrubUrl(url: string): string {
  const end = url.search(/[?#]|$/)
  return (
    url.slice(0, end).replace(/^([a-z][\w+.-]*:)?\/\/[^/]*@/i, '$1//[credentials]@') +
    url.slice(end).replace(PARAMETER, (match, key: string) => {
      let name = key
      try {
        name = decodeURIComponent(key)
      } catch {
        // A malformed escape: judge the name as written.
      }
      return SENSITIVE.test(name) ? key + '[secret]' : match
    })
  )
}

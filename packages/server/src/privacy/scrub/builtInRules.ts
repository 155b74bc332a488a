import { passesLuhn } from './passesLuhn.js'
import { passesMod97 } from './passesMod97.js'
import type { TextRule } from './textRule.js'

/**
 * The built-in detectors of DESIGN.md P4, in the order they run. Order matters: whole tokens (keys, JWTs,
 * URL credentials) go first so their digits and `@` are not claimed by the card, phone or email rules, and
 * the checksum rules (card, IBAN) run before phone numbers, which are the loosest.
 *
 * Boundaries are explicit lookarounds rather than `\b`, because the clean data we must not touch is full
 * of digits glued to dots, dashes and letters: versions (`Chrome/120.0.0.0`), line:column pairs, hashes,
 * UUIDs and timestamps.
 */

const has = (literal: string) => (text: string) => text.includes(literal)

const privateKey: TextRule = {
  name: 'token',
  mayMatch: has('PRIVATE KEY'),
  // A truncated block (cut by a string cap) still ends the string, so it is covered to the end.
  regex: /-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----|$)/g,
  replace: () => '[token]',
}

const urlCredentials: TextRule = {
  name: 'credentials',
  mayMatch: (text) => text.includes('@') && text.includes('://'),
  regex: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@:]+:[^\s/?#@]*@/gi,
  replace: (_match, scheme) => `${scheme}[credentials]@`,
}

const jwt: TextRule = {
  name: 'jwt',
  mayMatch: has('eyJ'),
  // Header and payload are base64url JSON objects, so both start with `eyJ` (`{"`).
  regex: /(?<![\w-])eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g,
  replace: () => '[jwt]',
}

const bearer: TextRule = {
  name: 'token',
  mayMatch: (text) => /earer|asic/i.test(text),
  regex: /\b(Bearer|Basic)(\s+)(?!\[)[A-Za-z0-9._~+/-]{8,}=*/gi,
  replace: (_match, scheme, space) => `${scheme}${space}[token]`,
}

/** Well-known API key formats; prefixes documented by each vendor (and used by GitHub secret scanning). */
const apiKey: TextRule = {
  name: 'token',
  // Literal searches are much faster than one regex alternation; this is a superset of the prefixes below.
  mayMatch: (text) =>
    (text.includes('_') && (text.includes('gh') || text.includes('github_pat_') || text.includes('_live_') || text.includes('_test_'))) ||
    text.includes('xox') ||
    text.includes('AKIA') ||
    text.includes('ASIA') ||
    text.includes('AIza') ||
    text.includes('sk-'),
  regex:
    /(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255}|xox[abposr]-[A-Za-z0-9-]{10,250}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}|(?:AKIA|ASIA)[A-Z0-9]{16}|AIza[A-Za-z0-9_-]{35}|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,})(?![A-Za-z0-9])/g,
  replace: () => '[token]',
}

/** File extensions that look like top-level domains in `name@file.js` (Firefox/Safari stack frames, `logo@2x.png`). */
const NOT_TLDS = new Set([
  'js', 'mjs', 'cjs', 'ts', 'mts', 'cts', 'tsx', 'jsx', 'css', 'scss', 'less', 'html', 'htm', 'json', 'map', 'png',
  'jpg', 'jpeg', 'gif', 'svg', 'webp', 'avif', 'ico', 'wasm', 'vue', 'svelte', 'woff', 'woff2', 'ttf', 'otf', 'txt', 'xml',
])

/** What builds put between a file's name and its extension (`app.min.js`): never an address's top-level domain. */
const BUILD_INFIXES = new Set(['min', 'bundle', 'chunk', 'esm', 'umd', 'prod', 'vendor', 'runtime', 'module', 'worker', 'legacy', 'modern'])

const email: TextRule = {
  name: 'email',
  mayMatch: (text) => text.includes('@') || text.includes('%40'),
  regex:
    /(?<![\w.%+-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63})(?:@|%40)((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-]|\.[A-Za-z0-9])(:\d)?/g,
  replace: (match, local, domain, tld, lineColumn) => {
    // `git@github.com` is the SSH service account of every git host, not a person; `fn@app.js:1:2` is a stack frame.
    if (lineColumn || local === 'git') return match
    if (!NOT_TLDS.has(tld!.toLowerCase())) return '[email]'
    // A file extension after a whole address (`/exports/greta@example.org.json`): the address is still one. A single
    // label before the extension (`logo@2x.png`, `render@app.js`) is a file name.
    const labels = (domain as string).split('.')
    const realTld = labels.at(-3) !== undefined ? labels.at(-2)! : undefined
    const looksReal = realTld !== undefined && /^[A-Za-z]{2,24}$/.test(realTld) && !NOT_TLDS.has(realTld.toLowerCase()) && !BUILD_INFIXES.has(realTld.toLowerCase())
    if (looksReal) return `[email].${tld!}`
    return match
  },
}

/** Tries the longest prefix of space/dash-separated groups that passes `check`; rest of the match is kept. */
function longestValidPrefix(match: string, minLength: number, maxLength: number, check: (compact: string) => boolean, placeholder: string): string {
  const groups = match.split(/(?<=[ -])/)
  for (let count = groups.length; count > 0; count--) {
    const head = groups.slice(0, count).join('')
    const compact = head.replace(/[ -]/g, '')
    if (compact.length < minLength) break
    if (compact.length <= maxLength && check(compact)) {
      const trailing = /[ -]$/.test(head) ? head.slice(-1) : ''
      return placeholder + trailing + match.slice(head.length)
    }
  }
  return match
}

const iban: TextRule = {
  name: 'iban',
  mayMatch: (text) => /[A-Z]{2}\d{2}/.test(text),
  regex: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g,
  replace: (match) => longestValidPrefix(match, 15, 34, passesMod97, '[iban]'),
}

/**
 * 13–19 digits, optionally grouped by spaces or dashes, starting with an issuer digit 2–6 (Mastercard 2/5,
 * Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6) and passing Luhn. The issuer digit keeps epoch
 * milliseconds (which start with 1 until 2033) from ever being a card, whatever their checksum.
 */
const card: TextRule = {
  name: 'card',
  // The pattern without its lookarounds: a regex that starts with a character class is found much faster.
  mayMatch: (text) => /[2-6]\d{3}(?:[ -]?\d){9}/.test(text),
  regex: /(?<![\w.,-])[2-6]\d{3}(?:[ -]?\d){9,15}(?!\w|[.,]\d)/g,
  replace: (match) => longestValidPrefix(match, 13, 19, passesLuhn, '[card]'),
}

/** US SSN with a consistent separator; never issued: area 000, 666, 900–999, group 00, serial 0000. */
const ssn: TextRule = {
  name: 'ssn',
  mayMatch: (text) => /\d{3}[- ]\d{2}[- ]\d{4}/.test(text),
  regex: /(?<![\w.-])(?!000|666|9)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-]|\.\d)/g,
  replace: () => '[ssn]',
}

const IPV4 = String.raw`(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}`

/**
 * IPv4: four octets of 0–255 not glued to other word characters or dots. After a single slash it must be a
 * whole path segment (`/u/1.2.3.4/orders`), so `Chrome/120.0.0.0` (product/version), `v1.2.3.4` and
 * `10.0.19045.3803` stay clean, while `http://10.1.2.3/` and `ip 1.2.3.4` are addresses: a bare dotted
 * quad in prose is treated as an IP.
 */
const ipv4: TextRule = {
  name: 'ip',
  mayMatch: (text) => /\d\.\d{1,3}\.\d{1,3}\.\d/.test(text),
  regex: new RegExp(String.raw`(?:(?<![\w.]|(?:^|[^/])/)${IPV4}|(?<=/)${IPV4}(?=[/?#]))(?![\w]|\.\d)`, 'g'),
  replace: () => '[ip]',
}

/**
 * IPv6 candidates are colon-separated hex groups, validated in code: eight groups, or `::` compression with
 * at least two groups and a digit (so `12:30:45` times and `Foo::bar` names are not addresses).
 */
const SIX_COLONS = /:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:/

const ipv6: TextRule = {
  name: 'ip',
  // Only `::` or eight groups (six colons at least, before an embedded IPv4 tail) pass `isIpv6`.
  mayMatch: (text) => text.includes('::') || SIX_COLONS.test(text),
  regex: new RegExp(String.raw`(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:${IPV4}|[0-9A-Fa-f]{0,4})(?![\w:]|\.\w)`, 'g'),
  replace: (match) => {
    if (isIpv6(match)) return '[ip]'
    // `…88d7: timeout`: the colon after the address belongs to the sentence.
    if (match.endsWith(':') && !match.endsWith('::') && isIpv6(match.slice(0, -1))) return '[ip]:'
    return match
  },
}

export function isIpv6(candidate: string): boolean {
  let text = candidate
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) counts as two groups.
  const lastColon = text.lastIndexOf(':')
  if (text.includes('.', lastColon)) text = text.slice(0, lastColon + 1) + '0:0'
  const halves = text.split('::')
  if (halves.length > 2) return false
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')))
  if (groups.some((group) => !/^[0-9A-Fa-f]{1,4}$/.test(group))) return false
  const total = groups.length
  if (halves.length === 1) return total === 8
  return total >= 2 && total <= 7 && /\d/.test(candidate)
}

/**
 * Phone numbers, the loosest kind, need a shape no timestamp, version or price has: a leading `+` (or
 * `00`/`0` trunk prefix with consistent separators), `(415) 555-0132`, or `415-555-0132` with the same
 * separator twice. Digit-only runs without a `+` are never phones (they are ids and epochs).
 */
const phone: TextRule = {
  name: 'phone',
  // What each alternative below starts with, without the lookarounds.
  mayMatch: (text) => /\+\d|\(\d{3}\)|\d{3}[.-]\d{3}[.-]\d{4}|0\d{1,4}[ -]\d\d/.test(text),
  regex:
    /(?<![\w+])\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){1,6}(?!\w|[.-]\d)|(?<![\w)])\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}(?!\w|[.-]\d)|(?<![\w.-])\d{3}([.-])\d{3}\1\d{4}(?!\w|[.-]\d)|(?<![\w.,:/+-])0(?:0[1-9]\d{0,2}|[1-9]\d{0,3})([ -])\d{2,8}(?:\2\d{2,8}){0,3}(?!\w|[.,:-]\d)/g,
  replace: (match) => {
    const digits = match.replace(/\D/g, '').length
    return digits >= 9 && digits <= 15 ? '[phone]' : match
  },
}

export const BUILT_IN_RULES: readonly TextRule[] = [privateKey, urlCredentials, jwt, bearer, apiKey, email, iban, card, ssn, ipv6, ipv4, phone]

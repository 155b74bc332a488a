import type { AppSettings } from '../../apps/appSettings.js'
import { compilePathRule } from './compilePathRule.js'
import type { SensitiveKeyMatcher } from './createSensitiveKeyMatcher.js'
import type { TextScrubber } from './createTextScrubber.js'

export type UrlScrubber = (url: string) => string

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const NUMERIC = /^\d+$/

/**
 * URLs are split by hand rather than with `new URL`, which normalizes (percent-encoding, default ports,
 * `..`) and would change clean URLs; DESIGN.md P4 wants them byte-identical. The parts: everything before
 * `?`/`#` (scheme, credentials, host, path) gets the path rules, id templating and text rules; each query
 * parameter is judged by its name first (sensitive → `[secret]`, not allowed → `[redacted]`), then its
 * value by the text rules; the fragment is treated like a path with its own query, because client-side
 * routers (`#/users/42?tab=2`) and OAuth implicit flows (`#access_token=…`) put real data there.
 */
export function createUrlScrubber(
  options: AppSettings['scrub'],
  scrubText: TextScrubber,
  isSensitiveKey: SensitiveKeyMatcher,
): UrlScrubber {
  const pathRules = options.pathRules.map(compilePathRule)
  const allowed = options.queryAllowList ? new Set(options.queryAllowList) : null

  function scrubPath(path: string): string {
    let result = path
    for (const rule of pathRules) {
      const replaced = rule(result)
      if (replaced !== undefined) {
        result = replaced
        break
      }
    }
    if (options.templateIds) {
      result = result
        .split('/')
        .map((segment) => (NUMERIC.test(segment) || UUID.test(segment) ? ':id' : segment))
        .join('/')
    }
    return result
  }

  function scrubBeforeQuery(part: string): string {
    const hostEnd = part.indexOf('://') === -1 ? 0 : part.indexOf('/', part.indexOf('://') + 3)
    if (hostEnd === -1) return scrubText(part)
    const origin = part.slice(0, hostEnd)
    return scrubText(origin) + scrubText(scrubPath(part.slice(hostEnd)))
  }

  function scrubParameter(parameter: string): string {
    if (parameter === '') return parameter
    const eq = parameter.indexOf('=')
    const rawName = eq === -1 ? parameter : parameter.slice(0, eq)
    const name = safeDecode(rawName)
    if (eq === -1) return scrubText(parameter)
    const value = parameter.slice(eq + 1)
    const scrubbedName = scrubText(rawName)
    if (value === '') return parameter
    if (isSensitiveKey(name)) return `${scrubbedName}=[secret]`
    if (allowed && !allowed.has(name)) return `${scrubbedName}=[redacted]`
    return `${scrubbedName}=${scrubValue(value)}`
  }

  /** Values are judged decoded (`john%40example.com`, `%2B1%20415…`) but kept encoded when clean. */
  function scrubValue(value: string): string {
    const direct = scrubText(value)
    if (direct !== value || !value.includes('%') && !value.includes('+')) return direct
    const decoded = safeDecode(value.replace(/\+/g, ' '))
    const scrubbed = scrubText(decoded)
    return scrubbed === decoded ? value : encodeURIComponent(scrubbed).replace(/%5B/g, '[').replace(/%5D/g, ']')
  }

  function scrubQuery(query: string): string {
    return query.split('&').map(scrubParameter).join('&')
  }

  function scrubFragment(fragment: string): string {
    const question = fragment.indexOf('?')
    if (question !== -1) return scrubText(scrubPath(fragment.slice(0, question))) + '?' + scrubQuery(fragment.slice(question + 1))
    if (fragment.includes('=') && !fragment.includes('/')) return scrubQuery(fragment)
    return scrubText(scrubPath(fragment))
  }

  return (url) => {
    const hash = url.indexOf('#')
    const beforeHash = hash === -1 ? url : url.slice(0, hash)
    const question = beforeHash.indexOf('?')
    let result = scrubBeforeQuery(question === -1 ? beforeHash : beforeHash.slice(0, question))
    if (question !== -1) result += '?' + scrubQuery(beforeHash.slice(question + 1))
    if (hash !== -1) result += '#' + scrubFragment(url.slice(hash + 1))
    return result
  }
}

function safeDecode(text: string): string {
  if (!text.includes('%')) return text
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

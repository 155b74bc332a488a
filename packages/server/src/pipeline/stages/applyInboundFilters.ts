import type { AppSettings } from '../../apps/appSettings.js'
import { createNetworkSet, type NetworkSet } from '../../privacy/network/ipNetwork.js'
import type { Stage } from '../runPipeline.js'

/**
 * DESIGN.md P8: the app's inbound filters — IP networks (deny, or allow-only), countries and URL path
 * globs — each drop counted under its own reason. Runs after `lookupCountry`. Allowed origins are checked
 * earlier, in the ingest route, because they apply to the whole request.
 */
interface CompiledFilters {
  ipAllow: NetworkSet
  ipDeny: NetworkSet
  countries: ReadonlySet<string>
  paths: RegExp | undefined
}

export function createApplyInboundFilters(): Stage {
  // Settings objects are replaced, never changed in place, when an operator edits them: compile once each.
  const compiled = new WeakMap<AppSettings['filters'], CompiledFilters>()
  const compile = (filters: AppSettings['filters']): CompiledFilters => {
    let entry = compiled.get(filters)
    if (!entry) {
      entry = {
        ipAllow: createNetworkSet(filters.ipAllow),
        ipDeny: createNetworkSet(filters.ipDeny),
        countries: new Set(filters.blockCountries),
        paths: filters.blockPaths.length > 0 ? new RegExp(filters.blockPaths.map(globSource).join('|')) : undefined,
      }
      compiled.set(filters, entry)
    }
    return entry
  }
  return {
    name: 'applyInboundFilters',
    run(event, request) {
      const filters = request.settings.filters
      if (
        filters.ipAllow.length === 0 &&
        filters.ipDeny.length === 0 &&
        filters.blockCountries.length === 0 &&
        filters.blockPaths.length === 0
      ) {
        return undefined
      }
      const { ipAllow, ipDeny, countries, paths } = compile(filters)
      if (request.relay) {
        // The relay checked the address against these same networks (it fetches the app's settings, up to a
        // minute old: a verdict for networks the app no longer filters is not followed).
        if (request.relay.ip_blocked && (ipAllow.size > 0 || ipDeny.size > 0)) return 'ip_blocked'
      } else {
        if (ipDeny.has(request.ip)) return 'ip_blocked'
        if (ipAllow.size > 0 && !ipAllow.has(request.ip)) return 'ip_blocked'
      }
      const country = request.derived.country
      if (country !== undefined && countries.has(country)) return 'country_blocked'
      if (paths && event.view && paths.test(urlPath(event.view.url))) return 'path_blocked'
      return undefined
    },
  }
}

/**
 * A path glob as an anchored regex: `*` matches within one segment, `**` across segments, and a trailing
 * `/**` also matches the bare prefix (`/admin/**` blocks `/admin` too).
 */
export function globSource(glob: string): string {
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string
    if (glob.startsWith('/**', i) && i + 3 === glob.length) {
      source += '(?:/.*)?'
      break
    }
    if (glob.startsWith('**', i)) {
      source += '.*'
      i++
    } else if (char === '*') {
      source += '[^/]*'
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
    }
  }
  return `^${source}$`
}

/** The path of a page URL, absolute or not; `/` when there is none. */
export function urlPath(url: string): string {
  try {
    return new URL(url).pathname
  } catch {
    const end = url.search(/[?#]/)
    const path = end === -1 ? url : url.slice(0, end)
    return path.startsWith('/') ? path : `/${path}`
  }
}

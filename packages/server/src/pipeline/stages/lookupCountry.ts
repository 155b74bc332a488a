import type { GeoLookup } from '../../privacy/geo/createGeoLookup.js'
import type { RequestContext, Stage } from '../runPipeline.js'

/**
 * DESIGN.md P5: the country is derived from the IP once per request, early, because the inbound filters
 * may block countries; it is held in `request.derived` (memory only) and stored on the event only as far
 * as the app's `geo` setting allows. `geo=city` needs a city database from the operator
 * (TACIT_GEOIP_CITY_DB); without one it falls back to storing the country.
 */
export function createLookupCountry(deps: { geo: GeoLookup }): Stage {
  const lookedUp = new WeakSet<RequestContext>()
  return {
    name: 'lookupCountry',
    run(event, request) {
      const { geo } = request.settings.privacy
      const needed = geo !== 'off' || request.settings.filters.blockCountries.length > 0
      if (!needed) return undefined
      if (!lookedUp.has(request)) {
        lookedUp.add(request)
        // A relay looked the address up in its own copy of the database; the address never came here.
        const found = request.relay ?? deps.geo.lookup(request.ip, { city: geo === 'city' })
        if (found.country) request.derived.country = found.country
        if (found.city) request.derived.city = found.city
      }
      const { country, city } = request.derived
      if (geo === 'off' || !country) return undefined
      event.geo = geo === 'city' && city ? { country, city } : { country }
      return undefined
    },
  }
}

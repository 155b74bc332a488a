import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGeoLookup, GeoDatabaseError, type GeoLookup } from '../../src/privacy/geo/createGeoLookup.js'
import { writeMmdb } from '../fixtures/geo/writeMmdb.js'

let dir: string
let cityDatabasePath: string
let geo: GeoLookup

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tacit-geo-'))
  cityDatabasePath = join(dir, 'city.mmdb')
  writeFileSync(
    cityDatabasePath,
    writeMmdb([
      // MaxMind's nested GeoIP2 City shape.
      { cidr: '81.2.69.0/24', data: { city: { geoname_id: 2643743, names: { en: 'London', de: 'London' } }, country: { iso_code: 'GB' } } },
      // ip-location-db's flat shape.
      { cidr: '2a02:8070::/32', data: { city: 'Karlsruhe', country_code: 'DE' } },
      // A private network the country database does not know: the city database's country is used.
      { cidr: '192.168.7.0/24', data: { city: { names: { en: 'Testville' } }, country: { iso_code: 'NL' } } },
    ]),
  )
  geo = createGeoLookup({ cityDatabasePath })
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('createGeoLookup with the DB-IP country database shipped in the npm package', () => {
  const countryOnly = createGeoLookup()

  it('finds the country of IPv4, IPv6 and IPv4-mapped addresses', () => {
    expect(countryOnly.hasCity).toBe(false)
    expect(countryOnly.lookup('8.8.8.8')).toEqual({ country: 'US' })
    expect(countryOnly.lookup('81.2.69.160')).toEqual({ country: 'GB' })
    expect(countryOnly.lookup('::ffff:81.2.69.160')).toEqual({ country: 'GB' })
    expect(countryOnly.lookup('2a00:1450:4001::1').country).toMatch(/^[A-Z]{2}$/)
  })

  it('answers nothing for private, loopback and malformed addresses, and never throws', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '::1', '', 'not-an-ip', '999.1.1.1', '/tmp/socket']) {
      expect(countryOnly.lookup(ip), ip).toEqual({})
    }
  })

  it('gives no city without a city database, even when asked', () => {
    expect(countryOnly.lookup('81.2.69.160', { city: true })).toEqual({ country: 'GB' })
  })
})

describe('createGeoLookup with an operator city database (TACIT_GEOIP_CITY_DB)', () => {
  it('adds the city only when asked', () => {
    expect(geo.hasCity).toBe(true)
    expect(geo.lookup('81.2.69.160')).toEqual({ country: 'GB' })
    expect(geo.lookup('81.2.69.160', { city: true })).toEqual({ country: 'GB', city: 'London' })
    expect(geo.lookup('::ffff:81.2.69.1', { city: true })).toEqual({ country: 'GB', city: 'London' })
  })

  it('reads flat records and IPv6 networks', () => {
    expect(geo.lookup('2a02:8070:1234::1', { city: true })).toMatchObject({ city: 'Karlsruhe' })
  })

  it('takes the country from the city database when the country database has none', () => {
    expect(geo.lookup('192.168.7.20', { city: true })).toEqual({ country: 'NL', city: 'Testville' })
    expect(geo.lookup('192.168.8.20', { city: true })).toEqual({})
  })

  it('refuses a missing or non-MaxMind file with one sentence', () => {
    expect(() => createGeoLookup({ cityDatabasePath: join(dir, 'missing.mmdb') })).toThrow(GeoDatabaseError)
    const junk = join(dir, 'junk.mmdb')
    writeFileSync(junk, 'not a database')
    expect(() => createGeoLookup({ cityDatabasePath: junk })).toThrow(/is not a MaxMind-format/)
  })
})

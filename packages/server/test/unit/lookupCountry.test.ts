import { describe, expect, it } from 'vitest'
import type { GeoLookup } from '../../src/privacy/geo/createGeoLookup.js'
import { createLookupCountry } from '../../src/pipeline/stages/lookupCountry.js'
import { fakeRequest, fakeView } from './fakeRequest.js'

function fakeGeo(hasCity = true) {
  const calls: Array<{ ip: string; city: boolean }> = []
  const geo: GeoLookup = {
    hasCity,
    lookup(ip, options = {}) {
      calls.push({ ip, city: options.city === true })
      if (ip !== '203.0.113.9') return {}
      return options.city && hasCity ? { country: 'FR', city: 'Lyon' } : { country: 'FR' }
    },
  }
  return { geo, calls }
}

describe('lookupCountry', () => {
  it('stores the country by default', () => {
    const { geo } = fakeGeo()
    const event = fakeView()
    const request = fakeRequest()
    expect(createLookupCountry({ geo }).run(event, request)).toBeUndefined()
    expect(event.geo).toEqual({ country: 'FR' })
    expect(request.derived.country).toBe('FR')
  })

  it('stores nothing with geo=off, and does not even look up unless a filter needs the country', () => {
    const { geo, calls } = fakeGeo()
    const event = fakeView()
    createLookupCountry({ geo }).run(event, fakeRequest({ settings: ['geo=off'] }))
    expect(event.geo).toBeUndefined()
    expect(calls).toEqual([])

    const filtered = fakeView()
    const request = fakeRequest({ settings: ['geo=off', 'block_countries=DE'] })
    createLookupCountry({ geo }).run(filtered, request)
    expect(filtered.geo).toBeUndefined()
    expect(request.derived.country).toBe('FR')
  })

  it('stores the city with geo=city when the operator has a city database', () => {
    const { geo, calls } = fakeGeo()
    const event = fakeView()
    createLookupCountry({ geo }).run(event, fakeRequest({ settings: ['geo=city'] }))
    expect(event.geo).toEqual({ country: 'FR', city: 'Lyon' })
    expect(calls).toEqual([{ ip: '203.0.113.9', city: true }])
  })

  it('falls back to the country with geo=city and no city database', () => {
    const { geo } = fakeGeo(false)
    const event = fakeView()
    createLookupCountry({ geo }).run(event, fakeRequest({ settings: ['geo=city'] }))
    expect(event.geo).toEqual({ country: 'FR' })
  })

  it('does not ask for the city unless geo=city', () => {
    const { geo, calls } = fakeGeo()
    const event = fakeView()
    createLookupCountry({ geo }).run(event, fakeRequest())
    expect(calls).toEqual([{ ip: '203.0.113.9', city: false }])
    expect(event.geo).toEqual({ country: 'FR' })
  })

  it('looks up once per request, also when nothing is found', () => {
    const { geo, calls } = fakeGeo()
    const stage = createLookupCountry({ geo })
    const request = fakeRequest()
    for (let i = 0; i < 3; i++) stage.run(fakeView(), request)
    const unknown = fakeRequest({ overrides: { ip: '10.0.0.1' } })
    const event = fakeView()
    for (let i = 0; i < 3; i++) stage.run(event, unknown)
    expect(calls).toHaveLength(2)
    expect(event.geo).toBeUndefined()
    expect(unknown.derived).toEqual({})
  })
})

import { describe, expect, it } from 'vitest'
import { runPipeline, type Stage } from '../../src/pipeline/runPipeline.js'
import { createApplyInboundFilters } from '../../src/pipeline/stages/applyInboundFilters.js'
import { dropBots } from '../../src/pipeline/stages/dropBots.js'
import { createDropUserIdentity } from '../../src/pipeline/stages/dropUserIdentity.js'
import { honorOptOut } from '../../src/pipeline/stages/honorOptOut.js'
import { keepNetworkPrefix } from '../../src/pipeline/stages/keepNetworkPrefix.js'
import { createLookupCountry } from '../../src/pipeline/stages/lookupCountry.js'
import { createGeoLookup } from '../../src/privacy/geo/createGeoLookup.js'
import { fakeRequest, fakeView } from './fakeRequest.js'

// The IP and UA stages in the recommended order, with the real DB-IP country database.
const stages: Stage[] = [
  dropBots,
  honorOptOut,
  createLookupCountry({ geo: createGeoLookup() }),
  createApplyInboundFilters(),
  keepNetworkPrefix,
  createDropUserIdentity(),
]
const GB_IP = '81.2.69.160'
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0 tacit-planted-ua'

describe('IP and User-Agent stages together', () => {
  it('derive the country before the filters, so a blocked country is dropped even with geo=off', () => {
    const outcome = runPipeline(stages, fakeView(), fakeRequest({ settings: ['geo=off', 'block_countries=GB'], overrides: { ip: GB_IP } }))
    expect(outcome).toEqual({ dropped: 'country_blocked', stage: 'applyInboundFilters' })
  })

  it('store neither the address nor the User-Agent, whatever the settings', () => {
    for (const settings of [[], ['ip=truncated', 'geo=city', 'keep_bots=true', 'allow_user_identity=true']]) {
      const event = { ...fakeView(), usr: { id: 'u-1' } }
      const outcome = runPipeline(stages, event, fakeRequest({ settings, overrides: { ip: GB_IP, userAgent: UA } }))
      expect('stored' in outcome).toBe(true)
      const stored = JSON.stringify(outcome)
      expect(stored).toContain('"country":"GB"')
      expect(stored).not.toContain(GB_IP)
      expect(stored).not.toContain('tacit-planted-ua')
    }
  })

  it('count a bot as a bot even when it also opted out or comes from a blocked country', () => {
    const request = fakeRequest({
      settings: ['honor_gpc=true', 'block_countries=GB'],
      overrides: { ip: GB_IP, optOut: true, userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
    })
    expect(runPipeline(stages, fakeView(), request)).toEqual({ dropped: 'bot', stage: 'dropBots' })
  })
})

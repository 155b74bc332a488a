import { describe, expect, it } from 'vitest'
import type { StripReason } from '../../src/pipeline/dropReasons.js'
import { createDropUserIdentity } from '../../src/pipeline/stages/dropUserIdentity.js'
import { honorOptOut } from '../../src/pipeline/stages/honorOptOut.js'
import { keepNetworkPrefix } from '../../src/pipeline/stages/keepNetworkPrefix.js'
import { fakeRequest, fakeView } from './fakeRequest.js'

describe('honorOptOut', () => {
  it('keeps opted-out requests by default (GPC is sent for every visitor by some browsers)', () => {
    expect(honorOptOut.run(fakeView(), fakeRequest({ overrides: { optOut: true } }))).toBeUndefined()
  })

  it('drops them with reason opt_out when the app honours GPC/DNT', () => {
    expect(honorOptOut.run(fakeView(), fakeRequest({ settings: ['honor_gpc=true'], overrides: { optOut: true } }))).toBe('opt_out')
    expect(honorOptOut.run(fakeView(), fakeRequest({ settings: ['honor_gpc=true'] }))).toBeUndefined()
  })
})

describe('dropUserIdentity', () => {
  const withUser = () => ({ ...fakeView(), usr: { id: 'u-42', name: 'Ada', email: 'ada@example.com' } })

  it('removes usr by default, keeps the event and counts it', () => {
    const counted: StripReason[] = []
    const stage = createDropUserIdentity({ countStripped: (reason) => counted.push(reason) })
    const event = withUser()
    expect(stage.run(event, fakeRequest())).toBeUndefined()
    expect(event).not.toHaveProperty('usr')
    expect(event.view?.url).toBe('https://shop.example.com/cart')
    expect(counted).toEqual(['user_identity'])
  })

  it('keeps usr when the app allows user identity', () => {
    const counted: StripReason[] = []
    const event = withUser()
    createDropUserIdentity({ countStripped: (reason) => counted.push(reason) }).run(event, fakeRequest({ settings: ['allow_user_identity=true'] }))
    expect(event.usr).toEqual({ id: 'u-42', name: 'Ada', email: 'ada@example.com' })
    expect(counted).toEqual([])
  })

  it('counts nothing when there was no usr', () => {
    const counted: StripReason[] = []
    createDropUserIdentity({ countStripped: (reason) => counted.push(reason) }).run(fakeView(), fakeRequest())
    expect(counted).toEqual([])
  })
})

describe('keepNetworkPrefix', () => {
  it('stores nothing of the address by default', () => {
    const event = fakeView()
    keepNetworkPrefix.run(event, fakeRequest())
    expect(event.network).toBeUndefined()
    expect(JSON.stringify(event)).not.toContain('203.0.113')
  })

  it('stores the /24 or /48 network with ip=truncated', () => {
    const v4 = fakeView()
    keepNetworkPrefix.run(v4, fakeRequest({ settings: ['ip=truncated'], overrides: { ip: '::ffff:203.0.113.9' } }))
    expect(v4.network).toEqual({ ip_prefix: '203.0.113.0/24' })
    expect(JSON.stringify(v4)).not.toContain('203.0.113.9')
    const v6 = fakeView()
    keepNetworkPrefix.run(v6, fakeRequest({ settings: ['ip=truncated'], overrides: { ip: '2001:db8:abcd:12::99' } }))
    expect(v6.network).toEqual({ ip_prefix: '2001:db8:abcd::/48' })
  })

  it('stores nothing for a peer that is not an IP address', () => {
    const event = fakeView()
    keepNetworkPrefix.run(event, fakeRequest({ settings: ['ip=truncated'], overrides: { ip: 'unix-socket' } }))
    expect(event.network).toBeUndefined()
  })
})

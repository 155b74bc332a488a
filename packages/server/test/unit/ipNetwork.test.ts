import { describe, expect, it } from 'vitest'
import { createNetworkSet, parseCidr, truncateIp, unmapIpv4 } from '../../src/privacy/network/ipNetwork.js'

describe('unmapIpv4', () => {
  it('turns IPv4-mapped IPv6 into IPv4 and leaves the rest', () => {
    expect(unmapIpv4('::ffff:203.0.113.9')).toBe('203.0.113.9')
    expect(unmapIpv4('::FFFF:198.51.100.1')).toBe('198.51.100.1')
    expect(unmapIpv4('203.0.113.9')).toBe('203.0.113.9')
    expect(unmapIpv4('2001:db8::1')).toBe('2001:db8::1')
    expect(unmapIpv4('::ffff:nonsense')).toBe('::ffff:nonsense')
  })
})

describe('truncateIp', () => {
  it('keeps the /24 of an IPv4 address', () => {
    expect(truncateIp('203.0.113.9')).toBe('203.0.113.0/24')
    expect(truncateIp('10.1.2.255')).toBe('10.1.2.0/24')
    expect(truncateIp('::ffff:198.51.100.77')).toBe('198.51.100.0/24')
  })

  it('keeps the /48 of an IPv6 address', () => {
    expect(truncateIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3::/48')
    expect(truncateIp('2001:0DB8:0001:ffff::1')).toBe('2001:db8:1::/48')
    expect(truncateIp('2001:db8::1')).toBe('2001:db8::/48')
    expect(truncateIp('::1')).toBe('::/48')
    expect(truncateIp('fe80::1%eth0')).toBe('fe80::/48')
    expect(truncateIp('64:ff9b::192.0.2.33')).toBe('64:ff9b::/48')
  })

  it('answers undefined for what is not an address', () => {
    for (const value of ['', 'localhost', '300.1.1.1', '1.2.3', 'unix:/tmp/s']) expect(truncateIp(value), value).toBeUndefined()
  })

  it('never keeps the host part', () => {
    const prefix = truncateIp('203.0.113.219') as string
    expect(prefix).not.toContain('219')
  })
})

describe('parseCidr', () => {
  it('parses networks and bare addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' })
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' })
    expect(parseCidr('192.0.2.1')).toEqual({ address: '192.0.2.1', prefix: 32, family: 'ipv4' })
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' })
  })

  it('refuses what is not one', () => {
    for (const entry of ['', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/8/8', '10.0.0.0/x', 'example.com', '10.0.0.0/-1', '10.0.0/8']) {
      expect(parseCidr(entry), entry).toBeUndefined()
    }
  })
})

describe('createNetworkSet', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses', () => {
    const set = createNetworkSet(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'])
    expect(set.has('10.200.3.4')).toBe(true)
    expect(set.has('::ffff:10.200.3.4')).toBe(true)
    expect(set.has('11.0.0.1')).toBe(false)
    expect(set.has('2001:db8:ffff::1')).toBe(true)
    expect(set.has('2001:db9::1')).toBe(false)
    expect(set.has('192.0.2.7')).toBe(true)
    expect(set.has('192.0.2.8')).toBe(false)
    expect(set.has('not an ip')).toBe(false)
  })

  it('is empty for no entries and refuses invalid ones', () => {
    expect(createNetworkSet([]).has('10.0.0.1')).toBe(false)
    expect(() => createNetworkSet(['nope'])).toThrow()
  })
})

import { describe, expect, it } from 'vitest'
import { clientIpFromForwarded } from '../../src/privacy/network/clientIpFromForwarded.js'
import { createNetworkSet } from '../../src/privacy/network/ipNetwork.js'

const proxies = createNetworkSet(['10.0.0.0/8', '2001:db8:ffff::/48'])
const trusted = (ip: string) => proxies.has(ip)

describe('clientIpFromForwarded', () => {
  it('uses the socket peer when there is no header', () => {
    expect(clientIpFromForwarded('10.0.0.2', undefined, trusted)).toBe('10.0.0.2')
    expect(clientIpFromForwarded('::ffff:198.51.100.4', undefined, trusted)).toBe('198.51.100.4')
  })

  it('believes for= from a trusted proxy', () => {
    expect(clientIpFromForwarded('10.0.0.2', 'for=198.51.100.4', trusted)).toBe('198.51.100.4')
    expect(clientIpFromForwarded('10.0.0.2', 'for=198.51.100.4;proto=https;by=10.0.0.2', trusted)).toBe('198.51.100.4')
    expect(clientIpFromForwarded('10.0.0.2', 'For="198.51.100.4:4711"', trusted)).toBe('198.51.100.4')
    expect(clientIpFromForwarded('10.0.0.2', 'for="[2001:db8:cafe::17]:4711"', trusted)).toBe('2001:db8:cafe::17')
    expect(clientIpFromForwarded('10.0.0.2', 'for="[2001:db8:cafe::17]"', trusted)).toBe('2001:db8:cafe::17')
    expect(clientIpFromForwarded('::ffff:10.0.0.2', 'for=198.51.100.4', trusted)).toBe('198.51.100.4')
  })

  it('walks back through a chain of trusted proxies to the first untrusted hop', () => {
    expect(clientIpFromForwarded('10.0.0.2', 'for=198.51.100.4, for=10.0.0.9', trusted)).toBe('198.51.100.4')
    expect(clientIpFromForwarded('10.0.0.2', ['for=198.51.100.4', 'for="[2001:db8:ffff::5]"'], trusted)).toBe('198.51.100.4')
  })

  it('ignores the header from an untrusted peer: a client cannot choose its address', () => {
    expect(clientIpFromForwarded('198.51.100.4', 'for=203.0.113.66', trusted)).toBe('198.51.100.4')
    expect(clientIpFromForwarded('2001:db8:1::1', 'for=10.0.0.5', trusted)).toBe('2001:db8:1::1')
  })

  it('stops at the last untrusted hop when a client prepends forged elements through a trusted proxy', () => {
    // The client sent "Forwarded: for=203.0.113.66"; the proxy appended the address it really saw.
    expect(clientIpFromForwarded('10.0.0.2', 'for=203.0.113.66, for=198.51.100.4', trusted)).toBe('198.51.100.4')
    // Forging a trusted address in front does not help either: the proxy's element still names the client.
    expect(clientIpFromForwarded('10.0.0.2', 'for=10.0.0.7, for=198.51.100.4', trusted)).toBe('198.51.100.4')
  })

  it('falls back to the last known hop, never a client-chosen value, when a hop is hidden or malformed', () => {
    for (const header of ['for=unknown', 'for=_hidden', 'proto=https', 'for=', 'for="[2001:db8::1"', 'for=198.51.100.4:port', 'for=example.com']) {
      expect(clientIpFromForwarded('10.0.0.2', header, trusted), header).toBe('10.0.0.2')
    }
    expect(clientIpFromForwarded('10.0.0.2', 'for=203.0.113.66, for=unknown', trusted)).toBe('10.0.0.2')
    expect(clientIpFromForwarded('10.0.0.2', 'for=203.0.113.66, for=unknown, for=10.0.0.3', trusted)).toBe('10.0.0.3')
  })
})

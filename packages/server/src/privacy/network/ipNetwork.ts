import { BlockList, isIP } from 'node:net'

/**
 * Small address helpers shared by the IP stages and the inbound filters. Nothing here logs or returns an
 * address in an error: callers hold the raw IP only in the request's scope (DESIGN.md P2).
 */

/** `::ffff:203.0.113.9` (how a dual-stack socket reports an IPv4 client) becomes `203.0.113.9`. */
export function unmapIpv4(ip: string): string {
  if (ip.length > 7 && (ip.startsWith('::ffff:') || ip.startsWith('::FFFF:'))) {
    const v4 = ip.slice(7)
    if (isIP(v4) === 4) return v4
  }
  return ip
}

/**
 * The network an address belongs to, as `203.0.113.0/24` (IPv4) or `2001:db8:1::/48` (IPv6): the widest
 * prefix that still says something useful (provider, region) without pointing at a household.
 */
export function truncateIp(ip: string): string | undefined {
  const address = unmapIpv4(ip)
  const family = isIP(address)
  if (family === 4) {
    const [a, b, c] = address.split('.')
    return `${Number(a)}.${Number(b)}.${Number(c)}.0/24`
  }
  if (family === 6) {
    const groups = expandIpv6(address)
    if (!groups) return undefined
    const kept = groups.slice(0, 3).map((group) => group.toString(16))
    // Trailing zero groups collapse into `::`, as an address would be written.
    while (kept.length > 0 && kept[kept.length - 1] === '0') kept.pop()
    return `${kept.join(':')}::/48`
  }
  return undefined
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail included). */
function expandIpv6(address: string): number[] | undefined {
  const zone = address.indexOf('%')
  let text = zone === -1 ? address : address.slice(0, zone)
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (tail?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = tail[1].split('.').map(Number)
    text = `${text.slice(0, -tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : [])
  const head = parse(halves[0])
  const rest = parse(halves[1])
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0
  const groups = [...head, ...new Array<number>(fill).fill(0), ...rest]
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined
}

export interface Cidr {
  address: string
  prefix: number
  family: 'ipv4' | 'ipv6'
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (one host); undefined when it is neither. */
export function parseCidr(entry: string): Cidr | undefined {
  const parts = entry.trim().split('/')
  if (parts.length > 2) return undefined
  const address = unmapIpv4(parts[0] ?? '')
  const family = isIP(address)
  if (family === 0) return undefined
  const bits = family === 4 ? 32 : 128
  const prefixText = parts[1]
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined
  const prefix = prefixText === undefined ? bits : Number(prefixText)
  if (prefix > bits) return undefined
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' }
}

/** A set of networks; `has` answers for IPv4, IPv6 and IPv4-mapped IPv6 addresses alike. */
export interface NetworkSet {
  readonly size: number
  has(ip: string): boolean
}

/** Builds a NetworkSet from CIDR strings; throws on an entry that is not one (callers validate first). */
export function createNetworkSet(entries: readonly string[]): NetworkSet {
  const list = new BlockList()
  for (const entry of entries) {
    const cidr = parseCidr(entry)
    if (!cidr) throw new Error('Not an IP network; validate entries with parseCidr first.')
    list.addSubnet(cidr.address, cidr.prefix, cidr.family)
  }
  return {
    size: entries.length,
    has(ip) {
      if (entries.length === 0) return false
      const address = unmapIpv4(ip)
      const family = isIP(address)
      if (family === 0) return false
      return list.check(address, family === 4 ? 'ipv4' : 'ipv6')
    },
  }
}

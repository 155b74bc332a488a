import { isIP } from 'node:net'
import { unmapIpv4 } from './ipNetwork.js'

/**
 * The client address from the standard `Forwarded` header (RFC 7239), believed only as far as the chain of
 * hops is trusted: starting at the socket peer, each trusted hop vouches for the `for=` it appended, walking
 * from the last element back; the first address that is not a trusted proxy is the client. A client that
 * writes its own `Forwarded` header only adds elements in front of the ones the real proxies append, so it
 * can never move the answer past its own address (the same rule Fastify applies to X-Forwarded-For).
 *
 * When a hop is hidden (`for=unknown`, an obfuscated `_identifier`) or malformed, the walk stops at the last
 * address known for certain, which is a trusted proxy's: never a value the client chose.
 *
 * Only one of `Forwarded` and `X-Forwarded-For` should be believed for a deployment — whichever its proxies
 * set — because a proxy passes the other one through from the client untouched.
 *
 * https://www.rfc-editor.org/rfc/rfc7239#section-5.2
 */
export function clientIpFromForwarded(
  peer: string,
  header: string | readonly string[] | undefined,
  isTrustedProxy: (ip: string) => boolean,
): string {
  let client = unmapIpv4(peer)
  if (header === undefined || !isTrustedProxy(client)) return client
  const elements = (typeof header === 'string' ? header : header.join(',')).split(',')
  for (let i = elements.length - 1; i >= 0; i--) {
    const forAddress = forValue(elements[i] ?? '')
    if (forAddress === undefined) return client
    client = forAddress
    if (!isTrustedProxy(client)) return client
  }
  return client
}

/** The address of one element's `for=` parameter, without port or brackets; undefined if absent or not an IP. */
function forValue(element: string): string | undefined {
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue
    let value = pair.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    let address: string
    if (value.startsWith('[')) {
      // IPv6 must be bracketed (and quoted), optionally with a port: "[2001:db8::1]:4711".
      const end = value.indexOf(']')
      if (end === -1 || (end + 1 < value.length && !/^:\d{1,5}$/.test(value.slice(end + 1)))) return undefined
      address = value.slice(1, end)
      if (isIP(address) !== 6) return undefined
    } else {
      const colon = value.indexOf(':')
      if (colon !== -1 && !/^\d{1,5}$/.test(value.slice(colon + 1))) return undefined
      address = colon === -1 ? value : value.slice(0, colon)
      if (isIP(address) !== 4) return undefined
    }
    return unmapIpv4(address)
  }
  return undefined
}

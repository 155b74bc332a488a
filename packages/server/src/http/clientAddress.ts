import type { FastifyRequest, FastifyServerOptions } from 'fastify'
import { clientIpFromForwarded } from '../privacy/network/clientIpFromForwarded.js'
import { createNetworkSet } from '../privacy/network/ipNetwork.js'

export interface ProxySettings {
  trustedProxies: string[]
  forwardedHeader: 'x-forwarded-for' | 'forwarded'
}

/**
 * Fastify's `trustProxy`: request.ip is the socket's address unless the connection comes from a listed proxy
 * network and the proxies set X-Forwarded-For (for `Forwarded`, clientIpOf reads it instead).
 */
export function trustProxyOption(settings: ProxySettings): FastifyServerOptions['trustProxy'] {
  return settings.trustedProxies.length > 0 && settings.forwardedHeader === 'x-forwarded-for' ? settings.trustedProxies : false
}

/** The client address: the socket's, or what the trusted proxies say in the header they set. */
export function clientIpOf(settings: ProxySettings): (request: FastifyRequest) => string {
  if (settings.forwardedHeader === 'x-forwarded-for' || settings.trustedProxies.length === 0) return (request) => request.ip
  const trusted = createNetworkSet(settings.trustedProxies)
  return (request) => clientIpFromForwarded(request.socket.remoteAddress ?? '', request.headers.forwarded, (ip) => trusted.has(ip))
}

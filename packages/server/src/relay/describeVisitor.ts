import type { IncomingHttpHeaders } from 'node:http'
import { userAgentKind } from '../pipeline/stages/dropBots.js'
import { describeUserAgent } from '../pipeline/stages/parseUserAgent.js'
import type { DeviceInfo } from '../pipeline/storedEvent.js'
import type { GeoLookup } from '../privacy/geo/createGeoLookup.js'
import { createNetworkSet, type NetworkSet } from '../privacy/network/ipNetwork.js'
import { isRelayableCity, relayableDevice, type RelayFields } from '../protocol/relayFields.js'
import type { RelayAppSettings } from './createRelaySettings.js'
import type { RelayVisitorKeys } from './createRelayVisitorKeys.js'

export type RelayVisitor = (request: {
  ip: string
  userAgent: string | undefined
  headers: IncomingHttpHeaders
  settings: RelayAppSettings
  receivedAt: number
}) => RelayFields

/**
 * Everything the server would have worked out from the visitor's address and User-Agent, worked out here
 * instead (issue 8), with the same code the server runs: the visitor key (the relay's own salt), the client
 * kind (bots), the device names, the country (only when the app's settings use it), the opt-out headers and the
 * app's IP filters. These fields are all that crosses to the upstream; the address and User-Agent never do.
 */
export function createDescribeVisitor(deps: { keys: RelayVisitorKeys; geo: GeoLookup }): RelayVisitor {
  const devices = new Map<string, DeviceInfo>()
  const networks = new WeakMap<RelayAppSettings['filters'], { allow: NetworkSet; deny: NetworkSet }>()
  const networksOf = (filters: RelayAppSettings['filters']) => {
    let compiled = networks.get(filters)
    if (!compiled) {
      compiled = { allow: createNetworkSet(filters.ipAllow), deny: createNetworkSet(filters.ipDeny) }
      networks.set(filters, compiled)
    }
    return compiled
  }
  const deviceOf = (userAgent: string): DeviceInfo => {
    let device = devices.get(userAgent)
    if (!device) {
      device = relayableDevice(describeUserAgent(userAgent))
      // Bounded, in memory only, as on the server.
      if (devices.size >= 2000) devices.delete(devices.keys().next().value as string)
      devices.set(userAgent, device)
    }
    return device
  }

  return ({ ip, userAgent, headers, settings, receivedAt }) => {
    const client = userAgentKind(userAgent)
    const fields: RelayFields = { ...deps.keys.keysFor(settings.appId, ip, userAgent ?? ''), client, received_at: receivedAt }
    if (client !== 'server' && userAgent) fields.device = deviceOf(userAgent)
    const { geo, filters } = settings
    if (geo !== 'off' || filters.blockCountries.length > 0) {
      const found = deps.geo.lookup(ip, { city: geo === 'city' })
      if (found.country) fields.country = found.country
      if (found.country && found.city && isRelayableCity(found.city)) fields.city = found.city
    }
    if (headers['sec-gpc'] === '1' || headers.dnt === '1') fields.opt_out = true
    if (filters.ipAllow.length > 0 || filters.ipDeny.length > 0) {
      const { allow, deny } = networksOf(filters)
      if (deny.has(ip) || (allow.size > 0 && !allow.has(ip))) fields.ip_blocked = true
    }
    return fields
  }
}

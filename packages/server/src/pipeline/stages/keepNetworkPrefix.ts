import { truncateIp } from '../../privacy/network/ipNetwork.js'
import type { Stage } from '../runPipeline.js'

/**
 * DESIGN.md P5: IP storage is off by default; an app that opts in (`ip=truncated`) keeps only the network,
 * /24 for IPv4 and /48 for IPv6 — never the address.
 */
export const keepNetworkPrefix: Stage = {
  name: 'keepNetworkPrefix',
  run(event, request) {
    // A relayed request has no address here at all: the relay's promise to its site outranks this setting.
    if (request.settings.privacy.ip !== 'truncated' || request.relay) return undefined
    const prefix = truncateIp(request.ip)
    if (prefix) event.network = { ip_prefix: prefix }
    return undefined
  },
}

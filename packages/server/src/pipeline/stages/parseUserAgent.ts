import Bowser from 'bowser'
import type { DeviceInfo } from '../storedEvent.js'
import type { Stage } from '../runPipeline.js'
import { clientKind } from './dropBots.js'

/**
 * Reduces the User-Agent to browser and OS names with major versions and a device class; the UA string
 * itself is never stored. Parsing costs tens of microseconds, so results are memoized in a small
 * in-memory map (never persisted, bounded, oldest entries evicted).
 */
export function createParseUserAgent(options: { cacheSize?: number } = {}): Stage {
  const cacheSize = options.cacheSize ?? 2000
  const cache = new Map<string, DeviceInfo>()
  return {
    name: 'parseUserAgent',
    run(event, request) {
      const { userAgent, relay } = request
      // A relay sent the names it read from the User-Agent it kept (validated at the edge).
      if (relay) {
        event.device = relay.client === 'server' ? SERVER_DEVICE : (relay.device ?? UNKNOWN_DEVICE)
        return undefined
      }
      if (!userAgent) return undefined
      // A server-side sender (`tacit-node/0.1.0 node/20 linux`, curl) is not a browser on a device: bowser
      // would read `tacit-node/0.1.0 node` as a desktop browser.
      if (clientKind(request) === 'server') {
        event.device = SERVER_DEVICE
        return undefined
      }
      let device = cache.get(userAgent)
      if (!device) {
        // Frozen: the cached object is shared by every event from this UA, so no stage may change it in place.
        device = Object.freeze(describeUserAgent(userAgent))
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string)
        cache.set(userAgent, device)
      }
      event.device = device
      return undefined
    },
  }
}

const SERVER_DEVICE: DeviceInfo = Object.freeze({ type: 'unknown' })
const UNKNOWN_DEVICE: DeviceInfo = SERVER_DEVICE

const DEVICE_TYPES = new Set<DeviceInfo['type']>(['desktop', 'mobile', 'tablet', 'tv'])

export function describeUserAgent(userAgent: string): DeviceInfo {
  if (userAgent.trim() === '') return { type: 'unknown' }
  const parsed = Bowser.parse(userAgent)
  const platform = parsed.platform.type as DeviceInfo['type'] | undefined
  const device: DeviceInfo = { type: platform && DEVICE_TYPES.has(platform) ? platform : 'unknown' }
  const browserMajor = majorVersion(parsed.browser.version)
  const osMajor = majorVersion(parsed.os.version)
  if (parsed.browser.name) device.browser = parsed.browser.name
  if (browserMajor) device.browser_version = browserMajor
  if (parsed.os.name) device.os = parsed.os.name
  if (osMajor) device.os_version = osMajor
  return device
}

/** Only the major version: a full build number narrows a visitor down far more than it helps a chart. */
function majorVersion(version: string | undefined): string | undefined {
  // Windows reports "NT 10.0".
  return version?.replace(/^NT /, '').match(/^\d{1,5}/)?.[0]
}

import type { UserAgentKind } from '../pipeline/stages/dropBots.js'
import type { DeviceInfo } from '../pipeline/storedEvent.js'

/**
 * What an authenticated `tacit relay` (issue 8) says about the visitor in place of the address and the
 * User-Agent it keeps to itself: one JSON object in the `X-Tacit-Relay` header of a relayed ingest or report
 * request. The server reads it only from a request that carries a valid relay key; from anyone else the header
 * is ignored (http/relayedRequest.ts). docs/PROTOCOL.md, "Relayed requests".
 */
export interface RelayFields {
  /**
   * HMAC-SHA256(the relay's salt of the day, app ‖ ip ‖ user agent), base64url: the visitor, for sessions and
   * per-visitor rate limits. The relay's salts are random, live in its memory only and rotate daily.
   */
  visitor: string
  /** The same under the relay's salt of the day before, while it holds one: sessions live at midnight go on. */
  previous?: string
  /** What the User-Agent says the client is (dropBots.ts): bots are dropped or marked by the app's setting. */
  client: UserAgentKind
  /** Names and major versions from the User-Agent (parseUserAgent.ts), for browsers. */
  device?: DeviceInfo
  /** ISO 3166-1 alpha-2, from the relay's offline database; sent only when the app's settings need it. */
  country?: string
  city?: string
  /** `Sec-GPC: 1` or `DNT: 1` came with the request. */
  opt_out?: boolean
  /** The address is outside the app's allowed networks or inside its denied ones (the relay checked them). */
  ip_blocked?: boolean
  /** When the relay received the request, ms since the epoch: a request replayed from its spool keeps its time. */
  received_at?: number
}

export const RELAY_HEADER = 'x-tacit-relay'
/** Well above what the fields take (about 400 bytes): a longer header is refused before it is parsed. */
const MAX_HEADER_BYTES = 2048
const VISITOR_KEY = /^[A-Za-z0-9_-]{43}$/
const COUNTRY = /^[A-Z]{2}$/
const CLIENTS: ReadonlySet<string> = new Set<UserAgentKind>(['browser', 'server', 'bot'])
const DEVICE_TYPES: ReadonlySet<string> = new Set<DeviceInfo['type']>(['desktop', 'mobile', 'tablet', 'tv', 'unknown'])
/** Browser and OS names as bowser gives them ("Microsoft Edge", "Chrome OS", "Samsung Internet for Android"). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._()+/-]{0,39}$/
const MAJOR = /^\d{1,5}$/
/** City names in any script, with the punctuation place names use; no digits, no markup. */
const CITY = /^[\p{L}\p{M}][\p{L}\p{M} .'’()-]{0,79}$/u
const FIELDS: ReadonlySet<string> = new Set(['visitor', 'previous', 'client', 'device', 'country', 'city', 'opt_out', 'ip_blocked', 'received_at'])
const DEVICE_FIELDS: ReadonlySet<string> = new Set(['type', 'browser', 'browser_version', 'os', 'os_version'])

export type RelayFieldsResult = { ok: true; fields: RelayFields } | { ok: false; message: string }

/**
 * Reads the header strictly: an unknown field, a wrong type or a value outside its pattern refuses the whole
 * request (400), since a relay that sends something else is misconfigured or not ours, and nothing of it may be
 * stored unchecked. The values are closed shapes (names, versions, codes), so personal data cannot ride in them.
 */
export function parseRelayFields(header: string | undefined): RelayFieldsResult {
  if (header === undefined || header === '') return { ok: false, message: 'A relayed request needs the X-Tacit-Relay header.' }
  if (Buffer.byteLength(header) > MAX_HEADER_BYTES) return { ok: false, message: `The X-Tacit-Relay header is longer than ${MAX_HEADER_BYTES} bytes.` }
  let value: unknown
  try {
    value = JSON.parse(header)
  } catch {
    return { ok: false, message: 'The X-Tacit-Relay header is not JSON.' }
  }
  if (!isObject(value)) return { ok: false, message: 'The X-Tacit-Relay header is not a JSON object.' }
  const unknown = Object.keys(value).find((key) => !FIELDS.has(key))
  if (unknown !== undefined) return invalid(`has an unknown field "${unknown.slice(0, 40)}"`)
  const { visitor, previous, client, device, country, city, opt_out, ip_blocked, received_at } = value
  if (typeof visitor !== 'string' || !VISITOR_KEY.test(visitor)) return invalid('needs "visitor", a 43-character base64url key')
  if (previous !== undefined && (typeof previous !== 'string' || !VISITOR_KEY.test(previous))) return invalid('has a "previous" that is not a 43-character base64url key')
  if (typeof client !== 'string' || !CLIENTS.has(client)) return invalid('needs "client": browser, server or bot')
  if (country !== undefined && (typeof country !== 'string' || !COUNTRY.test(country))) return invalid('has a "country" that is not an ISO 3166-1 alpha-2 code')
  if (city !== undefined && (typeof city !== 'string' || !CITY.test(city) || country === undefined)) return invalid('has a "city" that is not a place name, or no country with it')
  if (opt_out !== undefined && typeof opt_out !== 'boolean') return invalid('has an "opt_out" that is not true or false')
  if (ip_blocked !== undefined && typeof ip_blocked !== 'boolean') return invalid('has an "ip_blocked" that is not true or false')
  if (received_at !== undefined && (typeof received_at !== 'number' || !Number.isSafeInteger(received_at) || received_at < 0)) {
    return invalid('has a "received_at" that is not a time in milliseconds')
  }
  let parsedDevice: DeviceInfo | undefined
  if (device !== undefined) {
    const checked = parseDevice(device)
    if (typeof checked === 'string') return invalid(checked)
    parsedDevice = checked
  }
  const fields: RelayFields = { visitor, client: client as UserAgentKind }
  if (previous !== undefined) fields.previous = previous
  if (parsedDevice) fields.device = parsedDevice
  if (country !== undefined) fields.country = country
  if (city !== undefined) fields.city = city
  if (opt_out) fields.opt_out = true
  if (ip_blocked) fields.ip_blocked = true
  if (received_at !== undefined) fields.received_at = received_at
  return { ok: true, fields }
}

function parseDevice(device: unknown): DeviceInfo | string {
  if (!isObject(device)) return 'has a "device" that is not an object'
  const unknown = Object.keys(device).find((key) => !DEVICE_FIELDS.has(key))
  if (unknown !== undefined) return `has an unknown device field "${unknown.slice(0, 40)}"`
  const { type, browser, browser_version, os, os_version } = device
  if (typeof type !== 'string' || !DEVICE_TYPES.has(type)) return 'has a device "type" that is not desktop, mobile, tablet, tv or unknown'
  const parsed: DeviceInfo = { type: type as DeviceInfo['type'] }
  for (const [key, value, pattern] of [
    ['browser', browser, NAME],
    ['browser_version', browser_version, MAJOR],
    ['os', os, NAME],
    ['os_version', os_version, MAJOR],
  ] as const) {
    if (value === undefined) continue
    if (typeof value !== 'string' || !pattern.test(value)) return `has a device "${key}" that is not ${pattern === MAJOR ? 'a major version' : 'a browser or OS name'}`
    parsed[key] = value
  }
  return parsed
}

/**
 * The device and city as the server will accept them: the relay drops a name outside the patterns (a browser
 * bowser names oddly, a city with digits) rather than have the server refuse the whole request.
 */
export function relayableDevice(device: DeviceInfo): DeviceInfo {
  const kept: DeviceInfo = { type: DEVICE_TYPES.has(device.type) ? device.type : 'unknown' }
  if (device.browser !== undefined && NAME.test(device.browser)) kept.browser = device.browser
  if (device.browser_version !== undefined && MAJOR.test(device.browser_version)) kept.browser_version = device.browser_version
  if (device.os !== undefined && NAME.test(device.os)) kept.os = device.os
  if (device.os_version !== undefined && MAJOR.test(device.os_version)) kept.os_version = device.os_version
  return kept
}

export function isRelayableCity(city: string): boolean {
  return CITY.test(city)
}

/** The header's value, as the relay sends it: ASCII only (a header cannot carry "München"), escaped as JSON allows. */
export function formatRelayFields(fields: RelayFields): string {
  return JSON.stringify(fields).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function invalid(what: string): RelayFieldsResult {
  return { ok: false, message: `The X-Tacit-Relay header ${what}.` }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

import { describe, expect, it } from 'vitest'
import { formatRelayFields, isRelayableCity, parseRelayFields, relayableDevice, type RelayFields } from '../../src/protocol/relayFields.js'

const VISITOR = 'A'.repeat(21) + '_-' + 'z9'.repeat(10)
const PREVIOUS = 'b'.repeat(43)

function valid(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { visitor: VISITOR, client: 'browser', ...extra }
}

/** The message of a refusal, failing the test if the header was accepted. */
function refusal(header: string | undefined): string {
  const parsed = parseRelayFields(header)
  if (parsed.ok) throw new Error(`accepted ${String(header)}`)
  return parsed.message
}

const refused = (value: unknown): string => refusal(JSON.stringify(value))

describe('parseRelayFields and formatRelayFields', () => {
  it('round-trips every field', () => {
    const fields: RelayFields = {
      visitor: VISITOR,
      previous: PREVIOUS,
      client: 'browser',
      device: { type: 'mobile', browser: 'Samsung Internet for Android', browser_version: '23', os: 'Android', os_version: '14' },
      country: 'DE',
      city: 'Frankfurt am Main',
      opt_out: true,
      ip_blocked: true,
      received_at: Date.UTC(2026, 10, 2, 9),
    }
    expect(parseRelayFields(formatRelayFields(fields))).toEqual({ ok: true, fields })
  })

  it.each(['München', 'São Paulo', 'Zürich', 'Kraków', '東京', "L’Aquila", 'Saint-Étienne (Loire)'])('sends the city %s as pure ASCII and reads it back', (city) => {
    const fields: RelayFields = { visitor: VISITOR, client: 'browser', country: 'DE', city }
    const header = formatRelayFields(fields)
    expect(header).toMatch(/^[\x20-\x7e]*$/)
    expect(header).not.toContain(city)
    expect(parseRelayFields(header)).toEqual({ ok: true, fields })
  })

  it('keeps a header ASCII even for characters outside the BMP, and JSON reads them back', () => {
    // Not a valid city, but formatRelayFields must never put non-ASCII bytes in a header whatever it is given.
    const header = formatRelayFields({ visitor: VISITOR, client: 'browser', country: 'DE', city: 'Ort 𝔸\u0000\u007f' })
    expect(header).toMatch(/^[\x20-\x7e]*$/)
    expect((JSON.parse(header) as { city: string }).city).toBe('Ort 𝔸\u0000\u007f')
  })

  it('accepts the minimum: a visitor key and a client kind', () => {
    for (const client of ['browser', 'server', 'bot'] as const) {
      expect(parseRelayFields(JSON.stringify({ visitor: VISITOR, client }))).toEqual({ ok: true, fields: { visitor: VISITOR, client } })
    }
  })

  it('omits false booleans from the result', () => {
    const parsed = parseRelayFields(JSON.stringify(valid({ opt_out: false, ip_blocked: false })))
    expect(parsed).toEqual({ ok: true, fields: { visitor: VISITOR, client: 'browser' } })
    if (!parsed.ok) return
    expect('opt_out' in parsed.fields).toBe(false)
    expect('ip_blocked' in parsed.fields).toBe(false)
  })

  it('accepts received_at 0 and a device with only a type', () => {
    expect(parseRelayFields(JSON.stringify(valid({ received_at: 0, device: { type: 'unknown' } })))).toEqual({
      ok: true,
      fields: { visitor: VISITOR, client: 'browser', received_at: 0, device: { type: 'unknown' } },
    })
  })

  it('accepts a header of exactly 2048 bytes and refuses one byte more', () => {
    const base = JSON.stringify(valid())
    // Insignificant JSON white space pads the header to the limit.
    const exact = base.slice(0, -1) + ' '.repeat(2048 - base.length) + '}'
    expect(Buffer.byteLength(exact)).toBe(2048)
    expect(parseRelayFields(exact).ok).toBe(true)
    const over = base.slice(0, -1) + ' '.repeat(2049 - base.length) + '}'
    expect(refusal(over)).toBe('The X-Tacit-Relay header is longer than 2048 bytes.')
  })

  it('counts the limit in bytes, not characters', () => {
    // 700 three-byte characters: 700 characters, 2100 bytes.
    expect(refusal(JSON.stringify(valid({ city: '€'.repeat(700) })))).toBe('The X-Tacit-Relay header is longer than 2048 bytes.')
  })
})

describe('parseRelayFields refuses', () => {
  it('a missing or empty header', () => {
    expect(refusal(undefined)).toBe('A relayed request needs the X-Tacit-Relay header.')
    expect(refusal('')).toBe('A relayed request needs the X-Tacit-Relay header.')
  })

  it('a header that is not JSON, or not a JSON object', () => {
    expect(refusal('{visitor:1}')).toBe('The X-Tacit-Relay header is not JSON.')
    expect(refusal(`${JSON.stringify(valid())}x`)).toBe('The X-Tacit-Relay header is not JSON.')
    for (const value of ['[]', JSON.stringify([valid()]), 'null', '"visitor"', '42', 'true']) {
      expect(refusal(value)).toBe('The X-Tacit-Relay header is not a JSON object.')
    }
  })

  it('an unknown field, naming it (cut to 40 characters)', () => {
    expect(refused(valid({ ip: '203.0.113.9' }))).toBe('The X-Tacit-Relay header has an unknown field "ip".')
    expect(refused(valid({ user_agent: 'Mozilla/5.0' }))).toBe('The X-Tacit-Relay header has an unknown field "user_agent".')
    expect(refused(valid({ ['x'.repeat(100)]: 1 }))).toBe(`The X-Tacit-Relay header has an unknown field "${'x'.repeat(40)}".`)
  })

  it.each([
    ['missing', undefined],
    ['a number', 42],
    ['42 characters', 'a'.repeat(42)],
    ['44 characters', 'a'.repeat(44)],
    ['standard base64 (+)', 'a'.repeat(42) + '+'],
    ['standard base64 (/)', 'a'.repeat(42) + '/'],
    ['padded', 'a'.repeat(42) + '='],
    ['a non-ASCII letter', 'a'.repeat(42) + 'é'],
    ['white space', 'a'.repeat(42) + ' '],
  ])('a visitor key that is %s', (_what, visitor) => {
    expect(refused({ visitor, client: 'browser' })).toBe('The X-Tacit-Relay header needs "visitor", a 43-character base64url key.')
  })

  it.each([['short', 'a'.repeat(42)], ['not base64url', 'a'.repeat(42) + '.'], ['null', null], ['a number', 1], ['empty', '']])(
    'a previous key that is %s',
    (_what, previous) => {
      expect(refused(valid({ previous }))).toBe('The X-Tacit-Relay header has a "previous" that is not a 43-character base64url key.')
    },
  )

  it.each([['missing', undefined], ['unknown', 'crawler'], ['capitalised', 'Browser'], ['not a string', true]])('a client that is %s', (_what, client) => {
    expect(refused({ visitor: VISITOR, client })).toBe('The X-Tacit-Relay header needs "client": browser, server or bot.')
  })

  it.each([['lower case', 'de'], ['mixed case', 'De'], ['three letters', 'DEU'], ['one letter', 'D'], ['digits', '49'], ['empty', ''], ['a number', 49], ['null', null]])(
    'a country in %s',
    (_what, country) => {
      expect(refused(valid({ country }))).toBe('The X-Tacit-Relay header has a "country" that is not an ISO 3166-1 alpha-2 code.')
    },
  )

  it.each([
    ['without a country', { city: 'Berlin' }],
    ['with digits', { country: 'DE', city: 'Berlin 10115' }],
    ['with markup', { country: 'DE', city: '<script>alert(1)</script>' }],
    ['with an angle bracket', { country: 'DE', city: 'Berlin<' }],
    ['starting with a space', { country: 'DE', city: ' Berlin' }],
    ['empty', { country: 'DE', city: '' }],
    ['longer than 80 characters', { country: 'DE', city: 'a'.repeat(81) }],
    ['with an e-mail address', { country: 'DE', city: 'ann@example.com' }],
    ['not a string', { country: 'DE', city: 7 }],
  ])('a city %s', (_what, extra) => {
    expect(refused(valid(extra))).toBe('The X-Tacit-Relay header has a "city" that is not a place name, or no country with it.')
  })

  it.each([['a string', 'true'], ['a number', 1], ['null', null]])('opt_out and ip_blocked as %s', (_what, value) => {
    expect(refused(valid({ opt_out: value }))).toBe('The X-Tacit-Relay header has an "opt_out" that is not true or false.')
    expect(refused(valid({ ip_blocked: value }))).toBe('The X-Tacit-Relay header has an "ip_blocked" that is not true or false.')
  })

  it.each([['negative', -1], ['a float', 1_700_000_000_000.5], ['a string', '1700000000000'], ['beyond a safe integer', 2 ** 60], ['null', null]])(
    'a received_at that is %s',
    (_what, receivedAt) => {
      expect(refused(valid({ received_at: receivedAt }))).toBe('The X-Tacit-Relay header has a "received_at" that is not a time in milliseconds.')
    },
  )

  it.each([['a string', 'desktop'], ['an array', [{ type: 'desktop' }]], ['null', null]])('a device that is %s', (_what, device) => {
    expect(refused(valid({ device }))).toBe('The X-Tacit-Relay header has a "device" that is not an object.')
  })

  it('a device with an unknown field', () => {
    expect(refused(valid({ device: { type: 'desktop', ua: 'Mozilla/5.0' } }))).toBe('The X-Tacit-Relay header has an unknown device field "ua".')
  })

  it.each([['missing', undefined], ['unknown', 'phone'], ['capitalised', 'Desktop'], ['a number', 1]])('a device type that is %s', (_what, type) => {
    expect(refused(valid({ device: { type } }))).toBe('The X-Tacit-Relay header has a device "type" that is not desktop, mobile, tablet, tv or unknown.')
  })

  it.each([
    ['browser', '<script>'],
    ['browser', 'a'.repeat(41)],
    ['browser', ''],
    ['browser', ' Chrome'],
    ['os', 'Windows"; DROP'],
    ['os', 'Linux\n'],
    ['browser', 12],
  ])('a device %s of %j', (key, value) => {
    expect(refused(valid({ device: { type: 'desktop', [key]: value } }))).toBe(`The X-Tacit-Relay header has a device "${key}" that is not a browser or OS name.`)
  })

  it.each([
    ['browser_version', '12.3'],
    ['browser_version', '123456'],
    ['browser_version', ''],
    ['os_version', 'v14'],
    ['os_version', 14],
  ])('a device %s of %j', (key, value) => {
    expect(refused(valid({ device: { type: 'desktop', [key]: value } }))).toBe(`The X-Tacit-Relay header has a device "${key}" that is not a major version.`)
  })

  it('a name of 40 characters is still a name', () => {
    const parsed = parseRelayFields(JSON.stringify(valid({ device: { type: 'desktop', browser: 'a'.repeat(40) } })))
    expect(parsed.ok).toBe(true)
  })
})

describe('parseRelayFields against prototype tricks', () => {
  it.each([
    ['__proto__', '{"visitor":"V","client":"browser","__proto__":{"polluted":true}}'],
    ['constructor', '{"visitor":"V","client":"browser","constructor":{"prototype":{"polluted":true}}}'],
    ['prototype', '{"visitor":"V","client":"browser","prototype":{"polluted":true}}'],
  ])('refuses %s as an unknown field and pollutes nothing', (key, template) => {
    const header = template.replace('"V"', JSON.stringify(VISITOR))
    expect(refusal(header)).toBe(`The X-Tacit-Relay header has an unknown field "${key}".`)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  it('refuses __proto__ and constructor inside the device too', () => {
    for (const key of ['__proto__', 'constructor']) {
      const header = `{"visitor":${JSON.stringify(VISITOR)},"client":"browser","device":{"type":"desktop","${key}":{"polluted":true}}}`
      expect(refusal(header)).toBe(`The X-Tacit-Relay header has an unknown device field "${key}".`)
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('does not take fields from a __proto__ (an inherited visitor is not a visitor)', () => {
    // Were the check on inherited properties, this would pass with the visitor and client it smuggles in.
    const header = `{"__proto__":{"visitor":${JSON.stringify(VISITOR)},"client":"browser"}}`
    expect(parseRelayFields(header).ok).toBe(false)
  })

  it('gives a result whose fields are own data only', () => {
    const parsed = parseRelayFields(JSON.stringify(valid({ device: { type: 'desktop', browser: 'Chrome' } })))
    if (!parsed.ok) throw new Error(parsed.message)
    expect(Object.getPrototypeOf(parsed.fields)).toBe(Object.prototype)
    expect(Object.keys(parsed.fields).sort()).toEqual(['client', 'device', 'visitor'])
    expect(Object.keys(parsed.fields.device!).sort()).toEqual(['browser', 'type'])
  })
})

describe('relayableDevice and isRelayableCity', () => {
  it('keeps names and versions the server accepts', () => {
    const device = { type: 'desktop', browser: 'Microsoft Edge', browser_version: '120', os: 'Windows', os_version: '10' } as const
    expect(relayableDevice(device)).toEqual(device)
    expect(relayableDevice({ type: 'tv', os: 'Chrome OS' })).toEqual({ type: 'tv', os: 'Chrome OS' })
  })

  it('drops what the server would refuse, keeping the rest', () => {
    expect(relayableDevice({ type: 'mobile', browser: '<b>Evil</b>', browser_version: '12.3', os: 'a'.repeat(41), os_version: '17' })).toEqual({ type: 'mobile', os_version: '17' })
  })

  it('makes an unknown device type "unknown"', () => {
    expect(relayableDevice({ type: 'phone' as never, browser: 'Chrome' })).toEqual({ type: 'unknown', browser: 'Chrome' })
  })

  it('gives a device that parseRelayFields accepts, whatever it was given', () => {
    const device = relayableDevice({ type: 'watch' as never, browser: 'Ünïcode', browser_version: '1.2', os: 'OS/2 Warp', os_version: '4' })
    const parsed = parseRelayFields(formatRelayFields({ visitor: VISITOR, client: 'browser', device }))
    expect(parsed).toEqual({ ok: true, fields: { visitor: VISITOR, client: 'browser', device: { type: 'unknown', os: 'OS/2 Warp', os_version: '4' } } })
  })

  it('says which cities the server accepts', () => {
    for (const city of ['München', 'São Paulo', 'Saint-Étienne', "N'Djamena", 'Tōkyō', '東京', 'Washington (D.C.)']) expect(isRelayableCity(city)).toBe(true)
    for (const city of ['Berlin 10115', '<b>Bonn</b>', '', ' Bonn', 'a'.repeat(81), 'Köln;', 'x@y']) expect(isRelayableCity(city)).toBe(false)
  })

  it('agrees with parseRelayFields on cities', () => {
    for (const city of ['München', 'Berlin 1']) {
      const parsed = parseRelayFields(formatRelayFields({ visitor: VISITOR, client: 'browser', country: 'DE', city }))
      expect(parsed.ok).toBe(isRelayableCity(city))
    }
  })
})

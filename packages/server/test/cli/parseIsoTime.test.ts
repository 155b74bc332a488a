import { describe, expect, it } from 'vitest'
import { CliError } from '../../src/cli/cliCommand.js'
import { parseIsoTime } from '../../src/cli/commands/exportCommand.js'

describe('parseIsoTime (export --since/--until)', () => {
  it('reads dates and times as UTC unless an offset is given', () => {
    expect(parseIsoTime('--since', '2024-05-31')).toBe(Date.UTC(2024, 4, 31))
    expect(parseIsoTime('--since', '2024-05-31T14:30')).toBe(Date.UTC(2024, 4, 31, 14, 30))
    expect(parseIsoTime('--since', '2024-05-31 14:30:15.250Z')).toBe(Date.UTC(2024, 4, 31, 14, 30, 15, 250))
    expect(parseIsoTime('--since', '2024-05-31T14:30:00+02:00')).toBe(Date.UTC(2024, 4, 31, 12, 30))
    expect(parseIsoTime('--since', '2024-05-31T14:30:00-0130')).toBe(Date.UTC(2024, 4, 31, 16, 0))
    expect(parseIsoTime('--since', '2024-02-29')).toBe(Date.UTC(2024, 1, 29))
  })

  it('refuses what Date.parse would guess at', () => {
    for (const value of ['yesterday', 'March 7', '2023-02-29', '2024-13-01', '2024-05-31T24:00', '2024-05-31T12:60', '1717171717', '2024-5-1', '2024-05-31T12:00+25:00', '']) {
      expect(() => parseIsoTime('--until', value), value).toThrow(CliError)
    }
    expect(() => parseIsoTime('--until', 'soon')).toThrow('--until "soon" is not an ISO 8601 date or time: write it like 2024-05-31 or 2024-05-31T14:30:00Z.')
  })
})

import { describe, expect, it } from 'vitest'
import { DEFAULT_SCRUB } from '../../src/apps/appSettings.js'
import { createScrubber } from '../../src/privacy/scrub/createScrubber.js'

/**
 * The rules' pre-checks skip a regex only when it could not change the text. These pin the outputs at the
 * edges of each pre-check (taken from the scrubber before the pre-checks were tightened).
 */
describe('scrubber pre-checks', () => {
  const scrubber = createScrubber({ ...DEFAULT_SCRUB })

  it.each([
    ['ref github_pat_A1b2A1b2A1b2A1b2A1b2A1b2 end', 'ref [token] end'],
    ['sk_live_aaaaaaaaaaaaaaaaaaaa', '[token]'],
    ['from 1:2:3:4:5:6:1.2.3.4 ok', 'from [ip] ok'],
    ['from 2001:db8:0:0:0:0:0:1: timeout', 'from 2001:db8:0:0:0:0:0:1: timeout'],
    ['call 01234 567890 now', 'call [phone] now'],
    ['{"a@b.io": "x", "[email]": "y"}', '{"[email]": "[secret]", "[email]": "[secret]"}'],
    ['TypeError: x is not a function', 'TypeError: x is not a function'],
    ['shop-web', 'shop-web'],
  ])('%j', (input, expected) => {
    expect(scrubber.text(input)).toBe(expected)
  })

  it('leaves a clean sentence unchanged', () => {
    const clean = 'Add to cart and checkout'
    expect(scrubber.text(clean)).toBe(clean)
  })
})

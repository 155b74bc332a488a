import { describe, expect, it } from 'vitest'
import { DEFAULT_SCRUB } from '../../src/apps/appSettings.js'
import { createScrubber } from '../../src/privacy/scrub/createScrubber.js'

describe('createScrubber', () => {
  it('compiles once per settings object', () => {
    const options = { ...DEFAULT_SCRUB }
    expect(createScrubber(options)).toBe(createScrubber(options))
    expect(createScrubber({ ...DEFAULT_SCRUB })).not.toBe(createScrubber(options))
  })

  it('replaces custom patterns with their placeholder, before the built-in rules', () => {
    const scrubber = createScrubber({ ...DEFAULT_SCRUB, patterns: [{ name: 'order', regex: 'ORD-\\d{4}-\\d{6}' }] })
    expect(scrubber.text('order ORD-2024-000123 by li@example.io')).toBe('order [order] by [email]')
    expect(scrubber.url('https://x.com/o/ORD-2024-000123')).toBe('https://x.com/o/[order]')
  })

  it('never crashes on an invalid or empty-matching custom pattern', () => {
    const scrubber = createScrubber({
      ...DEFAULT_SCRUB,
      patterns: [
        { name: 'broken', regex: '([a-z' },
        { name: 'empty', regex: 'z*' },
      ],
    })
    expect(scrubber.text('plain text zzz here')).toBe('plain text [empty] here')
    expect(scrubber.text('ok')).toBe('ok')
  })

  it('treats extra sensitive keys like the built-in ones', () => {
    const scrubber = createScrubber({ ...DEFAULT_SCRUB, sensitiveKeys: ['Customer_Ref'] })
    expect(scrubber.value({ customer_ref: 'A-1', other: 'B' })).toEqual({ customer_ref: '[secret]', other: 'B' })
    expect(scrubber.text('customer_ref=A-1234')).toBe('customer_ref=[secret]')
    expect(scrubber.url('/x?CUSTOMER_REF=9')).toBe('/x?CUSTOMER_REF=[secret]')
  })

  it('scrubs free-form objects: keys, values, nesting, URLs', () => {
    const scrubber = createScrubber({ ...DEFAULT_SCRUB })
    expect(
      scrubber.value({
        className: 'btn',
        plan: 'pro',
        'li@example.io': 1,
        session: { id: 'abc', started: 1700000000000, active: true, none: null },
        userPhone: 4155550132,
        notes: ['call +1 415 555 0132', 42, false],
        blockedURL: 'https://x.com/cb?token=abc&page=2',
        count: 3,
      }),
    ).toEqual({
      className: 'btn',
      plan: 'pro',
      '[email]': 1,
      session: { id: '[secret]', started: '[secret]', active: true, none: null },
      userPhone: '[secret]',
      notes: ['call [phone]', 42, false],
      blockedURL: 'https://x.com/cb?token=[secret]&page=2',
      count: 3,
    })
  })
})

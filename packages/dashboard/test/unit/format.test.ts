import { describe, expect, it } from 'vitest'
import { formatMs, formatPercent, formatVital, safeHref } from '../../app/format.js'

describe('safeHref: which event-data strings may become links', () => {
  it('links absolute http and https URLs only, as parsed', () => {
    expect(safeHref('https://shop.example/cart?x=1')).toBe('https://shop.example/cart?x=1')
    expect(safeHref('http://shop.example')).toBe('http://shop.example/')
    expect(safeHref('HTTPS://SHOP.EXAMPLE/a')).toBe('https://shop.example/a')
  })

  it.each([
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    ' javascript:alert(1)',
    'java\tscript:alert(1)',
    'java\nscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    '//evil.example/x',
    '/relative/path',
    '<img src=x onerror=alert(1)>',
    '',
  ])('keeps %j as text', (value) => {
    expect(safeHref(value)).toBeUndefined()
  })

  it('keeps non-strings and oversized strings as text', () => {
    expect(safeHref(undefined)).toBeUndefined()
    expect(safeHref(42)).toBeUndefined()
    expect(safeHref({ href: 'https://x.example' })).toBeUndefined()
    expect(safeHref(`https://x.example/${'a'.repeat(5000)}`)).toBeUndefined()
  })
})

describe('formatting', () => {
  it('formats durations, shares and Web Vitals in their units', () => {
    expect(formatMs(812.4)).toBe('812 ms')
    expect(formatMs(2500)).toBe('2.50 s')
    expect(formatMs(null)).toBe('–')
    expect(formatPercent(0.991)).toBe('99.1 %')
    expect(formatPercent(null)).toBe('–')
    expect(formatVital('CLS', 0.0512)).toBe('0.051')
    expect(formatVital('LCP', 1240)).toBe('1.24 s')
    expect(formatVital('INP', Number.NaN)).toBe('–')
  })
})

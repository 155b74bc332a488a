import { describe, expect, it } from 'vitest'
import { decodeReports, MAX_REPORTS_PER_REQUEST, type DecodedReports, type RejectedReports } from '../../src/protocol/decodeReports.js'
import { CAPS } from '../../src/protocol/limits.js'

const NOW = 1_780_000_000_000
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36'
const PAGE = 'https://shop.example/cart'

function decoded(result: DecodedReports | RejectedReports): DecodedReports {
  if (!result.ok) throw new Error(`expected decoded reports, got ${result.status} ${result.code}`)
  return result
}

function rejected(result: DecodedReports | RejectedReports): RejectedReports {
  if (result.ok) throw new Error(`expected a rejection, got ${result.events.length} events`)
  return result
}

const decode = (value: unknown) => decoded(decodeReports(JSON.stringify(value), NOW))
const report = (type: string, body: unknown, extra: Record<string, unknown> = {}) => ({ type, age: 1000, url: PAGE, user_agent: USER_AGENT, body, ...extra })
/** The body of the one report a payload decodes to. */
const bodyOf = (value: unknown) => {
  const { events, problems } = decode(value)
  expect(problems).toEqual([])
  expect(events).toHaveLength(1)
  return events[0]!.report.body
}

describe('decodeReports: Reporting API reports', () => {
  it('makes a report event per report, with the page as view.url and ts from age', () => {
    const { events, problems, invalid } = decode([report('deprecation', { id: 'UnloadHandler', message: 'Unload handlers are deprecated.' }, { age: 2500 })])
    expect([problems, invalid]).toEqual([[], 0])
    expect(events).toEqual([
      { type: 'report', view: { id: '', url: PAGE }, ts: NOW - 2500, report: { type: 'deprecation', body: { id: 'UnloadHandler', message: 'Unload handlers are deprecated.' } } },
    ])
  })

  it('never keeps user_agent, and leaves ts to the receive time when age is missing or not a sane number', () => {
    const { events } = decode([
      report('intervention', { id: 'a' }, { age: undefined }),
      report('intervention', { id: 'b' }, { age: -5 }),
      report('intervention', { id: 'c' }, { age: '100' }),
      report('intervention', { id: 'd' }, { age: 1e308 * 10 }),
    ])
    expect(events.map((event) => event.ts)).toEqual([undefined, undefined, undefined, undefined])
    expect(JSON.stringify(events)).not.toContain('Mozilla')
  })

  it('keeps only the CSP violation fields that help debugging: no sample, referrer or policy text', () => {
    const body = bodyOf([
      report('csp-violation', {
        documentURL: PAGE,
        referrer: 'https://search.example/?q=greta',
        blockedURL: 'https://cdn.evil.example/x.js',
        effectiveDirective: 'script-src-elem',
        originalPolicy: "default-src 'self'; report-to tacit",
        sourceFile: 'https://shop.example/app.js',
        sample: 'console.log("greta@example.org")',
        disposition: 'enforce',
        statusCode: 200,
        lineNumber: 12,
        columnNumber: 4,
      }),
    ])
    expect(body).toEqual({
      effectiveDirective: 'script-src-elem',
      blockedURL: 'https://cdn.evil.example/x.js',
      documentURL: PAGE,
      disposition: 'enforce',
      sourceFile: 'https://shop.example/app.js',
      lineNumber: 12,
      columnNumber: 4,
      statusCode: 200,
    })
  })

  it('keeps the listed fields of deprecation, intervention, crash, COEP, COOP and policy reports', () => {
    const where = { sourceFile: 'https://shop.example/app.js', lineNumber: 3, columnNumber: 9 }
    expect(bodyOf([report('deprecation', { id: 'X', message: 'm', anticipatedRemoval: '2026-01-01T00:00:00.000Z', ...where, extra: 1 })])).toEqual({
      id: 'X',
      message: 'm',
      ...where,
      anticipatedRemoval: '2026-01-01T00:00:00.000Z',
    })
    expect(bodyOf([report('intervention', { id: 'HeavyAd', message: 'm', ...where, anticipatedRemoval: 'x' })])).toEqual({ id: 'HeavyAd', message: 'm', ...where })
    expect(bodyOf([report('crash', { reason: 'oom', stack: 'at f (app.js:1:2)', is_top_level: true, visibility_state: 'visible', crash_report_api: { cart: 'greta' } })])).toEqual({
      reason: 'oom',
      stack: 'at f (app.js:1:2)',
      is_top_level: true,
      visibility_state: 'visible',
    })
    expect(bodyOf([report('coep', { type: 'corp', blockedURL: 'https://cdn.example/a.png', destination: 'image', disposition: 'enforce' })])).toEqual({
      type: 'corp',
      blockedURL: 'https://cdn.example/a.png',
      disposition: 'enforce',
      destination: 'image',
    })
    expect(
      bodyOf([
        report('coop', {
          type: 'access-to-coop-page-from-opener',
          disposition: 'reporting',
          effectivePolicy: 'same-origin',
          property: 'postMessage',
          referrer: 'https://other.example/',
          openerURL: 'https://other.example/account',
          ...where,
        }),
      ]),
    ).toEqual({ type: 'access-to-coop-page-from-opener', disposition: 'reporting', effectivePolicy: 'same-origin', property: 'postMessage', ...where })
    expect(bodyOf([report('permissions-policy-violation', { featureId: 'geolocation', disposition: 'enforce', ...where, allowAttribute: 'camera', srcAttribute: 'https://maps.example/' })])).toEqual({
      featureId: 'geolocation',
      disposition: 'enforce',
      ...where,
      allowAttribute: 'camera',
      srcAttribute: 'https://maps.example/',
    })
    expect(bodyOf([report('document-policy-violation', { featureId: 'oversized-images', disposition: 'report', message: 'm', ...where })])).toEqual({
      featureId: 'oversized-images',
      disposition: 'report',
      message: 'm',
      ...where,
    })
  })

  it('keeps the network error fields, never the server address or the referrer', () => {
    const body = bodyOf([
      report('network-error', {
        type: 'tcp.timed_out',
        phase: 'connection',
        status_code: 0,
        elapsed_time: 30012,
        method: 'GET',
        protocol: 'http/1.1',
        sampling_fraction: 1,
        server_ip: '203.0.113.9',
        referrer: 'https://shop.example/account?email=greta@example.org',
      }, { url: 'https://api.shop.example/v1/cart' }),
    ])
    expect(body).toEqual({ type: 'tcp.timed_out', phase: 'connection', status_code: 0, elapsed_time: 30012, method: 'GET', protocol: 'http/1.1', sampling_fraction: 1 })
  })

  it('keeps a report of an unknown type with the generic fields only', () => {
    const { events } = decode([report('integrity-violation', { id: 'i', type: 't', message: 'm', documentURL: PAGE, blockedURL: 'https://x.example/', reportOnly: true, lineNumber: 1 })])
    expect(events[0]!.report).toEqual({ type: 'integrity-violation', body: { id: 'i', type: 't', message: 'm', lineNumber: 1 } })
  })

  it('drops fields of the wrong kind: nested objects, arrays, negative or fractional counts, empty strings', () => {
    const body = bodyOf([
      report('csp-violation', {
        effectiveDirective: { deeper: { deeper: 'bottom' } },
        blockedURL: ['https://a.example/'],
        documentURL: '',
        disposition: { toString: 'enforce' },
        lineNumber: -1,
        columnNumber: 1.5,
        statusCode: '200',
        sourceFile: null,
      }),
    ])
    expect(body).toEqual({})
  })

  it('reads a body nested thousands of levels deep without recursing into it', () => {
    // Built as text: JSON.stringify itself would overflow the stack on this value.
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)
    const text = `[{"type":"csp-violation","url":"${PAGE}","body":{"effectiveDirective":"img-src","blockedURL":${deep},"sample":${deep}}}]`
    const { events } = decoded(decodeReports(text, NOW))
    expect(events[0]!.report.body).toEqual({ effectiveDirective: 'img-src' })
  })

  it('caps long strings and page URLs', () => {
    const long = 'x'.repeat(100_000)
    const { events } = decode([report('deprecation', { id: long, message: long, sourceFile: `https://a.example/${long}` }, { url: `https://a.example/${long}` })])
    const body = events[0]!.report.body as Record<string, string>
    expect(body.id!.length).toBe(CAPS.name)
    expect(body.message!.length).toBe(CAPS.freeFormString)
    expect(body.sourceFile!.length).toBe(CAPS.url)
    expect(events[0]!.view!.url.length).toBe(CAPS.url)
    expect(body.id!.endsWith('…')).toBe(true)
  })

  it('leaves view out when the report has no url', () => {
    const { events } = decode([{ type: 'crash', body: { reason: 'unresponsive' } }, { type: 'crash', url: 42, body: 'not an object' }])
    expect(events).toEqual([
      { type: 'report', report: { type: 'crash', body: { reason: 'unresponsive' } } },
      { type: 'report', report: { type: 'crash', body: {} } },
    ])
  })

  it('ignores prototype keys and inherited fields', () => {
    const { events } = decoded(decodeReports('[{"type":"deprecation","url":"https://a.example/","__proto__":{"age":5},"body":{"__proto__":{"id":"inherited"},"message":"m"}}]', NOW))
    expect(events[0]!.report.body).toEqual({ message: 'm' })
    expect(events[0]!.ts).toBeUndefined()
    expect(({} as Record<string, unknown>).id).toBeUndefined()
  })
})

describe('decodeReports: legacy CSP reports', () => {
  const legacy = {
    'csp-report': {
      'document-uri': 'https://shop.example/checkout?email=greta@example.org',
      referrer: 'https://search.example/?q=greta',
      'violated-directive': 'script-src-elem',
      'effective-directive': 'script-src-elem',
      'original-policy': "default-src 'self'; report-uri /api/v1/report",
      disposition: 'report',
      'blocked-uri': 'inline',
      'line-number': 42,
      'column-number': 7,
      'source-file': 'https://shop.example/checkout',
      'status-code': 200,
      'script-sample': 'alert("greta@example.org")',
    },
  }

  it('renames the fields to the Reporting API names, keeps only the listed ones, and uses document-uri as the page', () => {
    const { events } = decode(legacy)
    expect(events).toEqual([
      {
        type: 'report',
        view: { id: '', url: 'https://shop.example/checkout?email=greta@example.org' },
        report: {
          type: 'csp-violation',
          body: {
            effectiveDirective: 'script-src-elem',
            blockedURL: 'inline',
            documentURL: 'https://shop.example/checkout?email=greta@example.org',
            disposition: 'report',
            sourceFile: 'https://shop.example/checkout',
            lineNumber: 42,
            columnNumber: 7,
            statusCode: 200,
          },
        },
      },
    ])
    expect(JSON.stringify(events)).not.toMatch(/search\.example|original|alert/)
  })

  it('takes the directive from violated-directive when effective-directive is missing (CSP level 2)', () => {
    const { events } = decode({ 'csp-report': { 'document-uri': PAGE, 'violated-directive': "img-src 'self' data:", 'blocked-uri': 'https://x.example/a.png' } })
    expect(events[0]!.report.body).toEqual({ effectiveDirective: 'img-src', blockedURL: 'https://x.example/a.png', documentURL: PAGE })
  })

  it('accepts legacy reports inside an array, next to Reporting API reports', () => {
    const { events } = decode([legacy, report('deprecation', { id: 'X' })])
    expect(events.map((event) => event.report.type)).toEqual(['csp-violation', 'deprecation'])
  })

  it('names a csp-report that is not an object', () => {
    const result = decode({ 'csp-report': 'greta@example.org' })
    expect(result.events).toEqual([])
    expect(result.problems.map((p) => [p.index, p.path, p.code])).toEqual([[1, '/csp-report', 'wrong_type']])
  })
})

describe('decodeReports: hostile and broken bodies', () => {
  const secret = 'greta.lindqvist@example.org'

  it('refuses an empty body and malformed JSON without quoting it', () => {
    expect(rejected(decodeReports('  \n', NOW))).toMatchObject({ status: 400, code: 'empty_body' })
    const bad = rejected(decodeReports(`[{"type":"csp-violation","body":{"documentURL":"${secret}"`, NOW))
    expect(bad).toMatchObject({ status: 400, code: 'malformed_json' })
    expect(bad.message).not.toContain(secret)
  })

  it(`refuses more than ${MAX_REPORTS_PER_REQUEST} reports with 413`, () => {
    const many = Array.from({ length: MAX_REPORTS_PER_REQUEST + 1 }, () => report('deprecation', { id: 'X' }))
    expect(rejected(decodeReports(JSON.stringify(many), NOW))).toMatchObject({ status: 413, code: 'too_many_reports' })
    expect(decode(many.slice(1)).events).toHaveLength(MAX_REPORTS_PER_REQUEST)
  })

  it('counts items that are not reports as invalid, naming them without quoting them', () => {
    const result = decode([secret, 42, null, [secret], { body: {} }, { type: 7 }, { type: secret }, { type: 'Csp-Violation' }, report('deprecation', { id: 'kept' })])
    expect(result.events).toHaveLength(1)
    expect(result.invalid).toBe(8)
    expect(result.problems.map((p) => [p.index, p.path, p.code])).toEqual([
      [1, '', 'not_an_object'],
      [2, '', 'not_an_object'],
      [3, '', 'not_an_object'],
      [4, '', 'not_an_object'],
      [5, '/type', 'missing_type'],
      [6, '/type', 'wrong_type'],
      [7, '/type', 'not_allowed'],
      [8, '/type', 'not_allowed'],
    ])
    expect(JSON.stringify(result.problems)).not.toContain('greta')
    expect(result.problems[0]!.message).toBe('report 1: the report must be a JSON object (not_an_object)')
  })

  it('reads a single report object or a bare scalar as one item', () => {
    expect(decode(report('deprecation', { id: 'X' })).events).toHaveLength(1)
    expect(decode('a string').problems.map((p) => p.code)).toEqual(['not_an_object'])
    expect(decode([]).events).toEqual([])
  })
})

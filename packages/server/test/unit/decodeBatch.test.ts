import { describe, expect, it } from 'vitest'
import { decodeBatch, PROBLEM_CODES, type DecodedBatch, type Problem, type ProblemCode, type RejectedBatch } from '../../src/protocol/decodeBatch.js'
import { CAPS, LIMITS } from '../../src/protocol/limits.js'
import { WIRE_TYPES } from '../../src/protocol/wireSchema.js'
import { FULL_EVENTS, MINIMAL_EVENTS } from './wireSamples.js'

function decoded(result: DecodedBatch | RejectedBatch): DecodedBatch {
  if (!result.ok) throw new Error(`expected a decoded batch, got ${result.status} ${result.code}`)
  return result
}

function rejected(result: DecodedBatch | RejectedBatch): RejectedBatch {
  if (result.ok) throw new Error(`expected a rejection, got ${result.events.length} events`)
  return result
}

const ndjson = (...events: unknown[]) => events.map((event) => JSON.stringify(event)).join('\n')
const custom = (name = 'signup', extra: Record<string, unknown> = {}) => ({ type: 'custom', custom: { name }, ...extra })

/** Free-form value nested `levels` objects deep, counting the outermost one. */
function nestedObject(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 }
  for (let i = 1; i < levels; i++) value = { a: value }
  return value
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

describe('decodeBatch: body forms', () => {
  it('decodes NDJSON, one event per line', () => {
    const batch = decoded(decodeBatch(ndjson(MINIMAL_EVENTS.custom, MINIMAL_EVENTS.error)))
    expect(batch.events).toEqual([MINIMAL_EVENTS.custom, MINIMAL_EVENTS.error])
    expect(batch).toMatchObject({ problems: [], invalid: 0, tooLarge: 0 })
  })

  it('decodes a JSON array of events', () => {
    const batch = decoded(decodeBatch(JSON.stringify([MINIMAL_EVENTS.custom, MINIMAL_EVENTS.vital])))
    expect(batch.events).toEqual([MINIMAL_EVENTS.custom, MINIMAL_EVENTS.vital])
    expect(batch.problems).toEqual([])
  })

  it('decodes a JSON array spread over several lines, with leading whitespace', () => {
    const batch = decoded(decodeBatch(`\n  ${JSON.stringify([MINIMAL_EVENTS.custom, MINIMAL_EVENTS.vital], null, 2)}\n`))
    expect(batch.events).toHaveLength(2)
  })

  it('decodes a single pretty-printed object as one event', () => {
    const batch = decoded(decodeBatch(JSON.stringify(FULL_EVENTS.error, null, 2)))
    expect(batch.events).toEqual([FULL_EVENTS.error])
    expect(batch.problems).toEqual([])
  })

  it('decodes a pretty-printed object spanning more lines than a batch may hold events', () => {
    const context = Object.fromEntries(Array.from({ length: LIMITS.eventsPerRequest + 100 }, (_, i) => [`k${i}`, i]))
    const text = JSON.stringify(custom('big', { context }), null, 2)
    expect(text.split('\n').length).toBeGreaterThan(LIMITS.eventsPerRequest)
    const batch = decoded(decodeBatch(text))
    expect(batch.events).toEqual([custom('big', { context })])
  })

  it('skips blank lines and accepts CRLF line ends; line numbers count every line', () => {
    const text = `\r\n${JSON.stringify(custom('a'))}\r\n\r\n   \r\n${JSON.stringify(custom('b'))}\r\n{"type":\r\n\r\n`
    const batch = decoded(decodeBatch(text))
    expect(batch.events).toEqual([custom('a'), custom('b')])
    expect(batch.problems).toEqual([expect.objectContaining({ line: 6, path: '', code: 'malformed_json' })])
  })

  it('keeps the valid lines of a batch and names line, path and code of each problem', () => {
    const text = [
      JSON.stringify(custom('first')),
      '{"type":"custom","custom":{"name":5}}',
      JSON.stringify(MINIMAL_EVENTS.view),
      '{"type":"action","action":{"type":"hover","name":"x"}}',
      JSON.stringify(custom('last')),
    ].join('\n')
    const batch = decoded(decodeBatch(text))
    expect(batch.events).toEqual([custom('first'), MINIMAL_EVENTS.view, custom('last')])
    expect(batch.problems).toEqual([
      { line: 2, path: '/custom/name', code: 'wrong_type', message: expect.stringContaining('line 2: /custom/name') },
      { line: 4, path: '/action/type', code: 'not_allowed', message: expect.stringContaining('line 4: /action/type') },
    ])
    expect(batch.invalid).toBe(2)
    expect(batch.tooLarge).toBe(0)
  })

  it('names the 1-based array index of a problem in an array body', () => {
    const batch = decoded(decodeBatch(JSON.stringify([custom(), { type: 'custom' }, 7])))
    expect(batch.events).toHaveLength(1)
    expect(batch.problems).toEqual([
      expect.objectContaining({ index: 2, path: '/custom', code: 'missing_field' }),
      expect.objectContaining({ index: 3, path: '', code: 'not_an_object' }),
    ])
    expect(batch.problems[0]).not.toHaveProperty('line')
    expect(batch.problems[0]?.message).toMatch(/^event 2: /)
  })

  it('rejects an empty or whitespace-only body with empty_body', () => {
    for (const text of ['', ' ', '\n\n', ' \r\n\t \r\n']) {
      expect(rejected(decodeBatch(text))).toMatchObject({ status: 400, code: 'empty_body' })
    }
  })

  it('rejects an array body that is not valid JSON, without quoting it', () => {
    const result = rejected(decodeBatch('[{"type":"custom","custom":{"name":"MARKER_bad_array"}},'))
    expect(result).toMatchObject({ status: 400, code: 'malformed_json' })
    expect(result.message).not.toContain('MARKER')
  })

  it('rejects an array body or an all-invalid body when lines were not valid UTF-8', () => {
    expect(rejected(decodeBatch('[]', [2]))).toMatchObject({ status: 400, code: 'invalid_utf8' })
    expect(rejected(decodeBatch('\n', [1]))).toMatchObject({ status: 400, code: 'invalid_utf8' })
  })

  it(`accepts ${LIMITS.eventsPerRequest} events and answers 413 too_many_events above, in both forms`, () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => custom(`e${i}`))
    expect(decoded(decodeBatch(ndjson(...many(LIMITS.eventsPerRequest)))).events).toHaveLength(LIMITS.eventsPerRequest)
    expect(decoded(decodeBatch(JSON.stringify(many(LIMITS.eventsPerRequest)))).events).toHaveLength(LIMITS.eventsPerRequest)
    const over = many(LIMITS.eventsPerRequest + 1)
    expect(rejected(decodeBatch(ndjson(...over)))).toMatchObject({ status: 413, code: 'too_many_events' })
    expect(rejected(decodeBatch(JSON.stringify(over)))).toMatchObject({ status: 413, code: 'too_many_events' })
  })

  it('counts lines that were not valid UTF-8 towards the event limit', () => {
    const text = ndjson(...Array.from({ length: LIMITS.eventsPerRequest }, () => custom())) + '\n'
    expect(rejected(decodeBatch(text, [LIMITS.eventsPerRequest + 1]))).toMatchObject({ status: 413, code: 'too_many_events' })
  })
})

describe('decodeBatch: problem codes', () => {
  const deepContext = nestedObject(LIMITS.freeFormDepth + 1)
  const cases: Array<{ code: ProblemCode; line: string; path: string; badLines?: number[] }> = [
    { code: 'malformed_json', line: '{"type":"custom",', path: '' },
    { code: 'not_an_object', line: '"just a string"', path: '' },
    { code: 'missing_type', line: '{"custom":{"name":"x"}}', path: '/type' },
    { code: 'unknown_type', line: '{"type":"pageview"}', path: '/type' },
    { code: 'missing_field', line: '{"type":"custom","custom":{}}', path: '/custom/name' },
    { code: 'wrong_type', line: '{"type":"custom","custom":{"name":"x"},"ts":"yesterday"}', path: '/ts' },
    { code: 'not_allowed', line: '{"type":"vital","vital":{"name":"FID","value":1}}', path: '/vital/name' },
    { code: 'out_of_range', line: '{"type":"resource","resource":{"url":"u","duration":1,"status_code":1000}}', path: '/resource/status_code' },
    {
      code: 'too_many_items',
      line: '{"type":"action","action":{"type":"click","name":"x","frustration":["rage_click","rage_click","dead_click","error_click"]}}',
      path: '/action/frustration',
    },
    { code: 'too_deep', line: JSON.stringify(custom('x', { context: deepContext })), path: '/context' },
    { code: 'event_too_large', line: JSON.stringify(custom('x', { context: { big: 'x'.repeat(LIMITS.eventBytes) } })), path: '' },
    { code: 'invalid_utf8', line: '', path: '', badLines: [2] },
  ]

  it('has a case for every code', () => {
    expect(cases.map((c) => c.code).sort()).toEqual([...PROBLEM_CODES].sort())
  })

  for (const { code, line, path, badLines } of cases) {
    it(`reports ${code} at ${path || 'the event'}`, () => {
      const batch = decoded(decodeBatch(`${JSON.stringify(custom('ok'))}\n${line}`, badLines))
      expect(batch.events).toEqual([custom('ok')])
      expect(batch.problems).toEqual([{ line: 2, path, code, message: expect.stringMatching(new RegExp(`^line 2: .*\\(${code}\\)$`)) }])
      expect(code === 'event_too_large' ? batch.tooLarge : batch.invalid).toBe(1)
    })
  }

  it('reports a non-string type as unknown_type, and null, arrays and numbers as not_an_object', () => {
    const batch = decoded(decodeBatch(['{"type":5}', '{"type":null}', 'null', '42', 'true'].join('\n')))
    expect(batch.problems.map((p) => [p.line, p.code])).toEqual([
      [1, 'unknown_type'],
      [2, 'unknown_type'],
      [3, 'not_an_object'],
      [4, 'not_an_object'],
      [5, 'not_an_object'],
    ])
    const array = decoded(decodeBatch('[[1], null, "x"]'))
    expect(array.problems.map((p) => [p.index, p.code])).toEqual([
      [1, 'not_an_object'],
      [2, 'not_an_object'],
      [3, 'not_an_object'],
    ])
  })

  it('reports a negative duration, count or ts as out_of_range', () => {
    const lines = [
      '{"type":"long_task","long_task":{"duration":-1}}',
      '{"type":"custom","custom":{"name":"x"},"ts":-5}',
      '{"type":"view","view":{"id":"v","url":"u","error_count":-1}}',
    ]
    const batch = decoded(decodeBatch(lines.join('\n')))
    expect(batch.problems.map((p) => [p.path, p.code])).toEqual([
      ['/long_task/duration', 'out_of_range'],
      ['/ts', 'out_of_range'],
      ['/view/error_count', 'out_of_range'],
    ])
  })

  it('reports a fractional count as wrong_type', () => {
    const batch = decoded(decodeBatch('{"type":"view","view":{"id":"v","url":"u","version":1.5}}'))
    expect(batch.problems).toEqual([expect.objectContaining({ path: '/view/version', code: 'wrong_type' })])
  })

  it('never quotes the input in a problem message', () => {
    const marker = 'MARKER_7f3a_jane.doe@example.com'
    const lines = [
      `{"type":"custom","custom":{"name":"${marker}"`,
      `"${marker}"`,
      `{"${marker}":1}`,
      `{"type":"${marker}"}`,
      `{"type":"custom","custom":{"name":{"${marker}":"${marker}"}}}`,
      `{"type":"custom","custom":{"name":"x"},"ts":"${marker}"}`,
      `{"type":"action","action":{"type":"${marker}","name":"x"}}`,
      `{"type":"action","action":{"type":"click","name":"x","frustration":["${marker}"]}}`,
      `{"type":"error","error":{"message":"x","source":"${marker}"}}`,
      `{"type":"vital","vital":{"name":"LCP","value":1,"rating":"${marker}"}}`,
      JSON.stringify(custom('x', { context: { [marker]: nestedObject(LIMITS.freeFormDepth) } })),
      JSON.stringify(custom('x', { context: { a: { [marker]: [[[[[[[[marker]]]]]]]] } } })),
      JSON.stringify({ type: 'report', report: { type: 'csp-violation', body: { [marker]: nestedObject(LIMITS.freeFormDepth + 2) } } }),
      JSON.stringify(custom(marker, { context: { [marker]: marker.repeat(LIMITS.eventBytes / marker.length) } })),
      `{"type":"custom","custom":{"${marker}":"x"}}`,
      `{"type":"resource","resource":{"url":"${marker}","duration":"${marker}"}}`,
    ]
    const batch = decoded(decodeBatch(lines.join('\n')))
    expect(batch.events).toEqual([])
    expect(batch.problems).toHaveLength(lines.length)
    for (const problem of batch.problems) {
      expect(problem.message).not.toContain('MARKER')
      expect(problem.path).not.toContain('MARKER')
    }
    const arrayBatch = decoded(decodeBatch(`[${lines.slice(2).join(',')}]`))
    for (const problem of arrayBatch.problems) {
      expect(problem.message).not.toContain('MARKER')
      expect(problem.path).not.toContain('MARKER')
    }
  })
})

describe('decodeBatch: normalization', () => {
  it('drops unknown top-level fields and unknown fields nested in known objects', () => {
    const input = {
      type: 'error',
      error: { message: 'boom', extra: 'dropped', stack_frames: [1, 2] },
      view: { id: 'v', url: 'u', title: 'dropped' },
      ip: '203.0.113.9',
      user_agent: 'dropped',
      session: { id: 'dropped' },
    }
    const batch = decoded(decodeBatch(JSON.stringify(input)))
    expect(batch.events).toEqual([{ type: 'error', error: { message: 'boom' }, view: { id: 'v', url: 'u' } }])
  })

  it('drops __proto__, constructor and prototype keys in free-form objects without polluting Object.prototype', () => {
    const text =
      '{"type":"report","report":{"type":"t","body":{"__proto__":{"polluted":1},"message":"m"}},' +
      '"context":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"prototype":{"polluted":1},' +
      '"nested":{"__proto__":{"polluted":1},"keep":[{"__proto__":{"polluted":1},"x":1}]},"plain":"v"}}'
    const batch = decoded(decodeBatch(text))
    const [event] = batch.events as Array<{ context: Record<string, unknown>; report: { body: Record<string, unknown> } }>
    expect(event?.context).toEqual({ nested: { keep: [{ x: 1 }] }, plain: 'v' })
    expect(event?.report.body).toEqual({ message: 'm' })
    expect(Object.keys(event?.context ?? {})).toEqual(['nested', 'plain'])
    expect(Object.getPrototypeOf(event?.context)).toBe(Object.prototype)
    expect(Object.getPrototypeOf(event?.context.nested)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
    // A later merge of the stored value must not reach the prototype either.
    const merged = Object.assign({}, event?.context)
    expect((merged as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('keeps only the allow-listed fields of a report body, as the reports endpoint does (never its user_agent)', () => {
    const body = { effectiveDirective: 'img-src', blockedURL: 'https://cdn.example/x.png', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/150', sample: 'secret()', referrer: 'https://search.example/?q=me', originalPolicy: "img-src 'self'" }
    const batch = decoded(decodeBatch(JSON.stringify({ type: 'report', report: { type: 'csp-violation', body } })))
    expect((batch.events[0] as { report: { body: unknown } }).report.body).toEqual({ effectiveDirective: 'img-src', blockedURL: 'https://cdn.example/x.png' })
  })

  it(`accepts free-form objects ${LIMITS.freeFormDepth} levels deep and rejects deeper ones as too_deep`, () => {
    const atLimit = custom('x', { context: nestedObject(LIMITS.freeFormDepth) })
    expect(decoded(decodeBatch(JSON.stringify(atLimit))).events).toEqual([atLimit])
    const tooDeep = decoded(decodeBatch(JSON.stringify(custom('x', { context: nestedObject(LIMITS.freeFormDepth + 1) }))))
    expect(tooDeep.problems).toEqual([expect.objectContaining({ path: '/context', code: 'too_deep' })])
    const body = { type: 'report', report: { type: 't', body: nestedObject(LIMITS.freeFormDepth + 1) } }
    expect(decoded(decodeBatch(JSON.stringify(body))).problems).toEqual([expect.objectContaining({ path: '/report/body', code: 'too_deep' })])
  })

  it('counts arrays as a level of nesting', () => {
    let value: unknown = 1
    for (let i = 1; i < LIMITS.freeFormDepth; i++) value = [value]
    const atLimit = custom('x', { context: { list: value } })
    expect(decoded(decodeBatch(JSON.stringify(atLimit))).events).toEqual([atLimit])
    const tooDeep = custom('x', { context: { list: [value] } })
    expect(decoded(decodeBatch(JSON.stringify(tooDeep))).problems).toEqual([expect.objectContaining({ code: 'too_deep' })])
  })

  it('rejects a line nested 100,000 levels deep without crashing', () => {
    const arrays = '['.repeat(100_000) + ']'.repeat(100_000)
    const objects = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)
    const context = JSON.stringify(custom('x')).slice(0, -1) + ',"context":' + objects + '}'
    for (const line of [arrays, objects, context]) {
      const batch = decoded(decodeBatch(`${JSON.stringify(custom())}\n${line}`))
      expect(batch.events).toHaveLength(1)
      expect(batch.problems).toHaveLength(1)
    }
  })

  it('rejects deep nesting that fits in one event', () => {
    const arrays = '['.repeat(30_000) + ']'.repeat(30_000)
    const context = JSON.stringify(custom('x')).slice(0, -1) + ',"context":' + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000) + '}'
    expect(context.length).toBeLessThan(LIMITS.eventBytes)
    const lines = decoded(decodeBatch(`${JSON.stringify(custom())}\n${arrays}\n${context}`))
    expect(lines.problems.map((p) => [p.line, p.code])).toEqual([
      [2, 'not_an_object'],
      [3, 'too_deep'],
    ])
  })

  it('rejects a 100,000-level array body or an event nested that deep inside one, without crashing', () => {
    const arrays = '['.repeat(100_000) + ']'.repeat(100_000)
    expect(decoded(decodeBatch(arrays)).problems).toEqual([expect.objectContaining({ index: 1, code: 'too_deep' })])
    const deepEvent = JSON.stringify(custom('x')).slice(0, -1) + ',"extra":' + '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) + '}'
    const batch = decoded(decodeBatch(`[${JSON.stringify(custom())},${deepEvent}]`))
    expect(batch.events).toEqual([custom()])
    expect(batch.problems).toEqual([expect.objectContaining({ index: 2 })])
    expect(['too_deep', 'event_too_large']).toContain(batch.problems[0]?.code)
  })

  it('truncates strings over their cap with "…"', () => {
    const batch = decoded(
      decodeBatch(
        JSON.stringify({
          type: 'error',
          error: { message: 'm'.repeat(CAPS.message + 10), stack: 's'.repeat(CAPS.stack + 10), type: 't'.repeat(CAPS.name + 1) },
          view: { id: 'i'.repeat(CAPS.id + 1), url: 'u'.repeat(CAPS.url + 1) },
          context: { ['k'.repeat(CAPS.freeFormKey + 5)]: 'v'.repeat(CAPS.freeFormString + 5), short: 'kept' },
        }),
      ),
    )
    const event = batch.events[0] as {
      error: { message: string; stack: string; type: string }
      view: { id: string; url: string }
      context: Record<string, string>
    }
    expect(event.error.message).toBe('m'.repeat(CAPS.message - 1) + '…')
    expect(event.error.stack).toBe('s'.repeat(CAPS.stack - 1) + '…')
    expect(event.error.type).toBe('t'.repeat(CAPS.name - 1) + '…')
    expect(event.view.id).toBe('i'.repeat(CAPS.id - 1) + '…')
    expect(event.view.url).toHaveLength(CAPS.url)
    expect(event.context).toEqual({ ['k'.repeat(CAPS.freeFormKey - 1) + '…']: 'v'.repeat(CAPS.freeFormString - 1) + '…', short: 'kept' })
  })

  it('leaves strings at exactly their cap untouched', () => {
    const name = 'n'.repeat(CAPS.name)
    expect(decoded(decodeBatch(JSON.stringify(custom(name)))).events).toEqual([custom(name)])
  })

  it('never splits a surrogate pair when truncating', () => {
    for (let offset = CAPS.name - 4; offset <= CAPS.name + 2; offset++) {
      const name = 'a'.repeat(offset) + '😀'.repeat(5)
      const [event] = decoded(decodeBatch(JSON.stringify(custom(name)))).events as Array<{ custom: { name: string } }>
      const result = event?.custom.name ?? ''
      expect(result.length).toBeLessThanOrEqual(CAPS.name)
      expect(result).not.toMatch(LONE_SURROGATE)
      if (name.length > CAPS.name) expect(result.endsWith('…')).toBe(true)
      expect(name.startsWith(result.replace(/…$/, ''))).toBe(true)
    }
  })

  it('rejects a 1 MB string in one event as event_too_large, in both forms', () => {
    const huge = custom('x', { context: { text: 'x'.repeat(1024 * 1024) } })
    const lines = decoded(decodeBatch(`${JSON.stringify(custom())}\n${JSON.stringify(huge)}`))
    expect(lines.events).toEqual([custom()])
    expect(lines.problems).toEqual([expect.objectContaining({ line: 2, path: '', code: 'event_too_large' })])
    expect(lines).toMatchObject({ tooLarge: 1, invalid: 0 })
    const array = decoded(decodeBatch(JSON.stringify([custom(), huge])))
    expect(array.events).toEqual([custom()])
    expect(array.problems).toEqual([expect.objectContaining({ index: 2, path: '', code: 'event_too_large' })])
    expect(array).toMatchObject({ tooLarge: 1, invalid: 0 })
  })

  it('measures event size in UTF-8 bytes, not characters', () => {
    // 30,000 three-byte characters: under the limit in UTF-16 units, over it in bytes.
    const wide = custom('x', { context: { text: '€'.repeat(30_000) } })
    expect(JSON.stringify(wide).length).toBeLessThan(LIMITS.eventBytes)
    const batch = decoded(decodeBatch(JSON.stringify(wide)))
    expect(batch.problems).toEqual([expect.objectContaining({ code: 'event_too_large' })])
  })

  for (const type of WIRE_TYPES) {
    it(`decodes a minimal and a complete ${type} event unchanged`, () => {
      const batch = decoded(decodeBatch(ndjson(MINIMAL_EVENTS[type], FULL_EVENTS[type])))
      expect(batch.problems).toEqual([])
      expect(batch.events).toEqual([MINIMAL_EVENTS[type], FULL_EVENTS[type]])
    })

    it(`reports a missing required field of a ${type} event`, () => {
      const minimal = MINIMAL_EVENTS[type]
      const key = Object.keys(minimal).find((k) => k !== 'type') as string
      const batch = decoded(decodeBatch(JSON.stringify({ type })))
      expect(batch.problems).toEqual([expect.objectContaining({ path: `/${key}`, code: 'missing_field' })])
      expect(minimal[key]).toBeDefined()
    })
  }

  it('reports problems only with their documented codes', () => {
    const batch = decoded(decodeBatch(['{', '1', '{}', '{"type":"x"}', '{"type":"custom"}'].join('\n')))
    for (const problem of batch.problems as Problem[]) expect(PROBLEM_CODES).toContain(problem.code)
  })
})

describe('decodeBatch: long task attribution and element selectors', () => {
  const longTask = (fields: Record<string, unknown>) => ({ type: 'long_task', long_task: { duration: 120, ...fields } })

  it('keeps every attribution field of a long-animation-frame and a longtask entry', () => {
    const frame = longTask({
      type: 'long-animation-frame',
      blocking_duration: 70.5,
      script_url: 'https://shop.example.com/app.js',
      script_function: 'renderCart',
      invoker: 'BUTTON#buy.onclick',
      invoker_type: 'event-listener',
    })
    const task = longTask({ type: 'longtask' })
    const batch = decoded(decodeBatch(ndjson(frame, task)))
    expect(batch.problems).toEqual([])
    expect(batch.events).toEqual([frame, task])
  })

  it('truncates oversized attribution strings and selectors at their caps', () => {
    const batch = decoded(
      decodeBatch(
        ndjson(
          longTask({
            script_url: `https://cdn.example.com/${'a'.repeat(CAPS.url)}`,
            script_function: 'f'.repeat(CAPS.name + 1),
            invoker: 'i'.repeat(CAPS.name + 1),
            invoker_type: 't'.repeat(100),
          }),
          { type: 'vital', vital: { name: 'LCP', value: 900, target: 's'.repeat(CAPS.name + 1) } },
          { type: 'action', action: { type: 'click', name: 'Buy', target: 'b'.repeat(CAPS.name * 2) } },
        ),
      ),
    )
    expect(batch.problems).toEqual([])
    const [task, vital, action] = batch.events as unknown as [
      { long_task: Record<string, string> },
      { vital: { target: string } },
      { action: { target: string } },
    ]
    expect(task.long_task.script_url).toHaveLength(CAPS.url)
    expect(task.long_task.script_url!.endsWith('…')).toBe(true)
    expect(task.long_task.script_function).toBe('f'.repeat(CAPS.name - 1) + '…')
    expect(task.long_task.invoker).toBe('i'.repeat(CAPS.name - 1) + '…')
    expect(task.long_task.invoker_type).toBe('t'.repeat(CAPS.short * 2 - 1) + '…')
    expect(vital.vital.target).toBe('s'.repeat(CAPS.name - 1) + '…')
    expect(action.action.target).toBe('b'.repeat(CAPS.name - 1) + '…')
  })

  it('rejects wrong types, an unknown long task type and a negative blocking duration, naming the field', () => {
    const lines = [
      longTask({ type: 'frame' }),
      longTask({ type: 1 }),
      longTask({ blocking_duration: -1 }),
      longTask({ blocking_duration: '70' }),
      longTask({ script_url: 42 }),
      longTask({ script_function: ['f'] }),
      longTask({ invoker: { tag: 'BUTTON' } }),
      longTask({ invoker_type: null }),
      { type: 'vital', vital: { name: 'INP', value: 80, target: 5 } },
      { type: 'action', action: { type: 'click', name: 'Buy', target: false } },
    ]
    const batch = decoded(decodeBatch(ndjson(...lines)))
    expect(batch.events).toEqual([])
    expect(batch.invalid).toBe(lines.length)
    expect(batch.problems.map((p) => [p.line, p.path, p.code])).toEqual([
      [1, '/long_task/type', 'not_allowed'],
      [2, '/long_task/type', 'wrong_type'],
      [3, '/long_task/blocking_duration', 'out_of_range'],
      [4, '/long_task/blocking_duration', 'wrong_type'],
      [5, '/long_task/script_url', 'wrong_type'],
      [6, '/long_task/script_function', 'wrong_type'],
      [7, '/long_task/invoker', 'wrong_type'],
      [8, '/long_task/invoker_type', 'wrong_type'],
      [9, '/vital/target', 'wrong_type'],
      [10, '/action/target', 'wrong_type'],
    ])
  })
})

describe('decodeBatch: error.fingerprint (client-supplied grouping key)', () => {
  const errorWith = (fingerprint: unknown) => ({ type: 'error', error: { message: 'boom', fingerprint } })

  it('keeps a string fingerprint as sent', () => {
    const batch = decoded(decodeBatch(JSON.stringify(errorWith('checkout-timeout'))))
    expect(batch.problems).toEqual([])
    expect(batch.events).toEqual([errorWith('checkout-timeout')])
  })

  it(`keeps one of exactly ${CAPS.name} characters and truncates a longer one with "…"`, () => {
    const atCap = 'f'.repeat(CAPS.name)
    expect(decoded(decodeBatch(JSON.stringify(errorWith(atCap)))).events).toEqual([errorWith(atCap)])
    const [event] = decoded(decodeBatch(JSON.stringify(errorWith('f'.repeat(CAPS.name + 50))))).events as Array<{ error: { fingerprint: string } }>
    expect(event?.error.fingerprint).toBe('f'.repeat(CAPS.name - 1) + '…')
  })

  it.each([42, true, null, ['a'], { key: 'a' }])('rejects a fingerprint of the wrong type (%j) as wrong_type', (value) => {
    const batch = decoded(decodeBatch(`${JSON.stringify(custom())}\n${JSON.stringify(errorWith(value))}`))
    expect(batch.events).toEqual([custom()])
    expect(batch.problems).toEqual([expect.objectContaining({ line: 2, path: '/error/fingerprint', code: 'wrong_type' })])
  })

  it('is only a field of error events: elsewhere it is dropped like any unknown field', () => {
    const batch = decoded(decodeBatch(JSON.stringify(custom('signup', { fingerprint: 'x', custom: { name: 'signup', fingerprint: 'x' } }))))
    expect(batch.events).toEqual([custom('signup')])
  })
})

describe('decodeBatch: characters no store can hold', () => {
  it('turns U+0000 into U+FFFD in values and keys, and leaves an escaped backslash before "u0000" alone', () => {
    const line = '{"type":"custom","custom":{"name":"a\\u0000b"},"context":{"k\\u0000":"\\\\u0000","n":"\\\\\\u0000"}}'
    const [event] = decoded(decodeBatch(line)).events
    expect(event).toEqual({ type: 'custom', custom: { name: 'a\uFFFDb' }, context: { 'k\uFFFD': '\\u0000', n: '\\\uFFFD' } })
  })
})

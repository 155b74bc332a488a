import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isInApp, MAX_FRAMES, parseStack, type StackFrame } from '../../src/errors/parseStack.js'

interface StackCase {
  name: string
  note?: string
  stack: string
  frames: StackFrame[]
}
interface StackCorpus {
  engine: string
  source: string
  cases: StackCase[]
}

const FIXTURES = join(import.meta.dirname, '../fixtures')
const CORPUS: StackCorpus[] = readdirSync(join(FIXTURES, 'stacks'))
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => JSON.parse(readFileSync(join(FIXTURES, 'stacks', name), 'utf8')) as StackCorpus)

describe('parseStack: the corpus of real-looking traces (test/fixtures/stacks)', () => {
  it('has at least 8 traces for each engine', () => {
    expect(CORPUS.map((corpus) => corpus.engine)).toEqual(['chrome', 'firefox', 'node', 'safari'])
    for (const corpus of CORPUS) expect(corpus.cases.length, corpus.engine).toBeGreaterThanOrEqual(8)
  })

  for (const corpus of CORPUS) {
    describe(corpus.engine, () => {
      for (const entry of corpus.cases) {
        it(entry.name, () => {
          expect(parseStack(entry.stack)).toEqual(entry.frames)
        })
      }
    })
  }
})

describe('parseStack: stacks Chromium really produced (test/fixtures/pii/capturedStacks.jsonl)', () => {
  const captured = readFileSync(join(FIXTURES, 'pii', 'capturedStacks.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { text: string; source: string })
    .filter((entry) => /^chromium-.*-stack$/.test(entry.source))

  it('holds the stacks this test expects', () => {
    expect(captured.length).toBe(29)
  })

  it('parses every stack with frame lines into frames that all have a file, line and column', () => {
    const withFrames = captured.filter((entry) => entry.text.includes('\n    at '))
    expect(withFrames.length).toBe(27)
    for (const { text } of withFrames) {
      const frames = parseStack(text)
      const lines = text.split('\n').filter((line) => line.startsWith('    at '))
      expect(frames, text).toHaveLength(lines.length)
      const located = frames.filter((frame) => frame.file !== '<anonymous>')
      expect(located.length, text).toBeGreaterThanOrEqual(1)
      for (const frame of located) {
        expect(frame, text).toEqual(expect.objectContaining({ file: expect.stringMatching(/^http:\/\/shop\.example:\d+\//), line: expect.any(Number), column: expect.any(Number), inApp: true }))
      }
    }
  })

  it('returns no frames for the two "stacks" that are a bare message (a thrown string, a failed import)', () => {
    const bare = captured.filter((entry) => !entry.text.includes('\n    at '))
    expect(bare.map((entry) => entry.text.slice(0, 40))).toEqual(['undefined', 'TypeError: Failed to fetch dynamically i'])
    for (const { text } of bare) expect(parseStack(text)).toEqual([])
  })
})

describe('parseStack: formats and edge cases', () => {
  it('skips the message, even one spanning lines or holding an email-like "x@y" or "at" prose', () => {
    const stack = [
      'Error: could not reach support@shop.example:443 for order 12',
      'details: retry@later',
      '  at most once per minute',
      '    at send (https://shop.example/app.js:1:2)',
    ].join('\n')
    expect(parseStack(stack)).toEqual([{ function: 'send', file: 'https://shop.example/app.js', line: 1, column: 2, inApp: true }])
  })

  it('prefers V8 frames when a stack mixes formats, so message text cannot pass for a Firefox frame', () => {
    const stack = 'Error: bad value x@https://evil.example/a.js:1:2\n    at check (https://shop.example/app.js:3:4)'
    expect(parseStack(stack)).toEqual([{ function: 'check', file: 'https://shop.example/app.js', line: 3, column: 4, inApp: true }])
  })

  it('handles CRLF line ends, tabs and unindented frames', () => {
    expect(parseStack('Error: x\r\n\tat a1 (https://s.example/app.js:1:2)\r\nat https://s.example/app.js:3:4\r\n')).toEqual([
      { function: 'a1', file: 'https://s.example/app.js', line: 1, column: 2, inApp: true },
      { file: 'https://s.example/app.js', line: 3, column: 4, inApp: true },
    ])
  })

  it('keeps parentheses that are part of a path', () => {
    expect(parseStack('Error: x\n    at run (C:\\Program Files (x86)\\shop\\app.js:7:9)')).toEqual([
      { function: 'run', file: 'C:\\Program Files (x86)\\shop\\app.js', line: 7, column: 9, inApp: true },
    ])
  })

  it('reads a location with a line but no column, and one with neither only when it is V8\'s own placeholder', () => {
    expect(parseStack('old@https://s.example/app.js:12')).toEqual([{ function: 'old', file: 'https://s.example/app.js', line: 12, inApp: true }])
    expect(parseStack('Error\n    at Generator.next (<anonymous>)\n    at foo (native)\n    at bar (unknown location)')).toEqual([
      { function: 'Generator.next', file: '<anonymous>', inApp: false },
      { function: 'foo', file: 'native', inApp: false },
      { function: 'bar', file: 'unknown location', inApp: false },
    ])
  })

  it(`keeps at most ${MAX_FRAMES} frames, from the top`, () => {
    const lines = Array.from({ length: 250 }, (_, i) => `    at f${i} (https://s.example/app.js:${i + 1}:1)`)
    const v8 = parseStack(`RangeError: Maximum call stack size exceeded\n${lines.join('\n')}`)
    expect(v8).toHaveLength(MAX_FRAMES)
    expect(v8[0]?.function).toBe('f0')
    expect(v8[MAX_FRAMES - 1]?.function).toBe(`f${MAX_FRAMES - 1}`)
    const gecko = parseStack(Array.from({ length: 250 }, (_, i) => `g${i}@https://s.example/app.js:${i + 1}:1`).join('\n'))
    expect(gecko).toHaveLength(MAX_FRAMES)
    expect(gecko[0]?.function).toBe('g0')
  })

  it('returns no frames for empty, frameless or non-string input, and never throws', () => {
    for (const input of ['', '\n\n', 'Script error.', 'Error: boom', '@', 'at', 'at ()', '(', ')', ':1:2', '@:1:2x', '[native code', undefined, null, 42, {}]) {
      expect(() => parseStack(input as string)).not.toThrow()
    }
    expect(parseStack('')).toEqual([])
    expect(parseStack('Script error.')).toEqual([])
    expect(parseStack(undefined as unknown as string)).toEqual([])
  })
})

describe('parseStack: in-app', () => {
  it.each([
    ['https://shop.example/assets/app.3f9a2c1b.js', true],
    ['/srv/shop/src/cart.js', true],
    ['file:///C:/shop/app.js', true],
    ['https://cdn.jsdelivr.net/npm/lodash@4/lodash.min.js', true],
    ['/srv/shop/node_modules/express/lib/router/layer.js', false],
    ['C:\\shop\\node_modules\\express\\index.js', false],
    ['http://localhost:5173/node_modules/.vite/deps/react.js?v=1', false],
    ['node:internal/process/task_queues', false],
    ['node:fs', false],
    ['internal/process/task_queues.js', false],
    ['<anonymous>', false],
    ['native', false],
    ['[native code]', false],
    ['chrome-extension://abc/content.js', false],
    ['moz-extension://abc/content.js', false],
    ['safari-extension://abc/content.js', false],
    ['safari-web-extension://abc/content.js', false],
    ['webkit-masked-url://hidden/', false],
  ])('%s → %s', (file, expected) => {
    expect(isInApp(file)).toBe(expected)
  })
})

/**
 * Stacks are client-supplied (up to 32 KB after truncation). parseStack uses no regular expressions and
 * scans each line a bounded number of times; these inputs are the worst cases for the scans it does make
 * (backward and forward parenthesis matching, nested evals, colon splitting, many short lines). Linear work
 * on 32 KB takes well under a millisecond; a quadratic scan would take seconds, so the generous bound
 * cannot flake and still catches a regression. The same inputs at 8× the size must stay near 8× the time.
 */
describe('parseStack: hostile input', () => {
  const KB32 = 32 * 1024
  const repeat = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
  const hostile = (size: number): Record<string, string> => ({
    'open parens': 'at ' + repeat('(', size),
    'close parens': 'at ' + repeat(')', size),
    'unbalanced parens ending in )': 'at f ' + repeat('(a', size) + ')',
    'nested evals': (() => {
      const depth = Math.floor(size / 12)
      return 'at f (' + 'eval at g ('.repeat(depth) + 'x:1:2' + ')'.repeat(depth + 1)
    })(),
    'colons': 'at ' + repeat(':1', size),
    'at signs': repeat('@', size),
    'at-sign frames without positions': repeat('a@b\n', size),
    'firefox eval markers': '@' + repeat(' line 1 > eval', size),
    'blank lines': repeat('\n', size),
    'spaces': repeat(' ', size),
    'short V8 frames': repeat('at a (b:1:2)\n', size),
    'short gecko frames': repeat('a@b:1:2\n', size),
    'digits': 'at x:' + repeat('9', size),
  })

  // Not a timing test (budgets live in benchmarks): a canary with a margin of 100× and more. Each 256 KB
  // worst case parses in a few ms; a quadratic scan of it would take minutes, so a slow, shared machine
  // cannot make this fail, and a real regression cannot pass it.
  it('parses each 256 KB worst case far below the time a quadratic scan would need', () => {
    for (const [name, input] of Object.entries(hostile(8 * KB32))) {
      const started = performance.now()
      parseStack(input)
      expect(performance.now() - started, name).toBeLessThan(1500)
    }
  })
})

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FINGERPRINT_FRAMES, groupError, normalizeFileName, normalizeFunctionName, type GroupableError } from '../../src/errors/groupError.js'
import { parameterizeMessage } from '../../src/errors/parameterizeMessage.js'

const FIXTURES = join(import.meta.dirname, '../fixtures')
const fingerprint = (error: GroupableError) => groupError(error).fingerprint

interface StackCase {
  name: string
  stack: string
}
function fixtureStack(engine: string, name: string): string {
  const corpus = JSON.parse(readFileSync(join(FIXTURES, 'stacks', `${engine}.json`), 'utf8')) as { cases: StackCase[] }
  const found = corpus.cases.find((entry) => entry.name === name)
  if (!found) throw new Error(`no ${engine} fixture named "${name}"`)
  return found.stack
}

/** The 29 errors Chromium 150 really threw (test/fixtures/pii/capturedStacks.jsonl): stack, then message. */
function capturedErrors(): GroupableError[] {
  const entries = readFileSync(join(FIXTURES, 'pii', 'capturedStacks.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { text: string; source: string })
  const errors: GroupableError[] = []
  for (let i = 0; i < entries.length; i += 2) {
    const stack = entries[i]!
    const message = entries[i + 1]!
    expect(stack.source).toMatch(/-stack$/)
    expect(message.source).toMatch(/-message$/)
    // V8 starts the stack with `Type: message`; that is where the SDK's `error.type` comes from (error.name).
    const firstLine = stack.text.split('\n')[0]!
    const type = firstLine.endsWith(`: ${message.text}`) ? firstLine.slice(0, -message.text.length - 2) : undefined
    errors.push({ ...(type ? { type } : {}), message: message.text, stack: stack.text })
  }
  return errors
}

/** The same code, built again: new content hashes and cache-busting query, every line and column moved. */
function rebuilt(stack: string): string {
  return stack
    .replaceAll('3f9a2c1b', '8e1d0b7a')
    .replaceAll('7c1e9a04', 'd2a9f613')
    .replaceAll('B2x9_kQz', 'Qm4-Zx_9')
    .replaceAll('?v=2026.11.3', '?v=2026.12.0')
    .replace(/:(\d+):(\d+)(?=\)|\n|$)/g, (_, line: string, column: string) => `:${Number(line) + 3}:${Number(column) * 2 + 17}`)
}

const APP = 'https://shop.example/assets/app.3f9a2c1b.js'
const v8 = (message: string, ...frames: string[]) => [message, ...frames.map((frame) => `    at ${frame}`)].join('\n')

describe('groupError: fingerprints', () => {
  it('are 32 lowercase hex characters', () => {
    for (const error of capturedErrors()) expect(groupError(error).fingerprint).toMatch(/^[0-9a-f]{32}$/)
    expect(fingerprint({ message: '' })).toMatch(/^[0-9a-f]{32}$/)
  })

  it('do not split an issue when the bundle is rebuilt: new content hash, shifted lines and columns (TrackX does)', () => {
    const errors = capturedErrors().filter((error) => error.stack?.includes('\n    at '))
    expect(errors).toHaveLength(27)
    for (const error of errors) {
      const again = { ...error, stack: rebuilt(error.stack!) }
      expect(again.stack).not.toBe(error.stack)
      expect(groupError(again), error.stack).toEqual(groupError(error))
    }
  })

  it('put the 29 different errors Chromium threw into 29 different issues', () => {
    const fingerprints = capturedErrors().map(fingerprint)
    expect(new Set(fingerprints).size).toBe(29)
  })

  it('differ for a different call path to the same throwing function', () => {
    const fromCheckout = v8('TypeError: x is undefined', `total (${APP}:2:82)`, `checkout (${APP}:5:10)`, `${APP}:12:2`)
    const fromBadge = v8('TypeError: x is undefined', `total (${APP}:2:82)`, `cartBadge (${APP}:8:3)`, `${APP}:12:2`)
    expect(fingerprint({ type: 'TypeError', message: 'x is undefined', stack: fromCheckout })).not.toBe(
      fingerprint({ type: 'TypeError', message: 'x is undefined', stack: fromBadge }),
    )
  })

  it('differ for the same message thrown from different code', () => {
    const message = 'handler is not a function'
    const inCart = v8(`TypeError: ${message}`, `renderCart (${APP}:3:24)`)
    const inCoupon = v8(`TypeError: ${message}`, `applyCoupon (https://shop.example/assets/coupon.1a2b3c4d.js:1:900)`)
    expect(fingerprint({ type: 'TypeError', message, stack: inCart })).not.toBe(fingerprint({ type: 'TypeError', message, stack: inCoupon }))
  })

  it('differ for a TypeError and a RangeError thrown at the same place', () => {
    const stack = v8('Error', `format (${APP}:4:17)`, `render (${APP}:9:2)`)
    expect(fingerprint({ type: 'TypeError', message: 'bad', stack })).not.toBe(fingerprint({ type: 'RangeError', message: 'bad', stack }))
  })

  it('ignore the message when the frames name functions (it varies by browser and by data)', () => {
    const stack = v8('TypeError: …', `total (${APP}:2:82)`, `checkout (${APP}:5:10)`)
    expect(fingerprint({ type: 'TypeError', message: "Cannot read properties of undefined (reading 'price')", stack })).toBe(
      fingerprint({ type: 'TypeError', message: 'item is undefined', stack }),
    )
  })

  it('are the same for Chrome, Firefox and Safari traces of the same code', () => {
    const chrome = v8(
      "TypeError: Cannot read properties of undefined (reading 'reduce')",
      `get total (${APP}:2:82)`,
      `CartStore.load (${APP}:2:146)`,
      `new CartView (${APP}:3:24)`,
      'Array.forEach (<anonymous>)',
      `HTMLButtonElement.<anonymous> (${APP}:12:2)`,
    )
    const firefox = [`get total@${APP}:2:82`, `load@${APP}:2:146`, `CartView@${APP}:3:24`, `init/<@${APP}:12:2`].join('\n')
    const safari = [`total@${APP}:2:86`, `load@${APP}:2:150`, `CartView@${APP}:3:28`, 'forEach@[native code]', `@${APP}:12:6`].join('\n')
    const prints = [
      fingerprint({ type: 'TypeError', message: "Cannot read properties of undefined (reading 'reduce')", stack: chrome }),
      fingerprint({ type: 'TypeError', message: 'this.items is undefined', stack: firefox }),
      fingerprint({ type: 'TypeError', message: "undefined is not an object (evaluating 'this.items.reduce')", stack: safari }),
    ]
    expect(new Set(prints).size).toBe(1)

    const asyncPrints = [
      ['chrome', 'async functions and Promise.all'],
      ['firefox', 'async frames'],
      ['safari', 'async functions in a module'],
    ].map(([engine, name]) => fingerprint({ type: 'Error', message: 'Request failed', stack: fixtureStack(engine!, name!) }))
    expect(new Set(asyncPrints).size).toBe(1)
  })

  it('ignore Node internals: other Node versions print other internal frames and line numbers', () => {
    const app = ['authenticate (/srv/shop/src/auth.js:12:21)', 'Object.<anonymous> (/srv/shop/src/server.js:40:3)']
    const node20 = v8(
      'TypeError: x',
      ...app,
      'Module._compile (node:internal/modules/cjs/loader:1521:14)',
      'Module.load (node:internal/modules/cjs/loader:1266:32)',
      'node:internal/main/run_main_module:28:49',
    )
    const node22 = v8(
      'TypeError: x',
      app[0]!,
      'process.processTicksAndRejections (node:internal/process/task_queues:105:5)',
      app[1]!,
      'Module._compile (node:internal/modules/cjs/loader:1554:14)',
      'Object..js (node:internal/modules/cjs/loader:1706:10)',
    )
    const withoutInternals = v8('TypeError: x', ...app)
    const prints = [node20, node22, withoutInternals].map((stack) => fingerprint({ type: 'TypeError', message: 'x', stack }))
    expect(new Set(prints).size).toBe(1)
  })

  it('ignore the deployment directory and separators of server paths', () => {
    const at = (root: string, sep: string) => v8('Error: x', `authenticate (${root}${sep}src${sep}auth.js:12:21)`)
    const prints = [at('/srv/releases/41', '/'), at('/srv/releases/42', '/'), at('C:\\shop', '\\')].map((stack) => fingerprint({ type: 'Error', message: 'x', stack }))
    expect(new Set(prints).size).toBe(1)
  })

  it(`use the top ${FINGERPRINT_FRAMES} distinct frames: deeper callers and recursion depth do not split an issue`, () => {
    const deep = (callers: string[]) => v8('RangeError: Maximum call stack size exceeded', ...callers.map((name, i) => `${name} (${APP}:${i + 1}:1)`))
    const top = Array.from({ length: FINGERPRINT_FRAMES }, (_, i) => `level${i}`)
    expect(fingerprint({ type: 'RangeError', message: 'm', stack: deep([...top, 'mainA']) })).toBe(fingerprint({ type: 'RangeError', message: 'm', stack: deep([...top, 'mainB']) }))
    expect(fingerprint({ type: 'RangeError', message: 'm', stack: deep(['walk', 'walk', 'walk', 'visit']) })).toBe(
      fingerprint({ type: 'RangeError', message: 'm', stack: deep(['walk', 'walk', 'walk', 'walk', 'walk', 'visit']) }),
    )
  })

  it('fall back to all frames when none is in-app, still without positions', () => {
    const lib = (fn: string, line: number) => v8('TypeError: x', `${fn} (https://shop.example/node_modules/lib/index.js:${line}:5)`, 'Array.map (<anonymous>)')
    expect(fingerprint({ type: 'TypeError', message: 'x', stack: lib('parse', 1) })).toBe(fingerprint({ type: 'TypeError', message: 'x', stack: lib('parse', 90) }))
    expect(fingerprint({ type: 'TypeError', message: 'x', stack: lib('parse', 1) })).not.toBe(fingerprint({ type: 'TypeError', message: 'x', stack: lib('format', 1) }))
    expect(fingerprint({ type: 'TypeError', message: 'x', stack: lib('parse', 1) })).not.toBe(fingerprint({ type: 'TypeError', message: 'x' }))
  })

  it('tell apart errors of a minified bundle whose frames have no usable names, by their message', () => {
    const minified = (message: string) => ({
      type: 'TypeError',
      message,
      stack: v8(`TypeError: ${message}`, `${APP}:7:89`, `t (${APP}:1:56)`, `${APP}:7:71`),
    })
    expect(fingerprint(minified("Cannot read properties of null (reading 'price')"))).not.toBe(fingerprint(minified("Cannot read properties of null (reading 'total')")))
    expect(fingerprint(minified('Item 48213 is out of stock'))).toBe(fingerprint(minified('Item 77 is out of stock')))
  })

  describe('without a stack: type + parameterised message', () => {
    const same: Array<[string, string]> = [
      ['Item 48213 not found', 'Item 77 not found'],
      ['Order 0f8fad5b-d9cb-469f-a165-70867728950e failed', 'Order 7c9e6679-7425-40de-944b-e07fc1f90ae7 failed'],
      ['Request to https://api.shop.example/v1/orders/1?x=2 failed', 'Request to https://api.shop.example/v1/carts/9 failed'],
      ['Session 3f9a2c1b8e7d expired', 'Session 00ab12cd34ef expired'],
      ["Unknown coupon 'SUMMER10'", "Unknown coupon 'WINTER-25 %'"],
      ['Took 1.5 s (limit 1 s)', 'Took 12.25 s (limit 2 s)'],
      ['Payment declined for [email] ([card])', 'Payment declined for [email] ([card])'],
    ]
    it.each(same)('"%s" and "%s" form one issue', (a, b) => {
      expect(fingerprint({ type: 'Error', message: a })).toBe(fingerprint({ type: 'Error', message: b }))
    })

    it('keeps different messages and different types apart', () => {
      expect(fingerprint({ type: 'Error', message: 'Item 1 not found' })).not.toBe(fingerprint({ type: 'Error', message: 'Cart 1 not found' }))
      expect(fingerprint({ type: 'Error', message: 'Item 1 not found' })).not.toBe(fingerprint({ type: 'TypeError', message: 'Item 1 not found' }))
      expect(fingerprint({ message: 'Script error.' })).toBe(fingerprint({ message: 'Script error.', stack: '' }))
    })
  })

  describe('a client-supplied fingerprint', () => {
    const stackA = v8('Error: a', `total (${APP}:2:82)`)
    const stackB = v8('Error: b', `other (${APP}:9:1)`)

    it('overrides grouping: one value, one issue, whatever the error', () => {
      expect(fingerprint({ type: 'Error', message: 'a', stack: stackA, fingerprint: 'checkout-timeout' })).toBe(
        fingerprint({ type: 'TypeError', message: 'b', stack: stackB, fingerprint: 'checkout-timeout' }),
      )
      expect(fingerprint({ type: 'Error', message: 'a', stack: stackA, fingerprint: 'one' })).not.toBe(
        fingerprint({ type: 'Error', message: 'a', stack: stackA, fingerprint: 'two' }),
      )
    })

    it('is hashed in its own namespace, so it cannot collide with a computed fingerprint', () => {
      const expected = createHash('sha256').update('client\0checkout-timeout').digest('hex').slice(0, 32)
      expect(fingerprint({ message: 'a', fingerprint: 'checkout-timeout' })).toBe(expected)
    })

    it('is ignored when empty, and leaves title and culprit to the error', () => {
      expect(fingerprint({ type: 'Error', message: 'a', stack: stackA, fingerprint: '' })).toBe(fingerprint({ type: 'Error', message: 'a', stack: stackA }))
      const issue = groupError({ type: 'Error', message: 'a', stack: stackA, fingerprint: 'x' })
      expect(issue).toMatchObject({ title: 'Error: a', culprit: 'total (app.js)' })
    })
  })
})

describe('groupError: title', () => {
  it.each([
    [{ type: 'TypeError', message: "Cannot read properties of undefined (reading 'price')" }, "TypeError: Cannot read properties of undefined (reading 'price')"],
    [{ message: 'Script error.' }, 'Script error.'],
    [{ type: 'Error', message: 'Validation failed:\n- at least one item\n- at most 3 coupons' }, 'Error: Validation failed:'],
    [{ type: 'AbortError', message: '' }, 'AbortError'],
    [{ message: '  \n' }, '(no message)'],
  ])('%j → %s', (error, title) => {
    expect(groupError(error).title).toBe(title)
  })

  it('is at most 200 characters', () => {
    const { title } = groupError({ type: 'Error', message: 'x'.repeat(1000) })
    expect(title).toHaveLength(200)
    expect(title.startsWith('Error: xxx')).toBe(true)
    expect(title.endsWith('…')).toBe(true)
  })
})

describe('groupError: culprit', () => {
  it.each([
    ['a named function, with its receiver', v8('E', `CartStore.load (${APP}:2:146)`), 'CartStore.load (app.js)'],
    ['a getter', v8('E', `get total (${APP}:2:82)`), 'get total (app.js)'],
    ['an alias and async', v8('E', `async Object.parseConfig [as parse] (${APP}:3:51)`), 'Object.parseConfig (app.js)'],
    ['an anonymous function', v8('E', `${APP}:3:24`), 'app.js'],
    ['a minified name', v8('E', `t (${APP}:1:56)`), 'app.js'],
    ['a Firefox inner function', `init/onClick<@${APP}:3:24`, 'onClick (app.js)'],
    ['Safari global code', `global code@${APP}:12:2`, 'app.js'],
    ['the top in-app frame, below library frames', v8('E', 'JSON.parse (<anonymous>)', 'parse (/srv/shop/node_modules/lib/x.js:1:1)', 'loadConfig (/srv/shop/src/config.ts:4:2)'), 'loadConfig (config.ts)'],
  ])('%s', (_, stack, culprit) => {
    expect(groupError({ message: 'm', stack }).culprit).toBe(culprit)
  })

  it('is absent without an in-app frame or a stack', () => {
    expect(groupError({ message: 'm', stack: v8('E', 'JSON.parse (<anonymous>)', 'f (/srv/node_modules/x/y.js:1:1)') })).not.toHaveProperty('culprit')
    expect(groupError({ message: 'm' })).not.toHaveProperty('culprit')
  })
})

describe('normalizeFileName', () => {
  it.each([
    ['https://shop.example/assets/app.3f9a2c1b.js', 'app.js'],
    ['https://shop.example/assets/app.3f9a2c1b.js?v=2026.11.3#x', 'app.js'],
    ['https://shop.example/assets/app.js', 'app.js'],
    ['https://shop.example/static/js/main-B2x9_kQz.mjs', 'main.mjs'],
    ['https://shop.example/static/js/index-D-x9a2kQ.js', 'index.js'],
    ['https://shop.example/static/js/CartPage-aBcDeFgH.js', 'CartPage.js'],
    ['https://shop.example/chunk.4e2b1d9c.chunk.js', 'chunk.chunk.js'],
    ['https://shop.example/static/js/main.4e2b1d9c.chunk.js', 'main.chunk.js'],
    ['https://shop.example/static/js/2.4e2b1d9c.chunk.js', '[n].chunk.js'],
    ['https://shop.example/1234.js', '[n].js'],
    ['https://shop.example/482.9f1c2d3e4a5b6c7d8e9f.js', '[n].js'],
    ['https://shop.example/vendors~main.1234abcd.js', 'vendors~main.js'],
    ['https://shop.example/chunk-5HDQGNTS.js', 'chunk.js'],
    ['https://shop.example/_next/static/chunks/framework-0c7baedf5d2a2c4b.js', 'framework.js'],
    ['https://shop.example/assets/use-checkout.js', 'use-checkout.js'],
    ['https://shop.example/assets/checkout-overview.js', 'checkout-overview.js'],
    ['https://shop.example/assets/jquery-3.6.0.min.js', 'jquery-3.6.0.min.js'],
    ['https://shop.example/assets/app.decade.js', 'app.decade.js'],
    ['/srv/shop/src/cart.ts', 'cart.ts'],
    ['C:\\srv\\shop\\src\\cart.ts', 'cart.ts'],
    ['file:///C:/Users/dev/shop/dist/app.js', 'app.js'],
    ['blob:https://shop.example/0f8fad5b-d9cb-469f-a165-70867728950e', '[uuid]'],
    ['https://shop.example/', 'shop.example'],
    ['<anonymous>', '<anonymous>'],
    ['[native code]', '[native code]'],
    [undefined, ''],
  ])('%s → %s', (file, expected) => {
    expect(normalizeFileName(file)).toBe(expected)
  })
})

describe('normalizeFunctionName', () => {
  it.each([
    ['CartStore.load', 'load'],
    ['load', 'load'],
    ['CartStore.prototype.load', 'load'],
    ['async loadCart', 'loadCart'],
    ['new CartView', 'CartView'],
    ['Object.parseConfig [as parse]', 'parseConfig'],
    ['get total [as total]', 'total'],
    ['get total', 'total'],
    ['set total', 'total'],
    ['init/<', '?'],
    ['init/onClick<', 'onClick'],
    ['Object.<anonymous>', '?'],
    ['HTMLButtonElement.<anonymous>', '?'],
    ['<anonymous>', '?'],
    ['anonymous', '?'],
    ['Object.<computed> [as go]', '?'],
    ['global code', '?'],
    ['module code', '?'],
    ['eval code', '?'],
    ['eval', '?'],
    ['t', '?'],
    ['Xe', '?'],
    ['e.t', '?'],
    ['', '?'],
    [undefined, '?'],
  ])('%s → %s', (name, expected) => {
    expect(normalizeFunctionName(name)).toBe(expected)
  })
})

describe('parameterizeMessage', () => {
  it.each([
    ['Item 48213 not found', 'Item <num> not found'],
    ['Took 1.5 s, build 2026.11.3', 'Took <num> s, build <num>'],
    ['Price for SKU-48213 not found (v1.4.2)', 'Price for SKU-<num> not found (v1.<num>)'],
    ['undefinedFunction_42 is not defined, ES2015 v2', 'undefinedFunction_42 is not defined, ES2015 v2'],
    ['Session 3f9a2c1b8e7d at 0xdeadbeef', 'Session <hex> at <hex>'],
    ['id 123456789', 'id <num>'],
    ['facade decade added', 'facade decade added'],
    ['Order 0F8FAD5B-D9CB-469F-A165-70867728950E failed', 'Order <uuid> failed'],
    ['GET https://api.shop.example/v1/orders/1?x=2 failed (503)', 'GET <url> failed (<num>)'],
    ["Cannot read properties of undefined (reading 'price')", 'Cannot read properties of undefined (reading <str>)'],
    ['Unexpected token "<", `x` and \'y\'', 'Unexpected token <str>, <str> and <str>'],
    ["Can't find the user's cart", "Can't find the user's cart"],
    ['Payment declined for [email] ([card], [ip])', 'Payment declined for [email] ([card], [ip])'],
  ])('%s → %s', (message, expected) => {
    expect(parameterizeMessage(message)).toBe(expected)
  })

  it('keeps quoted JavaScript names when asked, and still replaces quoted data', () => {
    expect(parameterizeMessage("reading 'price' of 'Symbol.iterator' in 'hello world' and '42'", { keepQuotedIdentifiers: true })).toBe(
      "reading 'price' of 'Symbol.iterator' in <str> and <str>",
    )
  })

  // A canary, not a timing test: 256 KB of hostile text takes milliseconds; catastrophic backtracking in a
  // rule would take minutes, so only a real regression fails this, never a slow machine.
  it('handles hostile 256 KB messages far below the time backtracking would need', () => {
    const size = 256 * 1024
    const repeat = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
    for (const input of [repeat('a'), repeat('a1'), repeat(" '"), '"' + repeat('a'), repeat('a.'), repeat('1.'), repeat('abc+'), repeat('1x'), repeat("a1-'\"`x:/")]) {
      const started = performance.now()
      parameterizeMessage(input)
      parameterizeMessage(input, { keepQuotedIdentifiers: true })
      groupError({ type: 'Error', message: input, stack: input })
      expect(performance.now() - started, input.slice(0, 20)).toBeLessThan(1500)
    }
  })
})

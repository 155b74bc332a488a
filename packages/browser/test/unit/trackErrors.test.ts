// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest'
import { trackErrors } from '../../src/collectors/trackErrors.js'
import type { RumEvent, TacitOptions } from '../../src/core/types.js'
import { collectorSdk } from './collectorSdk.js'

function start(options: TacitOptions = {}, emit?: (event: RumEvent) => void) {
  const { sdk, events } = collectorSdk(options, emit)
  stop = trackErrors(sdk)
  return events
}

let stop = () => {}
afterEach(() => {
  stop()
  stop = () => {}
  vi.restoreAllMocks()
})

const fire = (init: ErrorEventInit) => window.dispatchEvent(new ErrorEvent('error', init))
/** happy-dom has no PromiseRejectionEvent; the collector reads only `reason`. */
const reject = (reason: unknown) => window.dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason }))

describe('trackErrors', () => {
  it('reports an uncaught Error with its type and raw stack', () => {
    const events = start()
    const error = new TypeError("Cannot read properties of undefined (reading 'price')")
    fire({ error, message: `Uncaught ${error.message}`, filename: 'https://shop.example/app.js', lineno: 1, colno: 2 })
    expect(events).toEqual([{ type: 'error', error: { message: error.message, type: 'TypeError', stack: error.stack, handled: false, source: 'source' } }])
  })

  it('reports a thrown non-Error with its value', () => {
    const events = start()
    fire({ error: 'out of stock', message: 'Uncaught out of stock', filename: 'https://shop.example/app.js', lineno: 3, colno: 7 })
    fire({ error: { code: 42 }, message: 'Uncaught [object Object]' })
    expect(events.map((e) => e.error)).toEqual([
      { message: 'out of stock', handled: false, source: 'source' },
      { message: '{"code":42}', handled: false, source: 'source' },
    ])
  })

  it('reports a cross-origin "Script error." without a stack', () => {
    const events = start()
    fire({ error: null, message: 'Script error.', filename: '', lineno: 0, colno: 0 })
    expect(events.map((e) => e.error)).toEqual([{ message: 'Script error.', handled: false, source: 'source' }])
  })

  it('reports unhandled rejections: an Error as itself, anything else prefixed', () => {
    const events = start()
    const error = new RangeError('too far')
    reject(error)
    reject('nope')
    reject({ status: 500 })
    reject(undefined)
    expect(events.map((e) => e.error)).toEqual([
      { message: 'too far', type: 'RangeError', stack: error.stack, handled: false, source: 'source' },
      { message: 'Unhandled promise rejection: nope', handled: false, source: 'source' },
      { message: 'Unhandled promise rejection: {"status":500}', handled: false, source: 'source' },
      { message: 'Unhandled promise rejection: undefined', handled: false, source: 'source' },
    ])
  })

  it('reports the same Error object once however often it arrives', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const events = start({ trackConsoleErrors: true })
    const error = new Error('once')
    console.error(error)
    fire({ error, message: 'Uncaught Error: once' })
    reject(error)
    expect(events).toHaveLength(1)
    expect(events[0]!.error).toMatchObject({ message: 'once', source: 'console', handled: true })
  })

  it('caps messages and stacks at the server limits', () => {
    const events = start()
    const error = new Error('m'.repeat(10_000))
    error.stack = 's'.repeat(40_000)
    fire({ error })
    reject('r'.repeat(10_000))
    const [thrown, rejected] = events.map((e) => e.error as { message: string; stack?: string })
    expect(thrown!.message).toHaveLength(8192)
    expect(thrown!.stack).toHaveLength(32768)
    expect(rejected!.message).toHaveLength(8192)
  })

  it('stops: no listener is left', () => {
    const events = start()
    stop()
    fire({ error: new Error('late') })
    reject('late')
    expect(events).toEqual([])
  })

  it('does nothing with trackErrors off', () => {
    const original = console.error
    const events = start({ trackErrors: false, trackConsoleErrors: true })
    fire({ error: new Error('x') })
    expect(events).toEqual([])
    expect(console.error).toBe(original)
  })
})

describe('trackErrors with trackConsoleErrors', () => {
  it('leaves console.error alone by default', () => {
    const original = console.error
    start()
    expect(console.error).toBe(original)
  })

  it('reports console.error calls, still logs them, and restores console.error on stop', () => {
    const logged = vi.fn()
    vi.spyOn(console, 'error').mockImplementation(logged)
    const original = console.error
    const events = start({ trackConsoleErrors: true })
    expect(console.error).not.toBe(original)
    const error = new TypeError('bad price')
    console.error('Checkout failed:', error, { step: 2 })
    console.error('plain message')
    console.error()
    expect(logged).toHaveBeenCalledTimes(3)
    expect(logged).toHaveBeenCalledWith('Checkout failed:', error, { step: 2 })
    expect(events.map((e) => e.error)).toEqual([
      { message: 'Checkout failed: bad price {"step":2}', type: 'TypeError', stack: error.stack, handled: true, source: 'console' },
      { message: 'plain message', handled: true, source: 'console' },
    ])
    stop()
    expect(console.error).toBe(original)
  })

  it('does not loop when something the SDK calls while emitting logs an error', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const events: RumEvent[] = []
    start({ trackConsoleErrors: true }, (event) => {
      events.push(event)
      console.error('from beforeSend')
    })
    console.error('first')
    expect(events).toHaveLength(1)
  })

  it('leaves a wrapper added on top of its own in place on stop, passing through', () => {
    const logged = vi.fn()
    vi.spyOn(console, 'error').mockImplementation(logged)
    const events = start({ trackConsoleErrors: true })
    const ours = console.error
    const theirs = (...args: unknown[]) => ours(...args)
    console.error = theirs
    stop()
    expect(console.error).toBe(theirs)
    console.error('after stop')
    expect(logged).toHaveBeenCalledWith('after stop')
    expect(events).toEqual([])
  })
})

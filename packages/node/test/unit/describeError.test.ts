import { describe, expect, it } from 'vitest'
import { describeError, describeRejection } from '../../src/describeError.js'

describe('describeError', () => {
  it('takes the message, class and raw V8 stack of an Error', () => {
    const error = new TypeError('bad input')
    expect(describeError(error)).toEqual({ message: 'bad input', type: 'TypeError', stack: error.stack })
  })

  it("names a subclass that keeps `name` 'Error' by its constructor", () => {
    class PaymentDeclined extends Error {}
    expect(describeError(new PaymentDeclined('card declined')).type).toBe('PaymentDeclined')
    class Named extends Error {
      override name = 'CustomName'
    }
    expect(describeError(new Named('x')).type).toBe('CustomName')
  })

  it('reads only message, name and stack: not cause, code, path or other properties', () => {
    const error = Object.assign(new Error('open failed', { cause: new Error('secret cause') }), { code: 'ENOENT', path: '/home/alice/.ssh/id_rsa' })
    const described = describeError(error)
    expect(Object.keys(described).sort()).toEqual(['message', 'stack', 'type'])
    expect(JSON.stringify(described)).not.toMatch(/secret cause|ENOENT|alice/)
  })

  it('describes thrown non-Errors by their value', () => {
    expect(describeError('plain string')).toEqual({ message: 'plain string' })
    expect(describeError({ code: 7 })).toEqual({ message: '{"code":7}' })
    expect(describeError(42)).toEqual({ message: '42' })
    expect(describeError(null)).toEqual({ message: 'null' })
    expect(describeError(undefined)).toEqual({ message: 'undefined' })
    expect(describeError(10n)).toEqual({ message: '10' })
    expect(describeError(Symbol('s'))).toEqual({ message: 'Symbol(s)' })
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(describeError(circular)).toEqual({ message: '[object Object]' })
    expect(describeError('')).toEqual({ message: 'Unknown error' })
  })

  it('copes with error-likes whose properties misbehave', () => {
    expect(describeError({ message: 'from an error-like', name: 'WorkerError' })).toEqual({ message: 'from an error-like', type: 'WorkerError' })
    const hostile = { message: { toString: () => { throw new Error('no') } } }
    expect(() => describeError(hostile)).not.toThrow()
    expect(describeError(new Error('')).message).toBe('Error')
  })

  it('caps message and stack at the wire limits', () => {
    const error = new Error('m'.repeat(10_000))
    error.stack = 's'.repeat(40_000)
    const described = describeError(error)
    expect(described.message).toHaveLength(8192)
    expect(described.stack).toHaveLength(32768)
  })
})

describe('describeRejection', () => {
  it('keeps an Error as it is, so it groups with the same error thrown', () => {
    const error = new Error('inventory down')
    expect(describeRejection(error)).toEqual(describeError(error))
  })

  it('says a value that is not an Error came from a rejection', () => {
    expect(describeRejection('quota exceeded')).toEqual({ message: 'Unhandled promise rejection: quota exceeded' })
    expect(describeRejection({ code: 7 })).toEqual({ message: 'Unhandled promise rejection: {"code":7}' })
  })

  it("unwraps Node's ERR_UNHANDLED_REJECTION wrapper, whose stack holds only Node's own frames", async () => {
    // The wrapper as Node raises it in the default mode, taken from a real child process.
    const { execFileSync } = await import('node:child_process')
    const script = `process.on('uncaughtExceptionMonitor', (e) => { console.log(JSON.stringify({ message: e.message, code: e.code, name: e.name })); process.exit(0) }); Promise.reject('quota exceeded')`
    const raised = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { message: string; code: string; name: string }
    const wrapper = Object.assign(new Error(raised.message), { code: raised.code, name: raised.name })
    expect(describeRejection(wrapper)).toEqual({ message: 'Unhandled promise rejection: quota exceeded' })
  })
})

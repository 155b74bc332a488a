import { describe, expect, it } from 'vitest'

/** Issue 4: importing the SDK in Node (server-side rendering) must not throw or touch globals. */
describe('the SDK in Node', () => {
  it('imports every entry without touching globals, and init there is inert', async () => {
    const before = Object.getOwnPropertyNames(globalThis).sort()
    const entries = [await import('../../src/index.js'), await import('../../src/errors.js'), await import('../../src/tracing.js')]
    expect(Object.getOwnPropertyNames(globalThis).sort()).toEqual(before)
    for (const entry of entries) {
      const tacit = entry.init({ token: 'tc_x', endpoint: 'https://tacit.example' })
      expect(() => {
        tacit.addAction('a')
        tacit.addError(new Error('e'))
        tacit.addEvent('c')
        tacit.setContext({ a: 1 })
        tacit.setUser({ id: 'u' })
        tacit.setTrackingConsent('granted')
        tacit.flush()
        tacit.stop()
      }).not.toThrow()
    }
    expect(Object.getOwnPropertyNames(globalThis).sort()).toEqual(before)
  })

  it('imports the built bundles too', async () => {
    const before = Object.getOwnPropertyNames(globalThis).sort()
    const built = (await import('../../dist/index.js')) as { init: (o: object) => { addAction(name: string): void } }
    built.init({ token: 'tc_x', endpoint: 'https://tacit.example' }).addAction('a')
    expect(Object.getOwnPropertyNames(globalThis).sort()).toEqual(before)
  })
})

import type { BrowserContext } from 'playwright-core'

export interface IdleTimers {
  /** Timer callbacks that ran during the idle window. */
  count: number
  /** The same by kind and requested delay, e.g. `{"setTimeout 10000": 1, "setInterval 1000": 12}`. */
  byKind: Record<string, number>
  /** The page stayed visible: a hidden page would flush and stop timers for another reason. */
  visible: boolean
}

/**
 * Wraps the timer functions before any page script runs and counts the callbacks that run once counting
 * starts. An SDK that takes `setTimeout` at init gets the wrapped one too, so its timers are counted.
 */
function instrumentTimers(): void {
  const w = window as unknown as Record<string, unknown> & { __idleTimers: { counting: boolean; fired: Record<string, number> } }
  const state = { counting: false, fired: {} as Record<string, number> }
  w.__idleTimers = state
  for (const name of ['setTimeout', 'setInterval', 'requestAnimationFrame', 'requestIdleCallback']) {
    const original = w[name] as ((...args: unknown[]) => unknown) | undefined
    if (typeof original !== 'function') continue
    w[name] = function (this: unknown, callback: unknown, ...rest: unknown[]) {
      if (typeof callback !== 'function') return original.call(this, callback, ...rest)
      const kind = name.startsWith('set') ? `${name} ${Number(rest[0]) || 0}` : name
      return original.call(
        this,
        function (this: unknown, ...args: unknown[]) {
          if (state.counting) state.fired[kind] = (state.fired[kind] ?? 0) + 1
          return (callback as (...a: unknown[]) => unknown).apply(this, args)
        },
        ...rest,
      )
    }
  }
}

/**
 * Loads each page in its own tab at once, lets it settle, optionally calls `window.__flush()` (Tacit's
 * flush, so its queue is empty and its batch timer cleared), then counts timer callbacks for `idleSeconds`
 * of doing nothing. Tabs are loaded together because the check only counts callbacks, it does not time them.
 */
export async function countIdleTimers(
  context: BrowserContext,
  pages: Array<{ key: string; url: string; flushFirst: boolean }>,
  settleMs: number,
  idleSeconds: number,
): Promise<Map<string, IdleTimers>> {
  const tabs = await Promise.all(
    pages.map(async (spec) => {
      const page = await context.newPage()
      await page.addInitScript(instrumentTimers)
      await page.goto(spec.url, { waitUntil: 'load' })
      return { spec, page }
    }),
  )
  await tabs[0]?.page.waitForTimeout(settleMs)
  for (const { spec, page } of tabs) {
    await page.evaluate((flush) => {
      const w = window as unknown as { __flush?: () => void; __idleTimers: { counting: boolean } }
      if (flush) w.__flush?.()
      w.__idleTimers.counting = true
    }, spec.flushFirst)
  }
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000))
  const results = new Map<string, IdleTimers>()
  for (const { spec, page } of tabs) {
    const { fired, visible } = await page.evaluate(() => {
      const state = (window as unknown as { __idleTimers: { counting: boolean; fired: Record<string, number> } }).__idleTimers
      state.counting = false
      return { fired: state.fired, visible: document.visibilityState === 'visible' }
    })
    results.set(spec.key, { count: Object.values(fired).reduce((a, b) => a + b, 0), byKind: fired, visible })
    await page.close()
  }
  return results
}

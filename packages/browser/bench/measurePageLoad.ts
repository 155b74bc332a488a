import type { BrowserContext } from 'playwright-core'
import { UNCAUGHT } from './startPageServer.js'

export interface PageMetrics {
  /** CDP `ScriptDuration`: time the page's main thread spent running JavaScript (compile + run), ms. */
  scriptMs: number
  /** CDP `TaskDuration`: all main-thread task time (script, style, layout, paint, parsing…), ms. */
  taskMs: number
  /** CDP `JSHeapUsedSize` after a forced GC, MiB. */
  heapMb: number
  /** Whether the SDK's entry ran (it defines `window.__report`). */
  sdkReady: boolean
  /** Uncaught errors other than the page's own one: an SDK that throws makes the load not count. */
  unexpectedErrors: string[]
}

/**
 * Loads `url` in a new tab and reads Chromium's own main-thread counters for it. `Performance.enable`
 * comes before the navigation, so the counters cover the whole load; after `load` the page settles
 * (`settleMs`: late observers, web-vitals callbacks, first batches), then a full GC, so the heap figure is
 * what stays alive, not garbage not yet collected. The tab is closed afterwards: its renderer process and
 * heap are not shared with the next load.
 */
export async function measurePageLoad(context: BrowserContext, url: string, settleMs: number): Promise<PageMetrics> {
  const page = await context.newPage()
  const unexpectedErrors: string[] = []
  page.on('pageerror', (error) => {
    if (!error.message.includes(UNCAUGHT)) unexpectedErrors.push(error.message)
  })
  try {
    const cdp = await context.newCDPSession(page)
    await cdp.send('Performance.enable', { timeDomain: 'timeTicks' })
    await page.goto(url, { waitUntil: 'load' })
    await page.waitForTimeout(settleMs)
    await cdp.send('HeapProfiler.collectGarbage')
    const { metrics } = await cdp.send('Performance.getMetrics')
    const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN
    const sdkReady = await page.evaluate(() => typeof (window as unknown as { __report?: unknown }).__report === 'function')
    return {
      scriptMs: metric('ScriptDuration') * 1000,
      taskMs: metric('TaskDuration') * 1000,
      heapMb: metric('JSHeapUsedSize') / 2 ** 20,
      sdkReady,
      unexpectedErrors,
    }
  } finally {
    await page.close()
  }
}

import type { Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { launchChromium, type TestBrowser } from './launchChromium.js'
import { startTacitForBrowser, type TacitForBrowser } from './startTacitForBrowser.js'
import { startTestSite, type TestSite } from './startTestSite.js'

export interface BrowserSuite {
  site: TestSite
  tacit: TacitForBrowser
  browser: TestBrowser
  /** Opens a page of the test site in a new tab and waits until the SDK has started (`window.tacit`). */
  open(path: string): Promise<Page>
  /**
   * Leaves the page by navigating the tab to another page, as a visitor does: the page is hidden, so the
   * SDK reports its final values and sends its last beacon. (Closing a tab can lose those beacons.)
   */
  leave(page: Page): Promise<void>
}

/**
 * One Tacit server, one test site and one Chromium for a whole test file (starting them costs a few
 * seconds; the tests tell their data apart by the page paths they use).
 */
export function useBrowserSuite(): BrowserSuite {
  const suite = {} as BrowserSuite
  beforeAll(async () => {
    suite.site = await startTestSite()
    const [tacit, browser] = await Promise.all([startTacitForBrowser({ origins: [suite.site.origin] }), launchChromium()])
    suite.tacit = tacit
    suite.browser = browser
  })
  afterAll(async () => {
    await suite.browser?.close()
    await suite.tacit?.stop()
    await suite.site?.close()
  })
  suite.open = async (path) => {
    const page = await suite.browser.newPage()
    await page.goto(suite.site.url(path))
    await page.waitForFunction(() => 'tacit' in window)
    return page
  }
  suite.leave = async (page) => {
    await page.goto(suite.site.url('/blank'))
    await page.close()
  }
  return suite
}

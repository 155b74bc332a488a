import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { makeTempDir } from '../../../server/test/support/tacitProcess.js'
import { CHROMIUM } from './ensureChromium.js'

/**
 * A regular desktop Chrome User-Agent. Headless Chromium announces itself as HeadlessChrome, which Tacit
 * drops as a bot (DESIGN.md P8): the tests' own traffic must look like a visitor's to be stored.
 */
export const REGULAR_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36'

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface TestBrowser {
  context: BrowserContext
  /** A new tab; uncaught page errors are expected in these tests and only collected, never thrown. */
  newPage(): Promise<Page>
  close(): Promise<void>
}

/**
 * Debian's Chromium, headless, with a fresh profile (a persistent context in a new temporary directory, so
 * nothing a previous run stored can hide or fake a cookie or storage entry). `headlessUserAgent` keeps the
 * real HeadlessChrome User-Agent, for the bot test.
 */
export async function launchChromium(options: { headlessUserAgent?: boolean } = {}): Promise<TestBrowser> {
  const profile = makeTempDir('tacit-chromium-')
  const userAgent = options.headlessUserAgent ? undefined : REGULAR_USER_AGENT
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile.path, {
      executablePath: CHROMIUM,
      headless: true,
      // The flag as well as the option: the flag also covers requests the browser makes outside a page's
      // emulation, such as beacons sent while the page unloads.
      args: userAgent ? [...ARGS, `--user-agent=${userAgent}`] : ARGS,
      ...(userAgent ? { userAgent } : {}),
    })
  } catch (error) {
    profile.remove()
    throw error
  }
  // Fail a step within the test's own timeout, naming the step, rather than the whole test timing out.
  context.setDefaultTimeout(5000)
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close()
      profile.remove()
    },
  }
}

import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import axe from 'axe-core'
import type { Page } from 'playwright-core'
import type { TestBrowser } from '../../../browser/test/support/launchChromium.js'

/** Screenshots are test artifacts (gitignored), kept for a person to look at. */
export const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../../../test-results/dashboard')

export interface WatchedPage {
  page: Page
  /** Messages of every alert/confirm/prompt the page opened (each one is dismissed). */
  dialogs: string[]
  /** Uncaught exceptions and console errors, except failed loads the tests expect (404 of unbuilt APIs, a 401 before sign-in). */
  errors: string[]
  /** CSP violations the page reported. */
  cspViolations(): Promise<string[]>
}

// Recorded before any page script runs; Playwright injects it through the DevTools protocol, outside the page's CSP.
const RECORD_CSP_VIOLATIONS = `
  globalThis.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => globalThis.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
`

export async function openWatchedPage(browser: TestBrowser): Promise<WatchedPage> {
  const page = await browser.newPage()
  const dialogs: string[] = []
  const errors: string[] = []
  await page.addInitScript(RECORD_CSP_VIOLATIONS)
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() !== 'error') return
    const text = message.text()
    if (/^Failed to load resource: the server responded with a status of (401|404)/.test(text)) return
    errors.push(`console: ${text}`)
  })
  return {
    page,
    dialogs,
    errors,
    cspViolations: () => page.evaluate('globalThis.__cspViolations ?? []') as Promise<string[]>,
  }
}

export async function signIn(page: Page, url: string, email: string, password: string): Promise<void> {
  await page.goto(`${url}/login`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${url}/`)
}

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: number
}

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol: an injected <script> tag would be, rightly,
 * blocked by the dashboard's CSP) and returns the serious and critical violations.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axe.source)
  const violations = (await page.evaluate(`
    globalThis.axe.run(document, { resultTypes: ['violations'] }).then((results) =>
      results.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length })))
  `)) as AxeViolation[]
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: resolve(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
}

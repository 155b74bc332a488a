import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, type TestBrowser } from '../../../browser/test/support/launchChromium.js'
import { openWatchedPage, screenshot, seriousAxeViolations, signIn, type WatchedPage } from '../support/dashboardPage.js'
import { startDashboardServer, type DashboardServer } from '../support/dashboardServer.js'

/**
 * The dashboard in Chromium against a real server process: first-run setup, sign-in, the overview on seeded
 * data, stored-XSS payloads, issue status changes by role, CSP and axe on every page. Screenshots go to
 * test-results/dashboard/.
 */

const OWNER = { email: 'owner@example.com', password: 'a long enough owner passphrase 42' }
// Ends up in the page only as text; if it ever ran, it would set this flag or open a dialog.
const IMG = '<img src=x onerror="globalThis.__xss=1;alert(1)">'
const SCRIPT = '<script>globalThis.__xss=2;alert(2)</script>'
const JS_URL = 'javascript:globalThis.__xss=3;alert(3)'

describe('the dashboard in Chromium', () => {
  let tacit: DashboardServer
  let browser: TestBrowser
  let watched: WatchedPage

  beforeAll(async () => {
    ;[tacit, browser] = await Promise.all([startDashboardServer(), launchChromium()])
    watched = await openWatchedPage(browser)
    // The overview's data, sent first: the server's rollups pick it up while the first tests run.
    const now = Date.now()
    await tacit.send([
      { type: 'view', ts: now - 60_000, view: { id: 'ov-1', url: 'https://shop.example/', loading_type: 'initial_load' } },
      { type: 'view', ts: now - 50_000, view: { id: 'ov-2', url: 'https://shop.example/cart', loading_type: 'route_change' } },
      { type: 'view', ts: now - 40_000, view: { id: 'ov-3', url: 'https://shop.example/cart', loading_type: 'route_change' } },
      { type: 'action', ts: now - 45_000, view: { id: 'ov-2', url: 'https://shop.example/cart' }, action: { type: 'click', name: 'Buy' } },
    ])
  })
  afterAll(async () => {
    await browser?.close()
    await tacit?.stop()
  })

  /** Nothing ran that should not have, and the page broke no CSP rule. */
  async function expectInert(page = watched) {
    expect(page.dialogs).toEqual([])
    expect(page.errors).toEqual([])
    expect(await page.cspViolations()).toEqual([])
    expect(await page.page.evaluate('globalThis.__xss')).toBeUndefined()
  }

  async function expectAccessible(page = watched) {
    expect(await seriousAxeViolations(page.page)).toEqual([])
  }

  it('loads at / and, before any account exists, says how to set up', async () => {
    const { page } = watched
    await page.goto(tacit.url)
    await page.getByRole('heading', { name: 'Welcome to Tacit' }).waitFor()
    await screenshot(page, 'welcome')
    await expectAccessible()
    await expectInert()
  })

  it('first-run setup creates the owner from the link’s fragment, then sign-out and sign-in work', async () => {
    const { page } = watched
    await page.goto(`${tacit.url}/setup#${tacit.setupToken}`)
    await page.getByRole('heading', { name: 'Create the first owner' }).waitFor()
    // The token left the address bar as soon as it was read.
    expect(page.url()).toBe(`${tacit.url}/setup`)
    await page.getByLabel('Email').fill(OWNER.email)
    await page.getByLabel('Password').fill(OWNER.password)
    await screenshot(page, 'setup')
    await expectAccessible()
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('heading', { name: 'Your apps' }).waitFor()
    await page.getByRole('link', { name: 'shop' }).waitFor()
    await screenshot(page, 'apps')
    await expectAccessible()

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${tacit.url}/login`)
    await page.getByLabel('Email').fill(OWNER.email)
    await page.getByLabel('Password').fill('not the password at all')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').waitFor()
    await screenshot(page, 'login-refused')
    await expectAccessible()
    await signIn(page, tacit.url, OWNER.email, OWNER.password)
    await page.getByRole('link', { name: 'shop' }).waitFor()
    await expectInert()
  })

  it('shows the overview of seeded data with the API’s numbers, and a clicked page filters every panel', async () => {
    const { page } = watched
    let overviewApi = await tacit.apiGet<{ totals: { views: number; sessions: number } }>('/apps/shop/overview')
    if (overviewApi.status === 200) {
      // The server rebuilds its rollups every few seconds (analytics/startRollupJob.ts): wait until they hold the seed.
      await expect
        .poll(async () => (overviewApi = await tacit.apiGet<{ totals: { views: number; sessions: number } }>('/apps/shop/overview')).body.totals.views, { timeout: 20_000, interval: 500 })
        .toBe(3)
    }
    await page.goto(`${tacit.url}/apps/shop/overview`)
    if (overviewApi.status === 404) {
      // The analytics API is not built on this server: the page says so and shows no numbers.
      await page.getByText('The overview: not available on this server yet').waitFor()
      await screenshot(page, 'overview-unavailable')
      await expectAccessible()
      await expectInert()
      return
    }
    expect(overviewApi.status).toBe(200)
    const views = page.locator('.kpi', { hasText: /^Views/ }).locator('dd')
    await expect.poll(() => views.textContent()).toBe('3')
    await page.getByText('IP geolocation by DB-IP').waitFor()
    await screenshot(page, 'overview')
    await expectAccessible()

    const filtered = page.waitForResponse((response) => response.url().includes('/overview?') && response.url().includes('page=%2Fcart'))
    await page.getByRole('region', { name: 'Pages', exact: true }).getByRole('button', { name: '/cart' }).click()
    expect((await filtered).status()).toBe(200)
    await page.getByRole('list', { name: 'Active filters' }).getByText('Page: /cart').waitFor()
    expect(new URL(page.url()).searchParams.get('page')).toBe('/cart')
    const cartApi = await tacit.apiGet<{ totals: { views: number } }>('/apps/shop/overview?page=%2Fcart')
    await expect.poll(() => views.textContent()).toBe(String(cartApi.body.totals.views))
    await screenshot(page, 'overview-filtered')
    await expectInert()
  })

  it('keeps XSS payloads in titles, messages, URLs and action names inert on every page', async () => {
    const now = Date.now()
    await tacit.send([
      { type: 'view', ts: now - 30_000, view: { id: 'x-1', url: JS_URL, loading_type: 'initial_load' } },
      { type: 'action', ts: now - 29_000, view: { id: 'x-1', url: JS_URL }, action: { type: 'click', name: SCRIPT } },
      {
        type: 'error',
        ts: now - 28_000,
        view: { id: 'x-1', url: JS_URL },
        error: { message: IMG, type: 'TypeError', stack: `TypeError: ${IMG}\n    at ${SCRIPT} (${JS_URL}:1:2)\n    at total (https://shop.example/app.js:1:4821)`, handled: false },
        context: { note: IMG, link: JS_URL },
        release: '<b>1.0</b>',
        env: SCRIPT,
      },
    ])
    const { page } = watched
    await page.goto(`${tacit.url}/apps/shop/issues`)
    const title = page.getByRole('link', { name: /TypeError: <img src=x/ })
    await title.waitFor()
    await screenshot(page, 'issues')
    await expectAccessible()
    await title.click()
    await page.getByRole('heading', { name: /TypeError: <img src=x/ }).waitFor()
    await page.getByRole('cell', { name: JS_URL }).first().waitFor()
    await screenshot(page, 'issue')
    await expectAccessible()

    const checkLinks = async () => {
      const hrefs = (await page.evaluate('[...document.querySelectorAll("a[href]")].map((a) => a.href)')) as string[]
      for (const href of hrefs) expect(new URL(href).protocol, href).toMatch(/^https?:$/)
      expect(await page.locator('img').count()).toBe(0)
      expect(await page.locator('#root script, #root b').count()).toBe(0)
    }
    await checkLinks()
    await expectInert()

    // The session the error came from, and the explorer listing the raw events.
    if ((await tacit.apiGet('/apps/shop/sessions')).status !== 404) {
      await page.locator('a[href*="/sessions/"]').first().click()
      await page.getByRole('heading', { name: 'Session timeline' }).waitFor()
      await page.locator('.timeline').waitFor()
      await page.getByText(SCRIPT).first().waitFor()
      await screenshot(page, 'session')
      await checkLinks()
      await expectAccessible()
    }
    await page.goto(`${tacit.url}/apps/shop/explore?type=error`)
    await page.locator('.event-list, [role=alert], .notice-empty').first().waitFor()
    await screenshot(page, 'explore')
    await checkLinks()
    await expectAccessible()
    await expectInert()
  })

  it('lets the owner resolve and reopen an issue, and shows a viewer no status buttons', async () => {
    const { page } = watched
    await page.goto(`${tacit.url}/apps/shop/issues?status=all`)
    await page.getByRole('link', { name: /TypeError: <img src=x/ }).click()
    // Exact breakdowns of the issue's events: per day, and the browser the seeded events came from.
    await page.getByText('Events per day (last 30 days, UTC)').waitFor()
    expect(await page.locator('section.panel', { has: page.getByRole('heading', { name: 'Browsers' }) }).getByRole('cell', { name: 'Chrome' }).count()).toBe(1)
    await page.getByRole('button', { name: 'Resolve' }).click()
    await page.locator('.badge-resolved').waitFor()
    const issues = await tacit.apiGet<{ issues: Array<{ status: string; title: string }> }>('/apps/shop/issues')
    expect(issues.body.issues.find((i) => i.title.includes('<img'))?.status).toBe('resolved')
    await page.getByRole('button', { name: 'Reopen' }).click()
    await page.locator('.badge-open').waitFor()
    await expectInert()

    const viewerPassword = await tacit.addUser('viewer@example.com', 'viewer')
    const viewer = await openWatchedPage(browser)
    await viewer.page.context().clearCookies()
    await signIn(viewer.page, tacit.url, 'viewer@example.com', viewerPassword)
    // The one-time password from `tacit user add` is replaced at once, and the new one signs in.
    const newPassword = 'the viewer chose this one 7'
    await viewer.page.getByLabel('Current password').fill(viewerPassword)
    await viewer.page.getByLabel('New password').fill(newPassword)
    await viewer.page.getByRole('button', { name: 'Change password' }).click()
    await viewer.page.getByText('Password changed.').waitFor()
    await expectAccessible(viewer)
    await viewer.page.context().clearCookies()
    await signIn(viewer.page, tacit.url, 'viewer@example.com', newPassword)
    await viewer.page.goto(`${tacit.url}/apps/shop/issues?status=all`)
    await viewer.page.getByRole('link', { name: /TypeError: <img src=x/ }).click()
    await viewer.page.getByRole('heading', { name: /TypeError/ }).waitFor()
    expect(await viewer.page.getByRole('button', { name: /Resolve|Ignore|Reopen/ }).count()).toBe(0)
    await viewer.page.goto(`${tacit.url}/apps/shop/settings`)
    await viewer.page.getByText('only owners can change its settings').waitFor()
    await screenshot(viewer.page, 'settings-viewer')
    await expectAccessible(viewer)
    await expectInert(viewer)
    await viewer.page.close()
  })

  it('renders the performance, sessions and settings pages without errors or CSP violations', async () => {
    const { page } = watched
    // The viewer test signed the shared context in as the viewer: back to the owner.
    await page.context().clearCookies()
    await signIn(page, tacit.url, OWNER.email, OWNER.password)
    for (const [path, name] of [
      ['/apps/shop/performance', 'performance'],
      ['/apps/shop/sessions', 'sessions'],
      ['/apps/shop/settings', 'settings'],
    ] as const) {
      await page.goto(`${tacit.url}${path}`)
      await page.locator('main h1').waitFor()
      await page.waitForLoadState('networkidle')
      await screenshot(page, name)
      await expectAccessible()
    }
    // The overview's page filter applies to the sessions list too: the seeded visitor entered on / (and left on
    // the XSS test's javascript: URL, whose "path" shows as text).
    await page.goto(`${tacit.url}/apps/shop/sessions?page=%2F`)
    await page.getByRole('cell', { name: /^\/ → / }).first().waitFor()
    await page.goto(`${tacit.url}/apps/shop/sessions?page=%2Fcart`)
    await page.getByText('No sessions in this range.').waitFor()
    await expectInert()
  })

  it('lets an owner create an app from the app list, with its token and script tag, and ingest takes the token at once', async () => {
    const { page } = watched
    await page.goto(tacit.url)
    const form = page.getByRole('region', { name: 'Create an app' })
    await form.getByLabel('App name').fill('docs-site')
    await form.getByLabel('Allowed origins (optional)').fill('https://docs.example.com')
    await form.getByRole('button', { name: 'Create' }).click()
    const created = form.getByRole('status')
    await created.getByRole('link', { name: 'docs-site' }).waitFor()
    const token = (await created.locator('p code').textContent()) ?? ''
    expect(token).toMatch(/^tc_/)
    expect(await created.locator('pre').textContent()).toBe(`<script src="${tacit.url}/sdk/tacit.js" data-token="${token}" data-endpoint="${tacit.url}" defer></script>`)
    await page.locator('.app-list').getByRole('link', { name: 'docs-site' }).waitFor()
    await screenshot(page, 'app-created')
    await expectAccessible()
    // A taken name is refused with the server's sentence, and nothing else changes.
    await form.getByLabel('App name').fill('docs-site')
    await form.getByRole('button', { name: 'Create' }).click()
    await form.getByRole('alert').getByText('An app named "docs-site" already exists.').waitFor()
    watched.errors.splice(0, watched.errors.length, ...watched.errors.filter((e) => !e.includes('status of 409')))
    // The new app's token works, from the allowed origin only.
    const event = [{ type: 'view', view: { id: 'docs-1', url: 'https://docs.example.com/' } }]
    expect((await tacit.ingestWith(token, event, { origin: 'https://docs.example.com' })).body.accepted).toBe(1)
    expect((await tacit.ingestWith(token, event, { origin: 'https://elsewhere.example' })).status).toBe(403)
    await expectInert()
  })

  it('has a dark theme that keeps its contrast (axe checks colour contrast)', async () => {
    const { page } = watched
    await page.emulateMedia({ colorScheme: 'dark' })
    try {
      for (const [path, name] of [
        ['/apps/shop/issues?status=all', 'issues-dark'],
        ['/apps/shop/overview', 'overview-dark'],
        ['/apps/shop/settings', 'settings-dark'],
      ] as const) {
        await page.goto(`${tacit.url}${path}`)
        await page.locator('main h1').waitFor()
        await page.waitForLoadState('networkidle')
        expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(15, 18, 22)')
        await screenshot(page, name)
        await expectAccessible()
      }
      await expectInert()
    } finally {
      await page.emulateMedia({ colorScheme: 'light' })
    }
  })

  it('lets the owner change a setting, revoke a client token and delete all data, each taking effect on ingest and the views', async () => {
    const { page } = watched
    const view = (id: string, path: string) => ({ type: 'view', view: { id, url: `https://shop.example${path}`, loading_type: 'initial_load' } })
    await page.goto(`${tacit.url}/apps/shop/settings`)
    const blockPaths = page.getByLabel('block_paths')
    await blockPaths.waitFor()
    await blockPaths.fill('/blocked/*')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByText('Saved.').waitFor()
    // Settings reach the ingest pipeline within a second: keep sending until the path is dropped.
    await expect
      .poll(async () => (await tacit.ingestWith(tacit.token, [view('blocked-1', '/blocked/page')])).body.accepted, { timeout: 10_000, interval: 250 })
      .toBe(0)
    expect((await tacit.ingestWith(tacit.token, [view('open-1', '/open')])).body.accepted).toBe(1)

    const tokens = page.getByRole('region', { name: 'Client tokens' })
    // Issue 9: the token ready for Sentry's SDKs (the DSN's project is the app's id) and Datadog's.
    const dsn = await tokens.getByLabel('Sentry DSN').textContent()
    expect(dsn).toMatch(new RegExp(`^http://tc_[A-Za-z0-9]{32}@${new URL(tacit.url).host.replace(/\./g, '\\.')}/\\d+$`))
    expect(await tokens.getByLabel('Datadog SDK options').textContent()).toContain(`proxy: '${tacit.url}/api/compat/datadog'`)
    await tokens.getByRole('button', { name: 'Create a token' }).click()
    await expect.poll(() => tokens.getByRole('row').count()).toBe(3)
    await tokens.getByRole('row').filter({ hasText: tacit.token }).getByRole('button', { name: 'Revoke' }).click()
    await expect.poll(() => tokens.getByRole('row').filter({ hasText: tacit.token }).getByRole('button', { name: 'Revoke' }).count()).toBe(0)
    await expect.poll(async () => (await tacit.ingestWith(tacit.token, [view('after-revoke', '/')])).status, { timeout: 10_000, interval: 250 }).toBe(401)
    await screenshot(page, 'settings-changed')

    const purge = page.getByRole('region', { name: 'Delete all data' })
    const confirm = purge.getByRole('button', { name: 'Delete all data' })
    await purge.getByLabel('App name').fill('sho')
    expect(await confirm.isDisabled()).toBe(true)
    await purge.getByLabel('App name').fill('shop')
    await confirm.click()
    await purge.getByText('All data of shop was deleted.').waitFor()
    expect((await tacit.apiGet<{ issues: unknown[] }>('/apps/shop/issues')).body.issues).toEqual([])
    await page.goto(`${tacit.url}/apps/shop/issues?status=all`)
    await page.getByText('No issues match.').waitFor()
    await expectAccessible()
    await expectInert()
  })

  it('backs off after repeated wrong passwords: the form says how long to wait, refuses even the right password meanwhile, then signs in', async () => {
    const password = await tacit.addUser('guessed@example.com', 'viewer')
    const guesser = await openWatchedPage(browser)
    const { page } = guesser
    await page.context().clearCookies()
    await page.goto(`${tacit.url}/login`)
    await page.getByLabel('Email').fill('guessed@example.com')
    /** Submits a password; returns the status of the sign-in request and the notice the form then shows. */
    const attempt = async (typed: string) => {
      await page.getByLabel('Password').fill(typed)
      const [response] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/session' && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ])
      const expected = response.status() === 429 ? /Too many failed attempts/ : /./
      await expect.poll(async () => (await page.getByRole('alert').textContent()) ?? '').toMatch(expected)
      return { status: response.status(), retryAfter: Number(response.headers()['retry-after'] ?? 0), notice: (await page.getByRole('alert').textContent()) ?? '' }
    }
    // Three free failures (accounts/createLoginThrottle.ts ACCOUNT_POLICY), then waits of 1 s, 2 s, 4 s …: an attempt
    // within the wait is refused with the wait stated. Honour each wait until five failures have counted.
    let failures = 0
    while (failures < 5) {
      const result = await attempt(`wrong guess ${failures}`)
      if (result.status === 401) {
        failures++
        continue
      }
      expect(result).toMatchObject({ status: 429, notice: expect.stringMatching(/Too many failed attempts: wait \d+ seconds?/) })
      await new Promise((resolve) => setTimeout(resolve, result.retryAfter * 1000))
    }
    // Now a 4-second wait: even the right password is refused during it.
    expect(await attempt(password)).toMatchObject({ status: 429, notice: expect.stringMatching(/Too many failed attempts: wait [1-4] seconds?/) })
    await screenshot(page, 'login-throttled')
    await expectAccessible(guesser)
    // Once the wait is over, the right password signs in (the 15-minute lock at 10 failures is tested with a fake
    // clock in packages/server/test/accounts/accountApi.test.ts: in a browser it would take minutes of backoff).
    await expect
      .poll(
        async () => {
          await page.getByLabel('Password').fill(password)
          await page.getByRole('button', { name: 'Sign in' }).click()
          await Promise.race([page.waitForURL(`${tacit.url}/`, { timeout: 1500 }), page.getByRole('alert').waitFor({ timeout: 1500 })]).catch(() => undefined)
          return new URL(page.url()).pathname
        },
        { timeout: 15_000, interval: 1100 },
      )
      .toBe('/')
    // Chromium logs each refused sign-in request to the console; those are expected, anything else is not.
    expect(guesser.errors.filter((e) => !/Failed to load resource: the server responded with a status of (401|429)/.test(e))).toEqual([])
    guesser.errors.length = 0
    await expectInert(guesser)
    await page.close()
  })
})

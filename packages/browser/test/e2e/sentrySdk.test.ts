import { build } from 'esbuild'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, runTacit } from '../../../server/test/support/tacitProcess.js'
import { type StoredEvent } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

/**
 * Issue 9: the unmodified Sentry SDKs, pointed at Tacit with a DSN made of a Tacit client token and the app's
 * id: `@sentry/browser` in Chromium (bundled from npm as a site's build would) and `@sentry/node` in a child
 * process. Errors arrive as Tacit error events, grouped into issues, without the request headers, cookies or
 * IP address Sentry's events carry.
 */
const ROOT = resolve(import.meta.dirname, '../../../..')
const EMAIL = 'greta.lindqvist@example.org'

let sentryBundle = ''
beforeAll(async () => {
  const bundle = await build({
    stdin: { contents: "import * as Sentry from '@sentry/browser'; window.Sentry = Sentry", resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'iife',
    write: false,
    target: 'es2020',
  })
  sentryBundle = bundle.outputFiles[0]!.text
})

describe('the Sentry SDKs, unmodified, into Tacit', () => {
  const suite = useBrowserSuite()

  async function dsnOf(): Promise<{ dsn: string; appId: number }> {
    const shown = await runTacit(['app', 'show', suite.tacit.app, '--json'], { dataDir: suite.tacit.dataDir })
    const appId = (JSON.parse(shown.stdout) as { id: number }).id
    const host = new URL(suite.tacit.url).host
    return { dsn: `http://${suite.tacit.token}@${host}/${appId}`, appId }
  }

  it('@sentry/browser: uncaught and captured errors become Tacit issues, with no headers, cookies or address', async () => {
    const { site, tacit, browser } = suite
    const { dsn } = await dsnOf()
    site.serve('/sentry/sentry.js', sentryBundle, { type: 'text/javascript' })
    site.serve(
      '/sentry/app.js',
      `function applyDiscount(cart) { return cart.total * 0.9 }
document.getElementById('buy').addEventListener('click', function onBuy() { applyDiscount(undefined) })
document.getElementById('report').addEventListener('click', function onReport() {
  Sentry.captureException(new Error('Order could not be placed for ${EMAIL}', { cause: new SyntaxError('Unexpected token < in JSON') }))
})`,
      { type: 'text/javascript' },
    )
    site.serve(
      '/sentry/page',
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sentry SDK</title>
<script src="/sentry/sentry.js"></script>
<script>Sentry.init({ dsn: ${JSON.stringify(dsn)}, release: '1.2.3', environment: 'prod' }); Sentry.setUser({ id: 'user-42', email: '${EMAIL}', ip_address: '{{auto}}' }); Sentry.setTag('plan', 'pro')</script>
</head><body><button id="buy">Buy</button><button id="report">Report</button><script src="/sentry/app.js"></script></body></html>`,
    )
    const tab = await browser.newPage()
    tab.on('pageerror', () => undefined)
    await tab.goto(site.url('/sentry/page'))
    await tab.waitForFunction(() => 'Sentry' in window)
    await tab.click('#buy')
    await tab.click('#report')
    await tab.waitForTimeout(500)
    await tab.goto(site.url('/blank'))
    await tab.close()

    const onPage = (events: StoredEvent[]) => events.filter((event) => event.type === 'error' && event.view?.url === site.url('/sentry/page'))
    const events = onPage(await tacit.waitForEvents('the two Sentry errors', (all) => onPage(all).length >= 2))
    const uncaught = events.find((event) => event.error!.type === 'TypeError')!
    expect(uncaught).toMatchObject({ release: '1.2.3', env: 'prod', device: { type: 'desktop', browser: 'Chrome' } })
    expect(uncaught.error).toMatchObject({ handled: false, source: 'source' })
    expect(uncaught.error!.stack).toMatch(/^TypeError: .*\n {4}at applyDiscount \(/)
    const captured = events.find((event) => event.error!.message.startsWith('Order could not be placed'))!
    expect(captured.error).toMatchObject({ type: 'Error', handled: true, message: 'Order could not be placed for [email]' })
    expect(captured.session?.id).toMatch(/^[0-9a-f-]{36}$/)
    const everything = JSON.stringify(events)
    for (const secret of [EMAIL, 'user-42', 'Mozilla/5.0', '{{auto}}']) expect(everything).not.toContain(secret)

    const issues = await runTacit(['issues', tacit.app, '--json'], { dataDir: tacit.dataDir })
    const titles = (JSON.parse(issues.stdout) as Array<{ title: string; culprit?: string }>).map((issue) => `${issue.title} | ${issue.culprit ?? ''}`)
    expect(titles).toEqual(expect.arrayContaining([expect.stringMatching(/^TypeError: .*\| applyDiscount \(app\.js\)$/), expect.stringMatching(/^Error: Order could not be placed/)]))
    // Its sessions and client reports are accepted and counted, not stored.
    const stats = await tacit.todayStats()
    expect(stats.dropped.unsupported ?? 0).toBeGreaterThan(0)
  })

  it('@sentry/node: a captured exception in a child process, without the request\'s User-Agent or address', async () => {
    const { tacit } = suite
    const { dsn } = await dsnOf()
    const dir = makeTempDir('tacit-sentry-node-')
    try {
      const script = join(dir.path, 'service.mjs')
      writeFileSync(
        script,
        `import { createRequire } from 'node:module'
const require = createRequire(${JSON.stringify(join(ROOT, 'package.json'))})
const Sentry = require('@sentry/node')
Sentry.init({ dsn: ${JSON.stringify(dsn)}, release: 'api-2.0.0', environment: 'prod' })
Sentry.setUser({ id: 'user-7', ip_address: '203.0.113.77' })
function loadConfig() { throw new Error('Config could not be loaded for ${EMAIL}') }
try { loadConfig() } catch (error) { Sentry.captureException(error) }
await Sentry.flush(5000)
`,
      )
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
      const code = await new Promise<number | null>((done) => child.once('exit', done))
      expect(code, output).toBe(0)
    } finally {
      dir.remove()
    }
    const events = await tacit.waitForEvents('the Node error', (all) => all.some((event) => event.release === 'api-2.0.0'))
    const error = events.find((event) => event.release === 'api-2.0.0')!
    expect(error.error).toMatchObject({ type: 'Error', message: 'Config could not be loaded for [email]' })
    expect(error.error!.stack).toMatch(/\n {4}at loadConfig \(/)
    // A server SDK's events get no session and no device names (its User-Agent names no browser).
    expect(error.session).toBeUndefined()
    expect(JSON.stringify(error)).not.toContain('203.0.113.77')
  })
})

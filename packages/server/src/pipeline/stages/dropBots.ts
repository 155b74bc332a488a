import { isbot } from 'isbot'
import type { RequestContext, Stage } from '../runPipeline.js'

/**
 * DESIGN.md P8: bots are dropped by default. The test is for browser traffic: a request whose User-Agent
 * claims to be a browser is a bot when `isbot` says so (crawlers announce themselves inside a Mozilla UA)
 * or when it shows the marks of a headless or automated browser. A client that does not claim to be a
 * browser at all — curl from the README, Node's fetch (`node`, `undici`), `@tacit/node`, other server SDKs
 * and HTTP libraries — is a server-side sender, kept, unless it names itself a crawler (`Twitterbot/1.0`).
 * `isbot` alone would drop all of those (it flags every non-browser client).
 */
export type UserAgentKind = 'browser' | 'server' | 'bot'

const HEADLESS = /HeadlessChrome|PhantomJS|Puppeteer|Playwright|Lighthouse|Selenium|WebDriver|Cypress|SlimerJS|HtmlUnit|Electron\/\S+ .*Headless/i
const CLAIMS_BROWSER = /^Mozilla\/|^Opera\/|AppleWebKit\/|Gecko\/|Trident\//
const NAMES_CRAWLER = /bot\b|bot[/_-]|crawl|spider|slurp|scrap|facebookexternalhit|archiver|preview|headless/i

export function classifyUserAgent(userAgent: string | undefined): UserAgentKind {
  // A browser always sends a User-Agent; a missing one comes from a script or a server-side sender.
  if (!userAgent || userAgent.trim() === '') return 'server'
  if (HEADLESS.test(userAgent)) return 'bot'
  if (CLAIMS_BROWSER.test(userAgent)) return isbot(userAgent) ? 'bot' : 'browser'
  return NAMES_CRAWLER.test(userAgent) ? 'bot' : 'server'
}

/**
 * Decided once per request (kept on `request.derived.bot`, in memory). When the app keeps bots, their
 * events are stored marked `bot: true` so they can be filtered out of charts.
 */
// isbot's pattern is long: remember verdicts per User-Agent in memory (bounded, never persisted), as
// parseUserAgent does. A handful of UAs make up most traffic.
const verdicts = new Map<string, UserAgentKind>()
const MAX_VERDICTS = 2000

/** The kind of client a User-Agent names, remembered per UA (undefined: no User-Agent at all). */
export function userAgentKind(userAgent: string | undefined): UserAgentKind {
  if (userAgent === undefined) return 'server'
  let verdict = verdicts.get(userAgent)
  if (verdict === undefined) {
    verdict = classifyUserAgent(userAgent)
    if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value as string)
    verdicts.set(userAgent, verdict)
  }
  return verdict
}

/** The kind of client behind a request: as its relay classified it, or from its own User-Agent. */
export function clientKind(request: RequestContext): UserAgentKind {
  return request.relay ? request.relay.client : userAgentKind(request.userAgent)
}

export const dropBots: Stage = {
  name: 'dropBots',
  run(event, request) {
    request.derived.bot ??= clientKind(request) === 'bot'
    if (!request.derived.bot) return undefined
    if (!request.settings.privacy.keepBots) return 'bot'
    event.bot = true
    return undefined
  },
}

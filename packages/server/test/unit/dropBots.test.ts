import { describe, expect, it } from 'vitest'
import { classifyUserAgent, dropBots } from '../../src/pipeline/stages/dropBots.js'
import { CHROME_UA, fakeRequest, fakeView } from './fakeRequest.js'

const BROWSERS = [
  CHROME_UA,
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0',
]

const BOTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1',
  'Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Puppeteer',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Playwright/1.40',
  'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
  'Twitterbot/1.0',
  'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
  'Screaming Frog SEO Spider/19.4',
]

const SERVER_SENDERS = [
  'curl/8.5.0',
  'node',
  'undici',
  'tacit-node/0.1.0',
  '@tacit/node/0.1.0 (node 20.11.0)',
  'python-requests/2.31.0',
  'Go-http-client/1.1',
  'okhttp/4.12.0',
  'Wget/1.21.4',
  undefined,
  '',
]

describe('classifyUserAgent', () => {
  it('passes real browsers', () => {
    for (const ua of BROWSERS) expect(classifyUserAgent(ua), ua).toBe('browser')
  })

  it('flags crawlers and headless or automated browsers', () => {
    for (const ua of BOTS) expect(classifyUserAgent(ua), ua).toBe('bot')
  })

  it('treats clients that do not claim to be a browser as server-side senders (curl, Node fetch, SDKs)', () => {
    for (const ua of SERVER_SENDERS) expect(classifyUserAgent(ua), String(ua)).toBe('server')
  })
})

describe('dropBots', () => {
  it('drops bots by default with reason bot', () => {
    const event = fakeView()
    expect(dropBots.run(event, fakeRequest({ overrides: { userAgent: BOTS[0] } }))).toBe('bot')
  })

  it('keeps browsers, curl and server SDKs unmarked', () => {
    for (const userAgent of [...BROWSERS, 'curl/8.5.0', 'tacit-node/0.1.0', undefined]) {
      const event = fakeView()
      expect(dropBots.run(event, fakeRequest({ overrides: { userAgent } }))).toBeUndefined()
      expect(event.bot).toBeUndefined()
    }
  })

  it('keeps bots marked when the app opts in', () => {
    const event = fakeView()
    expect(dropBots.run(event, fakeRequest({ settings: ['keep_bots=true'], overrides: { userAgent: BOTS[3] } }))).toBeUndefined()
    expect(event.bot).toBe(true)
  })

  it('decides once per request', () => {
    const request = fakeRequest({ overrides: { userAgent: BOTS[0] } })
    expect(dropBots.run(fakeView(), request)).toBe('bot')
    expect(request.derived.bot).toBe(true)
    request.userAgent = CHROME_UA
    expect(dropBots.run(fakeView(), request)).toBe('bot')
  })
})

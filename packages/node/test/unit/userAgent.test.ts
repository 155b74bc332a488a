import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { classifyUserAgent } from '../../../server/src/pipeline/stages/dropBots.js'
import { userAgent } from '../../src/init.js'
import { unhandledRejectionsMode } from '../../src/trackProcessErrors.js'
import { VERSION } from '../../src/version.js'

describe('userAgent', () => {
  it('names the SDK, the runtime and the OS family, and nothing else about the host', () => {
    expect(userAgent()).toBe(`tacit-node/${VERSION} node/${process.versions.node} ${process.platform}`)
  })

  it('carries the version in package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(VERSION).toBe(pkg.version)
  })

  it('is a server-side sender to the bot filter, on every OS Node runs on', () => {
    for (const platform of ['linux', 'darwin', 'win32', 'freebsd', 'openbsd', 'sunos', 'aix']) {
      expect(classifyUserAgent(`tacit-node/${VERSION} node/20.20.0 ${platform}`)).toBe('server')
    }
  })
})

describe('unhandledRejectionsMode', () => {
  it('reads the mode given on the command line, the last one winning', () => {
    expect(unhandledRejectionsMode([])).toBeUndefined()
    expect(unhandledRejectionsMode(['--unhandled-rejections=warn'])).toBe('warn')
    expect(unhandledRejectionsMode(['--unhandled-rejections', 'none', '--inspect'])).toBe('none')
    expect(unhandledRejectionsMode(['--unhandled-rejections=warn', '--unhandled-rejections=strict'])).toBe('strict')
  })
})

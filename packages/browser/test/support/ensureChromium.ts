import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export const CHROMIUM = '/usr/bin/chromium'

/**
 * Browser tests drive Debian's Chromium (nothing may download a browser at install or run time). A fresh
 * CI machine does not have it, so the test run installs it once, as the README promises.
 */
export default function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return
  console.log('Installing Chromium for the browser tests (apt-get install -y chromium)…')
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  } catch {
    // A machine that has never fetched package lists needs an update first.
    execFileSync('apt-get', ['update'], { stdio: 'inherit' })
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get finished but ${CHROMIUM} is missing`)
}

import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { freePort } from './tacitProcess.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** redis://127.0.0.1:<port> of the throwaway Redis of this test run (or TACIT_TEST_REDIS_URL). */
    redisUrl: string
  }
}

const REDIS_SERVER = '/usr/bin/redis-server'

/**
 * The Redis suites run against a real server (issue 7): TACIT_TEST_REDIS_URL when given, else a throwaway
 * `redis-server` on a free loopback port that keeps nothing on disk, started here and stopped after the run.
 * Debian's package is installed when missing, as the README promises for Chromium. A server that cannot start
 * fails the run loudly: the Redis suites never skip.
 */
export default async function startTestRedis(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TACIT_TEST_REDIS_URL
  if (given) {
    project.provide('redisUrl', given)
    return async () => {}
  }
  ensureRedisInstalled()
  // --save "" and --appendonly no: nothing of the salts and visitor keys may reach a disk (DESIGN.md P3).
  const server = await startRedisServer(await freePort(), ['--save', '', '--appendonly', 'no'])
  project.provide('redisUrl', server.url)
  return () => server.stop()
}

/** A redis-server on a loopback port, in a temp dir of its own (removed after), stopped by its PID. */
export async function startRedisServer(port: number, args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-redis-'))
  const server = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  server.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))
  const deadline = Date.now() + 10_000
  while (!output.includes('Ready to accept connections')) {
    if (server.exitCode !== null || Date.now() > deadline) {
      server.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`redis-server did not start on port ${port} (run \`apt-get install -y redis-server\` if it is missing):\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      server.kill('SIGKILL')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export function ensureRedisInstalled(): void {
  if (existsSync(REDIS_SERVER)) return
  console.log('Installing Redis for the Redis suites (apt-get install -y redis-server)…')
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  try {
    install()
  } catch {
    // A machine that has never fetched package lists needs an update first.
    execFileSync('apt-get', ['update'], { stdio: 'inherit' })
    install()
  }
  if (!existsSync(REDIS_SERVER)) throw new Error(`apt-get finished but ${REDIS_SERVER} is missing`)
}

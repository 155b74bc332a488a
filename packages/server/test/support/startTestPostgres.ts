import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { freePort } from './tacitProcess.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * postgres://…/postgres of the throwaway PostgreSQL of this test run (or TACIT_TEST_DATABASE_URL): a superuser
     * connection; each test creates a database of its own (test/support/tempPostgresDatabase.ts).
     */
    databaseUrl: string
  }
}

export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin'

/**
 * The PostgreSQL suites run against a real server (issue 7): TACIT_TEST_DATABASE_URL when given, else a
 * throwaway PostgreSQL 15 cluster (`initdb` in a temp dir, `pg_ctl` on a free loopback port, run as the
 * `postgres` user since PostgreSQL refuses root), stopped and removed after the run. Debian's package is
 * installed when missing. A server that cannot start fails the run loudly: the PostgreSQL suites never skip.
 */
export default async function startTestPostgres(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TACIT_TEST_DATABASE_URL
  if (given) {
    project.provide('databaseUrl', given)
    return async () => {}
  }
  ensurePostgresInstalled()
  const server = await startPostgresServer(await freePort(), {
    // A test database is thrown away: durability costs time and buys nothing here.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '300',
  })
  project.provide('databaseUrl', server.url)
  return () => server.stop()
}

export interface PostgresServer {
  url: string
  dir: string
  /** Stops the server (fast shutdown) and keeps its data directory, so it can be started again. */
  pause(): Promise<void>
  resume(): Promise<void>
  /** Stops it and removes its directory (unless it was given one to keep). */
  stop(): Promise<void>
}

/**
 * A PostgreSQL cluster in a temp dir owned by `postgres`, listening on 127.0.0.1:<port> only (its socket in
 * the same dir), with trust authentication for loopback: a test server, never exposed.
 */
export async function startPostgresServer(
  port: number,
  settings: Record<string, string> = {},
  /** A directory to keep the cluster in across runs (benchmarks cache their data): reused when it holds one, never removed. */
  keepIn?: string,
): Promise<PostgresServer> {
  const dir = keepIn ?? mkdtempSync(join(tmpdir(), 'tacit-pg-'))
  mkdirSync(dir, { recursive: true })
  const data = join(dir, 'data')
  const remove = () => {
    if (!keepIn) rmSync(dir, { recursive: true, force: true })
  }
  const asPostgres = process.getuid?.() === 0
  if (asPostgres) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
    chownSync(dir, uid, gid)
  }
  chmodSync(dir, 0o700)
  const run = (command: string, args: string[]) => {
    const [file, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, command), ...args]] : [join(POSTGRES_BIN, command), args]
    return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
  }
  try {
    if (!existsSync(join(data, 'PG_VERSION'))) run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'])
  } catch (error) {
    remove()
    throw new Error(`initdb failed (run \`apt-get install -y postgresql\` if it is missing): ${describe(error)}`)
  }
  const options = [
    `-p ${port}`,
    `-c listen_addresses=127.0.0.1`,
    `-c unix_socket_directories=${dir}`,
    ...Object.entries(settings).map(([key, value]) => `-c ${key}=${value}`),
  ].join(' ')
  const start = async () => {
    try {
      run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start'])
    } catch (error) {
      throw new Error(`PostgreSQL did not start on port ${port}: ${describe(error)}`)
    }
  }
  const halt = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'])
    } catch {
      // Already stopped: nothing to do.
    }
  }
  try {
    await start()
  } catch (error) {
    remove()
    throw error
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    async pause() {
      halt()
    },
    async resume() {
      await start()
    },
    async stop() {
      halt()
      remove()
    },
  }
}

function describe(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString()
  return stderr || (error instanceof Error ? error.message : String(error))
}

export function ensurePostgresInstalled(): void {
  if (existsSync(join(POSTGRES_BIN, 'initdb'))) return
  console.log('Installing PostgreSQL for the PostgreSQL suites (apt-get install -y postgresql-15)…')
  // Debian's package would create and start a system cluster on port 5432: the tests start their own.
  mkdirSync('/etc/postgresql-common', { recursive: true })
  writeFileSync('/etc/postgresql-common/createcluster.conf', 'create_main_cluster = false\n', { flag: 'a' })
  const install = () =>
    // confold: keep the createcluster.conf written above rather than ask about it (there is nobody to ask).
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', 'postgresql-15'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
  try {
    install()
  } catch {
    // A machine that has never fetched package lists needs an update first.
    execFileSync('apt-get', ['update'], { stdio: 'inherit' })
    install()
  }
  if (!existsSync(join(POSTGRES_BIN, 'initdb'))) throw new Error(`apt-get finished but ${POSTGRES_BIN}/initdb is missing`)
}

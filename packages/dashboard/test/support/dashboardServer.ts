import { ingest, makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../../../server/test/support/tacitProcess.js'
import { REGULAR_USER_AGENT } from '../../../browser/test/support/launchChromium.js'

/**
 * A real `tacit serve` for the dashboard's browser tests, with one app ("shop"), its client token, and an
 * operator API key to check what the dashboard shows against the API itself.
 */
export interface DashboardServer {
  server: ServerProcess
  url: string
  app: string
  token: string
  apiKey: string
  /** The token of the one-time setup link the server printed (undefined when accounts are not built). */
  setupToken: string
  /** Creates a dashboard user with a role on the app and returns its one-time password. */
  addUser(email: string, role: 'owner' | 'member' | 'viewer'): Promise<string>
  /** Sends events as a regular desktop Chrome would (headless UAs are dropped as bots); throws unless stored. */
  send(events: object[]): Promise<void>
  /** Sends events with a given client token and returns the ingest answer, whatever it is. */
  ingestWith(token: string, events: object[], headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>
  /** GET under /api/v1 with the API key. */
  apiGet<T>(path: string): Promise<{ status: number; body: T }>
  stop(): Promise<void>
}

export async function startDashboardServer(): Promise<DashboardServer> {
  const dir = makeTempDir('tacit-dashboard-')
  const created = await runTacit(['app', 'create', 'shop', '--json'], { dataDir: dir.path })
  if (created.code !== 0) throw new Error(`app create failed: ${created.stderr}`)
  const token = /tc_[A-Za-z0-9]+/.exec(created.stdout)?.[0]
  const key = await runTacit(['key', 'create', '--kind', 'api'], { dataDir: dir.path })
  const apiKey = /tacit_api_[A-Za-z0-9_-]+/.exec(key.stdout)?.[0]
  if (!token || !apiKey) throw new Error(`could not create the test app or key:\n${created.stdout}\n${key.stdout}${key.stderr}`)
  const server = await startServerProcess({ dataDir: dir.path })
  const ingestWith = async (clientToken: string, events: object[], headers: Record<string, string> = {}) => {
    const body = events.map((event) => JSON.stringify(event)).join('\n')
    const answer = await ingest(server.url, clientToken, body, { 'content-type': 'text/plain', 'user-agent': REGULAR_USER_AGENT, ...headers })
    return { status: answer.status, body: answer.body }
  }
  const setupToken = /\/setup#([A-Za-z0-9_-]+)/.exec(server.output())?.[1]
  // The first start of an empty database must print the setup link: without it the browser tests cannot sign in.
  if (!setupToken) throw new Error(`The server printed no setup link:\n${server.output()}`)
  return {
    server,
    url: server.url,
    app: 'shop',
    token,
    apiKey,
    setupToken,
    async addUser(email, role) {
      const result = await runTacit(['user', 'add', email, '--role', role, '--json'], { dataDir: dir.path })
      if (result.code !== 0) throw new Error(`user add failed: ${result.stderr}`)
      return (JSON.parse(result.stdout) as { password: string }).password
    },
    async send(events) {
      const answer = await ingestWith(token, events)
      if (answer.status !== 202) throw new Error(`ingest answered ${answer.status}: ${JSON.stringify(answer.body)}`)
    },
    ingestWith,
    async apiGet<T>(path: string) {
      const response = await fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${apiKey}` } })
      return { status: response.status, body: (await response.json()) as T }
    },
    async stop() {
      await server.stop()
      dir.remove()
    },
  }
}

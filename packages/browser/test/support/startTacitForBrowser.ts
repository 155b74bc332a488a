import { makeTempDir, runTacit, startServerProcess, type ServerProcess } from '../../../server/test/support/tacitProcess.js'

/** One event as `tacit export` prints it: the wire format plus what the server adds (docs/PROTOCOL.md). */
export interface StoredEvent {
  type: string
  ts: number
  view?: {
    id: string
    url: string
    referrer?: string
    loading_type?: string
    version?: number
    time_spent?: number
    first_byte?: number
    dom_interactive?: number
    dom_content_loaded?: number
    dom_complete?: number
    load_event?: number
    action_count?: number
    error_count?: number
    resource_count?: number
    long_task_count?: number
  }
  action?: { type: string; name: string; target?: string; frustration?: string[]; duration?: number }
  error?: { message: string; type?: string; stack?: string; handled?: boolean; source?: string }
  resource?: { url: string; duration: number; type?: string; method?: string; status_code?: number; size?: number; transfer_size?: number; render_blocking?: boolean }
  long_task?: { duration: number; type?: string; blocking_duration?: number; script_url?: string; script_function?: string; invoker?: string; invoker_type?: string }
  vital?: { name: string; value: number; rating?: string; target?: string }
  report?: { type: string; body: Record<string, unknown> }
  custom?: { name: string }
  context?: Record<string, unknown>
  service?: string
  env?: string
  device?: Record<string, unknown>
  session?: { id: string }
  [key: string]: unknown
}

export interface TacitForBrowser {
  server: ServerProcess
  /** The Tacit server's base URL: the SDK's `endpoint`. */
  url: string
  dataDir: string
  app: string
  token: string
  /** Every stored event of `app` (default: the test app), through `tacit export` as an operator reads them. */
  exportEvents(app?: string): Promise<StoredEvent[]>
  /**
   * Polls the export (bounded, 20 s by default: generous for a loaded CI machine, free when the data is
   * there, and inside the 30 s test timeout) until `done` holds, and returns the events it held for. On
   * timeout it fails with `what` and a summary of what was stored, never after a fixed sleep.
   */
  waitForEvents(what: string, done: (events: StoredEvent[]) => boolean, options?: { app?: string; timeoutMs?: number }): Promise<StoredEvent[]>
  /** Today's stats of an app (`tacit stats --json`): accepted per type and dropped per reason. */
  todayStats(app?: string): Promise<{ accepted: Record<string, number>; dropped: Record<string, number> }>
  stop(): Promise<void>
}

/**
 * A real Tacit server process on a fresh data directory, with an app whose allowed origins are the test
 * site's (so the SDK's cross-origin posts are accepted and CORS answered as a site owner would set it up).
 * The server starts before the app is created, so its first start still creates the `demo` app.
 */
export async function startTacitForBrowser(options: { origins: string[]; app?: string }): Promise<TacitForBrowser> {
  const dir = makeTempDir('tacit-browser-')
  const app = options.app ?? 'site'
  let server: ServerProcess | undefined
  try {
    server = await startServerProcess({ dataDir: dir.path })
    const created = await runTacit(['app', 'create', app, ...options.origins.flatMap((origin) => ['--origin', origin]), '--json'], { dataDir: dir.path })
    if (created.code !== 0) throw new Error(`tacit app create failed: ${created.stderr}`)
    const { token } = JSON.parse(created.stdout) as { token: string }

    const exportEvents = async (name = app): Promise<StoredEvent[]> => {
      const result = await runTacit(['export', name], { dataDir: dir.path })
      if (result.code !== 0) throw new Error(`tacit export ${name} failed: ${result.stderr}`)
      return result.stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as StoredEvent)
    }
    const todayStats = async (name = app) => {
      const result = await runTacit(['stats', name, '--days', '1', '--json'], { dataDir: dir.path })
      if (result.code !== 0) throw new Error(`tacit stats ${name} failed: ${result.stderr}`)
      const { days } = JSON.parse(result.stdout) as { days: Array<{ accepted: Record<string, number>; dropped: Record<string, number> }> }
      return days.at(-1) ?? { accepted: {}, dropped: {} }
    }
    const running = server
    return {
      server: running,
      url: running.url,
      dataDir: dir.path,
      app,
      token,
      exportEvents,
      async waitForEvents(what, done, { app: name = app, timeoutMs = 20_000 } = {}) {
        const deadline = Date.now() + timeoutMs
        let events: StoredEvent[] = []
        for (;;) {
          events = await exportEvents(name)
          if (done(events)) return events
          if (Date.now() > deadline) break
          await new Promise((wake) => setTimeout(wake, 200))
        }
        // What the server counted (accepted and dropped by reason) tells a lost beacon from a refused one.
        const counted = JSON.stringify(await todayStats(name).catch((error: Error) => error.message))
        throw new Error(`Timed out after ${timeoutMs / 1000} s waiting for ${what}. Counted today: ${counted}. Stored events of "${name}":\n${summarize(events)}`)
      },
      todayStats,
      async stop() {
        await running.stop()
        dir.remove()
      },
    }
  } catch (error) {
    await server?.stop()
    dir.remove()
    throw error
  }
}

/** One line per event, enough to see in a failure what arrived instead. */
export function summarize(events: StoredEvent[]): string {
  if (events.length === 0) return '  (none)'
  return events
    .map((event) => {
      const { type, view } = event
      const detail = event[type] === undefined ? '' : JSON.stringify(event[type])
      return `  ${type} ${detail} @ ${view?.url ?? '-'} (view ${view?.id ?? '-'})`
    })
    .join('\n')
}

/** The events that belong to pages under `path` of the test site (each test uses paths of its own). */
export function onPath(events: StoredEvent[], origin: string, path: string): StoredEvent[] {
  return events.filter((event) => event.view?.url.startsWith(`${origin}${path}`))
}

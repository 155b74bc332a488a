import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DAY_MS } from '../clock.js'
import { breakdownJson, errorEventJson, readIssueJson, releaseJson, reportEventJson } from '../issues/issueJson.js'
import { ISSUE_FILTERS, ISSUE_KINDS, ISSUE_SORTS, ISSUE_STATUSES, type Issue, type IssueQuery, type IssueStatus } from '../store/issues/issue.js'
import type { StackResolver } from '../sourcemaps/createStackResolver.js'
import type { App } from '../store/Store.js'
import type { KeyAuthDeps } from './authenticateSecretKey.js'
import { authenticate, authorizeApp, type AppRole } from './authorizeRequest.js'
import { assertOnlyKeys, BadRequest, badRequest, integer, oneOf, text, type Query } from './queryParameters.js'

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 1000
const MAX_EVENTS = 100
const MAX_OFFSET = 1_000_000
/** A status change is a few bytes of JSON. */
const STATUS_BODY_LIMIT = 1024
/** The issue page's chart and tag lists: the last 30 days, the 10 most frequent values of each tag. */
const BREAKDOWN_DAYS = 30
const BREAKDOWN_TAG_VALUES = 10


/**
 * The issue routes of `/api/v1` (docs/API.md): the dashboard's future API, and operators' automation today.
 * Access is decided by http/authorizeRequest.ts: an operator API key (`tacit key create [<app>] --kind api`) acts
 * as owner of the apps it covers; reading needs the viewer role, changing an issue's status the member role. An
 * app the caller cannot see, or another app's issue id, reads as missing. Apps are named by id or name.
 * Event strings come back as JSON strings, never as HTML: responses are `application/json` with `nosniff`.
 */
export interface IssueApiDeps extends KeyAuthDeps {
  stackResolver: Pick<StackResolver, 'resolveStack'>
}

export async function issueApiRoutes(scope: FastifyInstance, deps: IssueApiDeps): Promise<void> {
  scope.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff')
  })

  scope.get('/api/v1/apps', async (request, reply) => {
    const authenticated = await authenticate(deps, request, reply)
    if ('refused' in authenticated) return authenticated.refused
    const refused = refuseUnknownParameters(request, reply, [])
    if (refused) return refused
    const apps = []
    for (const app of await deps.store.listApps()) {
      const role = await authenticated.principal.roleOn(app)
      if (role) apps.push({ id: app.id, name: app.name, created_at: new Date(app.createdAt).toISOString(), role })
    }
    return { apps }
  })

  scope.get('/api/v1/apps/:app/issues', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    const query = request.query as Query
    try {
      assertOnlyKeys(query, ['status', 'kind', 'release', 'environment', 'search', 'sort', 'limit', 'offset'])
      const limit = integer(query, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT
      const offset = integer(query, 'offset', 0, MAX_OFFSET) ?? 0
      const filter: IssueQuery = {
        appId: found.app.id,
        sort: oneOf(query, 'sort', ISSUE_SORTS) ?? 'last_seen',
        // One more than asked, to know whether there is a next page without counting.
        limit: limit + 1,
        offset,
      }
      const status = oneOf(query, 'status', ISSUE_FILTERS)
      const kind = oneOf(query, 'kind', ISSUE_KINDS)
      const release = text(query, 'release')
      const environment = text(query, 'environment')
      const search = text(query, 'search')
      if (status) filter.status = status
      if (kind) filter.kind = kind
      if (release) filter.release = release
      if (environment) filter.environment = environment
      if (search) filter.search = search
      const issues = await deps.store.listIssues(filter)
      const page = issues.slice(0, limit)
      const rows = []
      for (const issue of page) rows.push(await readIssueJson(deps.store, issue))
      return { issues: rows, next_offset: issues.length > limit ? offset + limit : null }
    } catch (error) {
      return badRequest(reply, error)
    }
  })

  scope.get('/api/v1/apps/:app/issues/:id', async (request, reply) => {
    const found = await authorizedIssue(request, reply)
    if ('refused' in found) return found.refused
    const refused = refuseUnknownParameters(request, reply, [])
    if (refused) return refused
    const { issue } = found
    const [latest] = await deps.store.readIssueEvents({ appId: issue.appId, issueId: issue.id, limit: 1 })
    const latestEvent =
      latest?.type === 'error'
        ? errorEventJson(latest, latest.error.stack ? await deps.stackResolver.resolveStack(issue.appId, latest.release, latest.error.stack) : [])
        : latest?.type === 'report'
          ? reportEventJson(latest)
          : null
    const breakdown = await deps.store.issueBreakdown(issue.id, { since: utcDayStart(deps.clock.now()) - (BREAKDOWN_DAYS - 1) * DAY_MS, tagValues: BREAKDOWN_TAG_VALUES })
    return { ...(await readIssueJson(deps.store, issue)), latest_event: latestEvent, breakdown: breakdownJson(breakdown) }
  })

  scope.get('/api/v1/apps/:app/issues/:id/events', async (request, reply) => {
    const found = await authorizedIssue(request, reply)
    if ('refused' in found) return found.refused
    try {
      const query = request.query as Query
      assertOnlyKeys(query, ['limit'])
      const limit = integer(query, 'limit', 1, MAX_EVENTS) ?? 20
      // The bounded sample: the newest events and the first one (store/issues/issue.ts, ISSUE_SAMPLE_NEWEST).
      return { events: await deps.store.readIssueEvents({ appId: found.issue.appId, issueId: found.issue.id, limit }) }
    } catch (error) {
      return badRequest(reply, error)
    }
  })

  scope.patch('/api/v1/apps/:app/issues/:id', { bodyLimit: STATUS_BODY_LIMIT }, async (request, reply) => {
    const found = await authorizedIssue(request, reply, 'member')
    if ('refused' in found) return found.refused
    let status: IssueStatus
    try {
      status = statusOf(request.body)
    } catch (error) {
      return badRequest(reply, error)
    }
    const { issue } = found
    // Resolving a resolved issue again would move its resolution time, and with it which releases count as newer.
    const changed = issue.status !== status
    if (changed && !(await deps.store.setIssueStatus(issue.id, status, deps.clock.now()))) {
      return reply.code(404).send({ error: 'not_found', message: 'The issue was deleted meanwhile (retention or a purge).' })
    }
    const after = (await deps.store.getIssue(issue.appId, issue.id)) ?? issue
    return { ...(await readIssueJson(deps.store, after)), changed }
  })

  scope.get('/api/v1/apps/:app/releases', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    const refused = refuseUnknownParameters(request, reply, [])
    if (refused) return refused
    const [summaries, health] = await Promise.all([deps.store.listReleases(found.app.id), deps.store.crashFreeSessions({ appId: found.app.id })])
    const healthByRelease = new Map(health.map((h) => [h.release, h]))
    return { releases: summaries.map((summary) => releaseJson(summary, healthByRelease.get(summary.release))) }
  })

  /** The issue in the URL, within the app, when the principal has `needed` on the app. */
  async function authorizedIssue(request: FastifyRequest, reply: FastifyReply, needed: AppRole = 'viewer'): Promise<{ app: App; issue: Issue } | { refused: FastifyReply }> {
    const found = await authorizeApp(deps, request, reply, needed)
    if ('refused' in found) return found
    const raw = (request.params as { id: string }).id
    // An issue of another app reads exactly like a missing one.
    const issue = /^\d{1,15}$/.test(raw) ? await deps.store.getIssue(found.app.id, Number(raw)) : undefined
    if (!issue) return { refused: reply.code(404).send({ error: 'not_found', message: `There is no issue ${/^\d{1,15}$/.test(raw) ? raw : 'with that id'} in this app.` }) }
    return { app: found.app, issue }
  }
}

/** The 400 reply when the query has a parameter the route does not take. */
function refuseUnknownParameters(request: FastifyRequest, reply: FastifyReply, allowed: readonly string[]): FastifyReply | undefined {
  try {
    assertOnlyKeys(request.query as Query, allowed)
    return undefined
  } catch (error) {
    return badRequest(reply, error)
  }
}







function statusOf(body: unknown): IssueStatus {
  const status = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { status?: unknown }).status : undefined
  const keys = typeof body === 'object' && body !== null ? Object.keys(body) : []
  if (typeof status !== 'string' || !(ISSUE_STATUSES as readonly string[]).includes(status) || keys.length !== 1) {
    throw new BadRequest(`Send a JSON object {"status": …} with one of ${ISSUE_STATUSES.join(', ')}.`)
  }
  return status as IssueStatus
}

function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS
}

import type { FastifyInstance } from 'fastify'
import { WIRE_TYPES } from '../protocol/wireSchema.js'
import { EXPLORE_SCAN_CAP, type AttributePath, type ExploreFilter } from '../store/ExploreStore.js'
import { authorizeApp } from './authorizeRequest.js'
import type { HttpDeps } from './createHttpServer.js'
import { parseAttribute } from './exploreAttributes.js'
import { assertOnlyKeys, BadRequest, badRequest, bucketOf, BUCKETS, isoTime, oneOf, repeated, single, timeRange, type Query } from './queryParameters.js'
import { storedEventJson } from './storedEventJson.js'

const MAX_FILTERS = 10
const MAX_VALUE = 200
const GROUP_LIMIT = 20
const EVENT_LIMIT = 50

/**
 * The explorer (issue 6, docs/API.md "Explorer"): any event type, filtered by attribute values (custom
 * `context` keys included), counted over time, grouped by one attribute, with the latest matching events.
 * Viewer role. A query reads at most EXPLORE_SCAN_CAP stored events, the newest (store/ExploreStore.ts);
 * `covered_from` says when that cut the range short.
 */
export async function exploreRoutes(scope: FastifyInstance, deps: HttpDeps): Promise<void> {
  scope.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff')
  })

  scope.get('/api/v1/apps/:app/explore', async (request, reply) => {
    const found = await authorizeApp(deps, request, reply, 'viewer')
    if ('refused' in found) return found.refused
    const query = request.query as Query
    try {
      assertOnlyKeys(query, ['type', 'from', 'to', 'where', 'group_by', 'bucket'])
      const type = oneOf(query, 'type', WIRE_TYPES)
      const { since, until } = timeRange(query, deps.clock)
      const bucket = bucketOf(query, since, until)
      const filters = parseFilters(repeated(query, 'where', MAX_FILTERS))
      const groupName = single(query, 'group_by')
      const groupBy: AttributePath | undefined = groupName === undefined ? undefined : parseAttribute('group_by', groupName)
      const result = await deps.store.explorer.explore({
        appId: found.app.id,
        ...(type && { type }),
        since,
        until,
        filters,
        ...(groupBy && { groupBy }),
        bucketMs: BUCKETS[bucket],
        groupLimit: GROUP_LIMIT,
        eventLimit: EVENT_LIMIT,
      })
      return {
        range: { from: isoTime(since), to: isoTime(until), bucket },
        total: result.total,
        series: result.series.map((point) => ({ t: isoTime(point.start), count: point.count })),
        groups: result.groups,
        events: result.events.map(storedEventJson),
        covered_from: result.coveredFrom === null ? null : isoTime(result.coveredFrom),
        scan_cap: EXPLORE_SCAN_CAP,
      }
    } catch (error) {
      return badRequest(reply, error)
    }
  })
}

/** `where=<attribute>:<value>`, repeatable: values of one attribute are alternatives, attributes all apply. */
function parseFilters(wheres: readonly string[]): ExploreFilter[] {
  const byName = new Map<string, { path: AttributePath; values: string[] }>()
  for (const where of wheres) {
    const colon = where.indexOf(':')
    if (colon <= 0) throw new BadRequest('"where" takes <attribute>:<value>, e.g. where=view.url:https://shop.example/cart or where=context.plan:pro.')
    const name = where.slice(0, colon)
    const value = where.slice(colon + 1)
    if (value === '' || value.length > MAX_VALUE) throw new BadRequest(`A "where" value takes 1 to ${MAX_VALUE} characters.`)
    const filter = byName.get(name) ?? { path: parseAttribute('where', name), values: [] }
    filter.values.push(value)
    byName.set(name, filter)
  }
  return [...byName.values()]
}

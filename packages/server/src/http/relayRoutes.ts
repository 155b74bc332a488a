import type { FastifyInstance } from 'fastify'
import type { AppRegistry } from '../apps/createAppRegistry.js'
import { authenticateSecretKey, keyCoversApp, type KeyAuthDeps } from './authenticateSecretKey.js'
import { refuse } from './createIngestEdge.js'

export interface RelayRouteDeps extends KeyAuthDeps {
  registry: AppRegistry
}

/** How long a relay may keep an answer: settings changed on the server reach relays within this. */
export const RELAY_SETTINGS_MAX_AGE_SECONDS = 60

/**
 * GET /api/v1/relay/settings (issue 8): what a `tacit relay` needs of an app's settings to apply, on its own
 * premises, the rules that depend on the visitor's address and User-Agent — and to scrub before forwarding —
 * so site owners configure one place. Authenticated with a relay key (`Authorization: Bearer`); the client token
 * in `X-Tacit-Token`, never in the query, which access logs keep. Only what the relay uses is answered.
 */
export async function relayRoutes(scope: FastifyInstance, deps: RelayRouteDeps): Promise<void> {
  scope.get('/api/v1/relay/settings', async (request, reply) => {
    const auth = await authenticateSecretKey(deps, request, reply, 'relay')
    if ('refused' in auth) return auth.refused
    const token = request.headers['x-tacit-token']
    if (typeof token !== 'string' || token === '') return refuse(reply, 400, 'missing_token', 'Send the client token in the X-Tacit-Token header.')
    const resolved = await deps.registry.resolveToken(token)
    if (!resolved) return refuse(reply, 404, 'invalid_token', 'The client token is unknown or revoked.')
    if (!keyCoversApp(auth.key, resolved.app.id)) return refuse(reply, 403, 'relay_not_for_app', 'This relay key is limited to another app.')
    const { origins, privacy, filters, scrub } = resolved.settings
    reply.header('cache-control', `private, max-age=${RELAY_SETTINGS_MAX_AGE_SECONDS}`)
    return {
      app_id: resolved.app.id,
      max_age_seconds: RELAY_SETTINGS_MAX_AGE_SECONDS,
      origins,
      geo: privacy.geo,
      allow_user_details: privacy.allowUserDetails,
      filters: { block_countries: filters.blockCountries, ip_allow: filters.ipAllow, ip_deny: filters.ipDeny },
      scrub: {
        patterns: scrub.patterns,
        sensitive_keys: scrub.sensitiveKeys,
        query_allow_list: scrub.queryAllowList,
        path_rules: scrub.pathRules,
        template_ids: scrub.templateIds,
      },
    }
  })
}

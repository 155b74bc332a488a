import type { RandomSource } from '../../randomSource.js'
import type { SyncSessionKeyStore } from '../../sessions/SessionKeyStore.js'
import { randomUuid } from '../../sessions/randomUuid.js'
import type { RequestContext, Stage } from '../runPipeline.js'

/**
 * Gives every event the server's session id (DESIGN.md P3): a random UUID v4 that encodes nothing, looked
 * up through the visitor key in the SessionKeyStore. A client-sent session id never gets this far (the edge
 * drops unknown fields), and this stage overwrites `session` regardless.
 *
 * All events of one request share app, IP, User-Agent and receive time, so the store is asked once per
 * request; the answer is remembered against the request object only (a WeakMap, gone with the request).
 */
export function createAssignSession(deps: { keys: SyncSessionKeyStore; random: RandomSource }): Stage {
  const perRequest = new WeakMap<RequestContext, string>()
  const createId = () => randomUuid(deps.random)
  return {
    name: 'assignSession',
    run(event, request) {
      let id = perRequest.get(request)
      if (id === undefined) {
        id = deps.keys.touchNow(
          {
            appId: request.appId,
            ip: request.ip,
            userAgent: request.userAgent ?? '',
            at: request.receivedAt,
            idleTimeoutMs: request.settings.privacy.sessionTimeoutMinutes * 60_000,
          },
          createId,
        )
        perRequest.set(request, id)
      }
      event.session = { id }
      return undefined
    },
  }
}

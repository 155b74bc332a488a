import type { RandomSource } from '../../randomSource.js'
import type { SessionKeyStore, SyncSessionKeyStore, Visit } from '../../sessions/SessionKeyStore.js'
import { randomUuid } from '../../sessions/randomUuid.js'
import type { Stage } from '../runPipeline.js'
import { clientKind } from './dropBots.js'

/**
 * Gives every event the server's session id (DESIGN.md P3): a random UUID v4 that encodes nothing, looked
 * up through the visitor key in the SessionKeyStore. A client-sent session id never gets this far (the edge
 * drops unknown fields), and this stage overwrites `session` regardless.
 *
 * All events of one request share app, IP, User-Agent and receive time, so the store is asked once per
 * request; the answer is kept on the request itself (`derived`), so it is gone with the request. The in-process
 * store answers at once; a shared one (Redis) with a promise, which the pipeline awaits for the request's first
 * event only (its events run one after another).
 */
export function createAssignSession(deps: { keys: SessionKeyStore | SyncSessionKeyStore; random: RandomSource }): Stage {
  const createId = () => randomUuid(deps.random)
  const { keys } = deps
  return {
    name: 'assignSession',
    run(event, request) {
      // Sessions are visits of people in browsers. A server SDK's events from one host would all share one
      // "session" and distort sessions affected and crash-free rates: they get none.
      if (clientKind(request) === 'server') return undefined
      const known = request.derived.sessionId
      if (known !== undefined) {
        event.session = { id: known }
        return undefined
      }
      const visit: Visit = {
        appId: request.appId,
        ip: request.ip,
        userAgent: request.userAgent ?? '',
        at: request.receivedAt,
        idleTimeoutMs: request.settings.privacy.sessionTimeoutMinutes * 60_000,
        ...(request.relay && { relayed: { visitor: request.relay.visitor, previous: request.relay.previous } }),
      }
      const assign = (id: string) => {
        request.derived.sessionId = id
        event.session = { id }
        return undefined
      }
      return 'touchNow' in keys ? assign(keys.touchNow(visit, createId)) : keys.touch(visit, createId).then(assign)
    },
  }
}

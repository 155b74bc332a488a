import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppRole } from '../../src/accounts/appRoles.js'
import { json, startDataApiServer, type DashboardSession, type DataApiServer } from './dataApiServer.js'

/**
 * Roles on the sessions, explorer and settings routes, with dashboard sessions (cookie + CSRF header): a
 * viewer reads sessions, the explorer, settings, drops and the inventory; only an owner changes anything or
 * reads tokens, the audit log and alert rules; a user who is not a member of the app sees it as missing.
 */

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0)

let server: DataApiServer
let shop: { appId: number; token: string }
let blog: { appId: number; token: string }
const users: Record<AppRole | 'outsider', DashboardSession> = {} as Record<AppRole | 'outsider', DashboardSession>

/** Route, the least role it needs, and a request that would succeed with it (so a refusal is the role's doing). */
const ROUTES: Array<[method: string, suffix: string, needs: AppRole, init?: () => RequestInit]> = [
  ['GET', '/sessions', 'viewer'],
  ['GET', '/sessions/11111111-1111-4111-8111-111111111111', 'viewer'],
  ['GET', '/explore', 'viewer'],
  ['GET', '/settings', 'viewer'],
  ['GET', '/drops', 'viewer'],
  ['GET', '/inventory', 'viewer'],
  ['PATCH', '/settings', 'owner', () => json('PATCH', { 'retention.view': 20 })],
  ['GET', '/tokens', 'owner'],
  ['POST', '/tokens', 'owner', () => ({ method: 'POST' })],
  ['DELETE', '/tokens/tc_nope', 'owner', () => ({ method: 'DELETE' })],
  ['POST', '/purge', 'owner', () => json('POST', { confirm: 'not-the-name' })],
  ['GET', '/audit', 'owner'],
  ['GET', '/alerts', 'owner'],
  ['POST', '/alerts', 'owner', () => json('POST', { on: 'new-issue', url: 'https://hooks.example/x' })],
  ['DELETE', '/alerts/999', 'owner', () => ({ method: 'DELETE' })],
  ['GET', '/alerts/deliveries', 'owner'],
]

const RANK: Record<AppRole, number> = { viewer: 0, member: 1, owner: 2 }

beforeAll(async () => {
  server = await startDataApiServer({ now: () => NOW })
  shop = await server.createApp('shop')
  blog = await server.createApp('blog')
  users.viewer = await server.signIn('viewer@example.com', [{ appId: shop.appId, role: 'viewer' }])
  users.member = await server.signIn('member@example.com', [{ appId: shop.appId, role: 'member' }])
  users.owner = await server.signIn('owner@example.com', [{ appId: shop.appId, role: 'owner' }])
  users.outsider = await server.signIn('outsider@example.com', [{ appId: blog.appId, role: 'owner' }])
  await server.store.writeBatches([
    {
      appId: shop.appId,
      day: '2026-11-22',
      dropped: {},
      events: [{ type: 'view', ts: NOW - 60_000, received_at: NOW - 60_000, session: { id: '11111111-1111-4111-8111-111111111111' }, view: { id: 'v1', url: 'https://shop.example/' } }],
    },
  ])
})
afterAll(async () => server?.stop())

describe('roles on the data routes', () => {
  it.each(ROUTES)('%s %s needs the %s role', async (method, suffix, needs, init = () => ({ method })) => {
    for (const role of ['viewer', 'member', 'owner'] as const) {
      const response = await server.asUser(`/api/v1/apps/shop${suffix}`, users[role], init())
      if (RANK[role] >= RANK[needs]) {
        // Allowed: whatever the route answers, it is not a refusal of the caller.
        expect([200, 201, 204, 400, 404].includes(response.status) && response.body.error !== 'forbidden', `${role}: ${response.status} ${JSON.stringify(response.body)}`).toBe(true)
        if (response.status === 404) expect(suffix, `${role} got 404`).toMatch(/\/(tokens|alerts)\/|\/sessions\//)
      } else {
        expect(response.status, role).toBe(403)
        expect(response.body).toMatchObject({ error: 'forbidden', message: expect.stringMatching(new RegExp(`needs the ${needs} role`)) })
      }
    }
    // Not a member of the shop: the app reads as missing, whatever the role elsewhere.
    const outsider = await server.asUser(`/api/v1/apps/shop${suffix}`, users.outsider, init())
    expect(outsider.status).toBe(404)
  })

  it('refuses a change without the CSRF header, even to an owner', async () => {
    const response = await server.asUser(`/api/v1/apps/shop/settings`, users.owner, json('PATCH', { geo: 'off' }), { csrf: false })
    expect(response.status).toBe(403)
    expect((await server.store.getApp(shop.appId))!.settings.privacy?.geo).toBeUndefined()
  })

  it('records the dashboard user as the actor of a change', async () => {
    const changed = await server.asUser(`/api/v1/apps/shop/settings`, users.owner, json('PATCH', { honor_gpc: true }))
    expect(changed.status).toBe(200)
    const created = await server.asUser(`/api/v1/apps/shop/tokens`, users.owner, { method: 'POST' })
    expect(created.status).toBe(201)
    const entries = (await server.asUser(`/api/v1/apps/shop/audit?limit=2`, users.owner)).body.entries as Array<{ action: string; actor: string }>
    expect(entries).toEqual([
      expect.objectContaining({ action: 'token.create', actor: `user:${users.owner.userId}` }),
      expect.objectContaining({ action: 'app.settings', actor: `user:${users.owner.userId}` }),
    ])
  })

  it('lets a viewer read what a viewer may, with the same answers as an owner', async () => {
    for (const suffix of ['/sessions', '/explore', '/settings', '/inventory', '/drops?days=2']) {
      const viewer = await server.asUser(`/api/v1/apps/shop${suffix}`, users.viewer)
      const owner = await server.asUser(`/api/v1/apps/shop${suffix}`, users.owner)
      expect(viewer.status, suffix).toBe(200)
      expect(viewer.body, suffix).toEqual(owner.body)
    }
  })
})

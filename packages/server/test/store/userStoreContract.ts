import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../src/store/Store.js'

/** The UserStore contract (store.users): every Store adapter runs it, as with storeContract.ts. */
export function describeUserStoreContract(label: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${label}: users, members, sessions, setup tokens`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let shop: number
    let blog: number
    const T0 = Date.UTC(2026, 10, 1, 12)
    const newUser = (email: string, roles: Array<{ appId: number; role: 'viewer' | 'member' | 'owner' }> = []) =>
      store.users.createUser({ email, passwordHash: `scrypt$hash-of-${email}`, createdAt: T0, roles })

    beforeEach(async () => {
      ;({ store, cleanup } = await open())
      shop = (await store.createApp({ name: 'shop', createdAt: T0, settings: {} })).id
      blog = (await store.createApp({ name: 'blog', createdAt: T0, settings: {} })).id
    })
    afterEach(() => cleanup())

    it('creates users with roles, refuses a second one with the same email in any case, finds them', async () => {
      expect(await store.users.hasUsers()).toBe(false)
      const ann = await newUser('ann@example.com', [{ appId: shop, role: 'owner' }, { appId: blog, role: 'viewer' }])
      expect(ann).toEqual({ id: expect.any(Number), email: 'ann@example.com', createdAt: T0, passwordChangedAt: T0 })
      expect(await store.users.hasUsers()).toBe(true)
      expect(await newUser('ANN@example.com')).toBeUndefined()
      expect(await store.users.findUserByEmail('Ann@Example.com')).toEqual({ ...ann, passwordHash: 'scrypt$hash-of-ann@example.com' })
      expect(await store.users.findUserByEmail('bob@example.com')).toBeUndefined()
      expect(await store.users.getUser(ann!.id)).toEqual(ann)
      expect(await store.users.getUser(ann!.id + 100)).toBeUndefined()
      expect(await store.users.rolesOf(ann!.id)).toEqual([{ appId: shop, role: 'owner' }, { appId: blog, role: 'viewer' }])
      expect(await store.users.roleOf(ann!.id, shop)).toBe('owner')
      expect(await store.users.roleOf(ann!.id, blog + 100)).toBeUndefined()
      const bob = await newUser('bob@example.com')
      expect((await store.users.listUsers()).map((u) => u.email)).toEqual(['ann@example.com', 'bob@example.com'])
      expect(await store.users.rolesOf(bob!.id)).toEqual([])
    })

    it('changes passwords', async () => {
      const ann = (await newUser('ann@example.com'))!
      expect(await store.users.setPassword(ann.id, 'scrypt$new', T0 + 5)).toBe(true)
      expect(await store.users.findUserByEmail('ann@example.com')).toMatchObject({ passwordHash: 'scrypt$new', passwordChangedAt: T0 + 5, createdAt: T0 })
      expect(await store.users.setPassword(ann.id + 100, 'scrypt$x', T0)).toBe(false)
    })

    it('adds, changes and removes members, and never leaves an app with members but no owner', async () => {
      const ann = (await newUser('ann@example.com', [{ appId: shop, role: 'owner' }]))!
      const bob = (await newUser('bob@example.com'))!
      expect(await store.users.addMember(shop, bob.id, 'viewer')).toBe('done')
      expect(await store.users.addMember(shop, bob.id, 'owner')).toBe('exists')
      expect(await store.users.addMember(shop, bob.id + 100, 'owner')).toBe('missing')
      expect(await store.users.listMembers(shop)).toEqual([
        { appId: shop, userId: ann.id, email: 'ann@example.com', role: 'owner' },
        { appId: shop, userId: bob.id, email: 'bob@example.com', role: 'viewer' },
      ])
      expect(await store.users.listMembers(blog)).toEqual([])
      expect(await store.users.setMemberRole(shop, ann.id, 'member')).toBe('last_owner')
      expect(await store.users.removeMember(shop, ann.id)).toBe('last_owner')
      expect(await store.users.setMemberRole(shop, bob.id, 'owner')).toBe('done')
      expect(await store.users.setMemberRole(shop, ann.id, 'viewer')).toBe('done')
      expect(await store.users.removeMember(shop, bob.id)).toBe('last_owner')
      expect(await store.users.removeMember(shop, ann.id)).toBe('done')
      expect(await store.users.removeMember(shop, ann.id)).toBe('missing')
      expect(await store.users.setMemberRole(blog, ann.id, 'owner')).toBe('missing')
      expect(await store.users.listMembers(shop)).toEqual([{ appId: shop, userId: bob.id, email: 'bob@example.com', role: 'owner' }])
    })

    it('keeps sessions by hash, touches them forward only, deletes them one by one, per user and when expired', async () => {
      const ann = (await newUser('ann@example.com'))!
      const bob = (await newUser('bob@example.com'))!
      await store.users.createSession({ idHash: 'h1', userId: ann.id, createdAt: T0, expiresAt: T0 + 1000 })
      await store.users.createSession({ idHash: 'h2', userId: ann.id, createdAt: T0, expiresAt: T0 + 1000 })
      await store.users.createSession({ idHash: 'h3', userId: bob.id, createdAt: T0, expiresAt: T0 + 100 })
      expect(await store.users.findSession('h1')).toEqual({ userId: ann.id, createdAt: T0, lastSeenAt: T0, expiresAt: T0 + 1000 })
      await store.users.touchSession('h1', T0 + 50)
      await store.users.touchSession('h1', T0 + 10)
      expect((await store.users.findSession('h1'))?.lastSeenAt).toBe(T0 + 50)
      // h2 idle since T0, h3 past its absolute expiry: both go; h1 was seen at T0 + 50.
      expect(await store.users.deleteExpiredSessions({ idleBefore: T0 + 20, now: T0 + 100 })).toBe(2)
      expect(await store.users.findSession('h2')).toBeUndefined()
      expect(await store.users.findSession('h3')).toBeUndefined()
      await store.users.createSession({ idHash: 'h4', userId: ann.id, createdAt: T0, expiresAt: T0 + 1000 })
      expect(await store.users.deleteUserSessions(ann.id, 'h4')).toBe(1)
      expect(await store.users.findSession('h4')).toBeDefined()
      expect(await store.users.deleteSession('h4')).toBe(true)
      expect(await store.users.deleteSession('h4')).toBe(false)
    })

    it('removes a user with their memberships and sessions', async () => {
      const ann = (await newUser('ann@example.com', [{ appId: shop, role: 'owner' }]))!
      await store.users.createSession({ idHash: 'h1', userId: ann.id, createdAt: T0, expiresAt: T0 + 1000 })
      expect(await store.users.removeUser(ann.id)).toBe(true)
      expect(await store.users.removeUser(ann.id)).toBe(false)
      expect(await store.users.findSession('h1')).toBeUndefined()
      expect(await store.users.listMembers(shop)).toEqual([])
      expect(await store.users.hasUsers()).toBe(false)
      // The email is free again.
      expect(await newUser('ann@example.com')).toBeDefined()
    })

    it('completes setup once, with an unexpired token, as owner of every app, and forgets every token', async () => {
      await store.users.createSetupToken({ hash: 'old', createdAt: T0 - 10, expiresAt: T0 })
      await store.users.createSetupToken({ hash: 'live', createdAt: T0, expiresAt: T0 + 1000 })
      await store.users.createSetupToken({ hash: 'other', createdAt: T0, expiresAt: T0 + 1000 })
      const input = { email: 'ann@example.com', passwordHash: 'scrypt$x', createdAt: T0 + 1 }
      expect(await store.users.completeSetup({ ...input, tokenHash: 'old' })).toEqual({ refused: 'invalid_token' })
      expect(await store.users.completeSetup({ ...input, tokenHash: 'nope' })).toEqual({ refused: 'invalid_token' })
      expect(await store.users.completeSetup({ ...input, tokenHash: 'live', createdAt: T0 + 1000 })).toEqual({ refused: 'invalid_token' })
      expect(await store.users.hasUsers()).toBe(false)
      const done = await store.users.completeSetup({ ...input, tokenHash: 'live' })
      expect(done).toEqual({ user: { id: expect.any(Number), email: 'ann@example.com', createdAt: T0 + 1, passwordChangedAt: T0 + 1 } })
      const user = 'user' in done ? done.user : undefined
      expect(await store.users.rolesOf(user!.id)).toEqual([{ appId: shop, role: 'owner' }, { appId: blog, role: 'owner' }])
      // One-time: the same token, and every other one, no longer works; nor does setup once a user exists.
      expect(await store.users.completeSetup({ ...input, email: 'eve@example.com', tokenHash: 'live' })).toEqual({ refused: 'done' })
      await store.users.removeUser(user!.id)
      expect(await store.users.completeSetup({ ...input, email: 'eve@example.com', tokenHash: 'other' })).toEqual({ refused: 'invalid_token' })
    })

    it('deletes expired setup tokens only', async () => {
      await store.users.createSetupToken({ hash: 'a', createdAt: T0, expiresAt: T0 + 10 })
      await store.users.createSetupToken({ hash: 'b', createdAt: T0, expiresAt: T0 + 20 })
      expect(await store.users.deleteExpiredSetupTokens(T0 + 10)).toBe(1)
      expect(await store.users.completeSetup({ tokenHash: 'b', email: 'ann@example.com', passwordHash: 'scrypt$x', createdAt: T0 + 11 })).toHaveProperty('user')
    })
  })
}

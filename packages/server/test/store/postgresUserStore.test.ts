import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTempPostgresNodes, createTempPostgresStore, type TempPostgresNodes } from './tempPostgresStore.js'
import { describeUserStoreContract } from './userStoreContract.js'

describeUserStoreContract('postgres', () => createTempPostgresStore())

const T0 = Date.UTC(2026, 10, 1, 12)

// Two stores on one database are two Tacit nodes: what SQLite got from being the only writer must hold across them.
describe('PostgreSQL users across nodes', () => {
  let temp: TempPostgresNodes
  beforeEach(async () => {
    temp = await createTempPostgresNodes()
  })
  afterEach(async () => temp.cleanup())

  it('lets only one of two owners demoting each other at once succeed', async () => {
    for (let round = 0; round < 10; round++) {
      const ann = (await temp.store.users.createUser({ email: `ann${round}@example.com`, passwordHash: 'scrypt$x', createdAt: T0, roles: [] }))!
      const bob = (await temp.store.users.createUser({ email: `bob${round}@example.com`, passwordHash: 'scrypt$x', createdAt: T0, roles: [] }))!
      const app = (await temp.store.createApp({ name: `app${round}`, createdAt: T0, settings: {} })).id
      await temp.store.users.addMember(app, ann.id, 'owner')
      await temp.store.users.addMember(app, bob.id, 'owner')
      const results = await Promise.all([temp.store.users.setMemberRole(app, ann.id, 'viewer'), temp.other.users.removeMember(app, bob.id)])
      expect(results.sort()).toEqual(['done', 'last_owner'])
      expect((await temp.store.users.listMembers(app)).filter((m) => m.role === 'owner')).toHaveLength(1)
    }
  })

  it('completes setup once when two nodes race with different tokens', async () => {
    await temp.store.createApp({ name: 'shop', createdAt: T0, settings: {} })
    await temp.store.users.createSetupToken({ hash: 'one', createdAt: T0, expiresAt: T0 + 1000 })
    await temp.store.users.createSetupToken({ hash: 'two', createdAt: T0, expiresAt: T0 + 1000 })
    const results = await Promise.all([
      temp.store.users.completeSetup({ tokenHash: 'one', email: 'ann@example.com', passwordHash: 'scrypt$x', createdAt: T0 + 1 }),
      temp.other.users.completeSetup({ tokenHash: 'two', email: 'bob@example.com', passwordHash: 'scrypt$x', createdAt: T0 + 1 }),
    ])
    expect(results.filter((r) => 'user' in r)).toHaveLength(1)
    expect(results.filter((r) => 'refused' in r)).toEqual([{ refused: 'done' }])
    expect(await temp.store.users.listUsers()).toHaveLength(1)
  })

  it('creates one user when two nodes add the same email in different case at once', async () => {
    const results = await Promise.all([
      temp.store.users.createUser({ email: 'ann@example.com', passwordHash: 'scrypt$x', createdAt: T0, roles: [] }),
      temp.other.users.createUser({ email: 'ANN@example.com', passwordHash: 'scrypt$y', createdAt: T0, roles: [] }),
    ])
    expect(results.filter((r) => r !== undefined)).toHaveLength(1)
    expect(await temp.store.users.listUsers()).toHaveLength(1)
  })
})

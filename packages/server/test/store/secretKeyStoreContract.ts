import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { hashSecretKey } from '../../src/keys/secretKey.js'
import type { Store } from '../../src/store/Store.js'

/** The SecretKeyStore contract (store.secretKeys): every Store adapter runs it, as with storeContract.ts. */
export function describeSecretKeyStoreContract(label: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`${label}: secret keys`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let shop: number
    let blog: number
    const T0 = Date.UTC(2024, 4, 1, 12)
    const input = (n: number, kind: 'upload' | 'api' | 'relay', appId: number | null) => ({
      kind,
      appId,
      hash: hashSecretKey(`key-${n}`),
      hint: `tacit_${kind}_k${n}…`,
      label: n % 2 ? `ci-${n}` : null,
      createdAt: T0 + n,
    })

    beforeEach(async () => {
      ;({ store, cleanup } = await open())
      shop = (await store.createApp({ name: 'shop', createdAt: T0, settings: {} })).id
      blog = (await store.createApp({ name: 'blog', createdAt: T0, settings: {} })).id
    })
    afterEach(() => cleanup())

    it('creates keys and finds them by hash or id, never needing the key itself', async () => {
      const created = await store.secretKeys.create(input(1, 'upload', shop))
      expect(created).toEqual({ id: expect.any(Number), kind: 'upload', appId: shop, hint: 'tacit_upload_k1…', label: 'ci-1', createdAt: T0 + 1, revokedAt: null, lastUsedAt: null })
      expect(await store.secretKeys.findByHash(hashSecretKey('key-1'))).toEqual(created)
      expect(await store.secretKeys.get(created.id)).toEqual(created)
      expect(await store.secretKeys.findByHash(hashSecretKey('key-2'))).toBeUndefined()
      expect(await store.secretKeys.get(created.id + 100)).toBeUndefined()
    })

    it('refuses a second key with the same hash', async () => {
      await store.secretKeys.create(input(1, 'api', null))
      await expect(store.secretKeys.create({ ...input(1, 'api', shop) })).rejects.toThrow()
    })

    it('lists oldest first, by app (with the unscoped keys) and by kind', async () => {
      const a = await store.secretKeys.create(input(1, 'upload', shop))
      const b = await store.secretKeys.create(input(2, 'api', null))
      const c = await store.secretKeys.create(input(3, 'upload', blog))
      const d = await store.secretKeys.create(input(4, 'relay', null))
      expect((await store.secretKeys.list()).map((k) => k.id)).toEqual([a.id, b.id, c.id, d.id])
      expect((await store.secretKeys.list({ appId: shop })).map((k) => k.id)).toEqual([a.id, b.id, d.id])
      expect((await store.secretKeys.list({ kind: 'upload' })).map((k) => k.id)).toEqual([a.id, c.id])
      expect((await store.secretKeys.list({ appId: blog, kind: 'upload' })).map((k) => k.id)).toEqual([c.id])
    })

    it('revokes once and touches only forward', async () => {
      const key = await store.secretKeys.create(input(1, 'api', null))
      expect(await store.secretKeys.revoke(key.id, T0 + 10)).toBe(true)
      expect(await store.secretKeys.revoke(key.id, T0 + 20)).toBe(false)
      expect(await store.secretKeys.revoke(key.id + 100, T0 + 20)).toBe(false)
      expect((await store.secretKeys.get(key.id))?.revokedAt).toBe(T0 + 10)
      await store.secretKeys.touch(key.id, T0 + 3_600_000)
      await store.secretKeys.touch(key.id, T0)
      expect((await store.secretKeys.get(key.id))?.lastUsedAt).toBe(T0 + 3_600_000)
    })

    it('keeps keys through an app purge: they are configuration, not collected data', async () => {
      const key = await store.secretKeys.create(input(1, 'upload', shop))
      await store.purgeApp(shop)
      expect(await store.secretKeys.get(key.id)).toEqual(key)
    })
  })
}

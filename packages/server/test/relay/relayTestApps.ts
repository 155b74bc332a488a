import { createAppWithToken } from '../../src/apps/appAdmin.js'
import { applySetting, type AppSettingsOverrides } from '../../src/apps/appSettings.js'
import { generateSecretKey, hashSecretKey, secretKeyHint, type SecretKeyKind } from '../../src/keys/secretKey.js'
import { cryptoRandom } from '../../src/randomSource.js'
import type { AccountTestServer } from '../accounts/accountTestServer.js'

let appCount = 0

/** A new app with these settings (`key=value`, as `tacit app set` takes them), and its client token. */
export async function createRelayTestApp(server: AccountTestServer, settings: string[] = []): Promise<{ appId: number; token: string }> {
  const { app, token } = await createAppWithToken({ store: server.temp.store, clock: server.clock, random: cryptoRandom }, { name: `app${++appCount}` })
  let overrides: AppSettingsOverrides = app.settings
  for (const assignment of settings) overrides = applySetting(overrides, assignment)
  await server.temp.store.updateAppSettings(app.id, overrides)
  return { appId: app.id, token: token.token }
}

/** A secret key of any kind and scope written to the store directly, revoked if asked. */
export async function insertSecretKey(server: AccountTestServer, kind: SecretKeyKind, appId: number | null, revoked = false): Promise<string> {
  const key = generateSecretKey(kind, cryptoRandom)
  const store = server.temp.store
  const record = await store.secretKeys.create({ kind, appId, hash: hashSecretKey(key), hint: secretKeyHint(key), label: null, createdAt: server.clock.now() })
  if (revoked) await store.secretKeys.revoke(record.id, server.clock.now())
  return key
}

import Database from 'better-sqlite3'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createAppWithToken } from '../../src/apps/appAdmin.js'
import { applySetting, type AppSettingsOverrides } from '../../src/apps/appSettings.js'
import { systemClock } from '../../src/clock.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'

/** Reads what a server process stored, through a second connection, as an operator would. */
export function readStoredEvents(dataDir: string, appId?: number): Array<Record<string, unknown>> {
  const db = new Database(join(dataDir, 'tacit.db'), { readonly: true, fileMustExist: true })
  try {
    const rows = (appId === undefined
      ? db.prepare('SELECT data FROM events ORDER BY id').all()
      : db.prepare('SELECT data FROM events WHERE app_id = ? ORDER BY id').all(appId)) as Array<{ data: string }>
    return rows.map((row) => JSON.parse(row.data) as Record<string, unknown>)
  } finally {
    db.close()
  }
}

/** Creates an app (and its first token) in a server's database from the test process, like the CLI does. */
export async function createTestApp(dataDir: string, name: string, settings: string[] = []): Promise<{ appId: number; token: string }> {
  const store = createSqliteStore({ path: join(dataDir, 'tacit.db') })
  try {
    const { app, token } = await createAppWithToken({ store, clock: systemClock, random: cryptoRandom }, { name })
    let overrides: AppSettingsOverrides = app.settings
    for (const assignment of settings) overrides = applySetting(overrides, assignment)
    await store.updateAppSettings(app.id, overrides)
    return { appId: app.id, token: token.token }
  } finally {
    await store.close()
  }
}

/** Every byte the database keeps on disk: the main file and its side files. */
export function databaseBytes(dataDir: string): Buffer {
  const files = ['tacit.db', 'tacit.db-wal', 'tacit.db-shm', 'tacit.db-journal'].map((name) => join(dataDir, name))
  return Buffer.concat(files.filter((file) => existsSync(file)).map((file) => readFileSync(file)))
}

/** The first active client token of an app, read from the database. */
export function activeToken(dataDir: string, appId = 1): string {
  const db = new Database(join(dataDir, 'tacit.db'), { readonly: true, fileMustExist: true })
  try {
    const row = db.prepare('SELECT token FROM client_tokens WHERE app_id = ? AND revoked_at IS NULL ORDER BY created_at LIMIT 1').get(appId) as
      | { token: string }
      | undefined
    if (!row) throw new Error(`app ${appId} has no active token`)
    return row.token
  } finally {
    db.close()
  }
}

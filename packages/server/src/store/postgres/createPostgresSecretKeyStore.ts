import type { SecretKeyStore } from '../SecretKeyStore.js'
import { toSecretKey, type SecretKeyRow } from '../secretKeyRow.js'
import type { PgDatabase } from './openPostgresPool.js'

/** store.secretKeys on PostgreSQL: the same contract as sqlite/createSqliteSecretKeyStore.ts. */
export function createPostgresSecretKeyStore(db: PgDatabase): SecretKeyStore {
  return {
    async create({ kind, appId, hash, hint, label, createdAt }) {
      const [row] = await db.query<SecretKeyRow>(
        'INSERT INTO secret_keys (kind, app_id, hash, hint, label, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
        [kind, appId, hash, hint, label, createdAt],
      )
      return toSecretKey(row!)
    },
    async findByHash(hash) {
      const [row] = await db.query<SecretKeyRow>('SELECT * FROM secret_keys WHERE hash = $1', [hash])
      return row && toSecretKey(row)
    },
    async get(id) {
      const [row] = await db.query<SecretKeyRow>('SELECT * FROM secret_keys WHERE id = $1', [id])
      return row && toSecretKey(row)
    },
    async list(query = {}) {
      const clauses: string[] = []
      const values: unknown[] = []
      if (query.appId !== undefined) clauses.push(`(app_id = $${values.push(query.appId)} OR app_id IS NULL)`)
      if (query.kind !== undefined) clauses.push(`kind = $${values.push(query.kind)}`)
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      return (await db.query<SecretKeyRow>(`SELECT * FROM secret_keys ${where} ORDER BY id`, values)).map(toSecretKey)
    },
    async revoke(id, at) {
      return (await db.query('UPDATE secret_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id', [at, id])).length > 0
    },
    async touch(id, at) {
      await db.query('UPDATE secret_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)', [at, id])
    },
  }
}

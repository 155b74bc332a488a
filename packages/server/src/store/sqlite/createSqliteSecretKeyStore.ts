import type Database from 'better-sqlite3'
import type { SecretKeyStore } from '../SecretKeyStore.js'
import { toSecretKey, type SecretKeyRow } from '../secretKeyRow.js'

export function createSqliteSecretKeyStore(db: Database.Database): SecretKeyStore {
  const sql = {
    insert: db.prepare<{ kind: string; appId: number | null; hash: string; hint: string; label: string | null; createdAt: number }>(
      `INSERT INTO secret_keys (kind, app_id, hash, hint, label, created_at) VALUES (@kind, @appId, @hash, @hint, @label, @createdAt) RETURNING *`,
    ),
    findByHash: db.prepare<[string]>('SELECT * FROM secret_keys WHERE hash = ?'),
    get: db.prepare<[number]>('SELECT * FROM secret_keys WHERE id = ?'),
    revoke: db.prepare<[number, number]>('UPDATE secret_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    touch: db.prepare<[number, number, number]>('UPDATE secret_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'),
  }
  return {
    async create(input) {
      return toSecretKey(sql.insert.get(input) as SecretKeyRow)
    },
    async findByHash(hash) {
      const row = sql.findByHash.get(hash) as SecretKeyRow | undefined
      return row && toSecretKey(row)
    },
    async get(id) {
      const row = sql.get.get(id) as SecretKeyRow | undefined
      return row && toSecretKey(row)
    },
    async list(query = {}) {
      const clauses: string[] = []
      const params: unknown[] = []
      if (query.appId !== undefined) {
        clauses.push('(app_id = ? OR app_id IS NULL)')
        params.push(query.appId)
      }
      if (query.kind !== undefined) {
        clauses.push('kind = ?')
        params.push(query.kind)
      }
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''
      return (db.prepare(`SELECT * FROM secret_keys ${where} ORDER BY id`).all(...params) as SecretKeyRow[]).map(toSecretKey)
    },
    async revoke(id, at) {
      return sql.revoke.run(at, id).changes > 0
    },
    async touch(id, at) {
      sql.touch.run(at, id, at)
    },
  }
}

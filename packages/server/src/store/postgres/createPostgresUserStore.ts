import type { AppRole } from '../../accounts/appRoles.js'
import type { MemberChange, User, UserStore } from '../UserStore.js'
import { toMember, toUser, toUserSession, toUserWithPassword, type MemberRow, type UserRow, type UserSessionRow } from '../userRows.js'
import type { PgDatabase, PgQueryable } from './openPostgresPool.js'

type NewUser = { email: string; passwordHash: string; createdAt: number; roles: ReadonlyArray<{ appId: number; role: AppRole }> }

/**
 * store.users on PostgreSQL: the same contract as sqlite/createSqliteUserStore.ts. SQLite is the only writer
 * while a transaction runs; here other nodes write at the same time, so every read-then-write below takes the
 * row or table lock that makes its check hold until it commits (each place says which).
 */
export function createPostgresUserStore(db: PgDatabase): UserStore {
  /** Inside a transaction: the unique index on lower(email) makes ON CONFLICT wait for a racing insert of the same email. */
  async function insertUser(tx: PgQueryable, input: NewUser): Promise<User | undefined> {
    const [row] = await tx.query<UserRow>(
      `INSERT INTO users (email, password_hash, created_at, password_changed_at) VALUES ($1, $2, $3, $3)
       ON CONFLICT (lower(email)) DO NOTHING RETURNING *`,
      [input.email, input.passwordHash, input.createdAt],
    )
    if (!row) return undefined
    for (const { appId, role } of input.roles) {
      await tx.query('INSERT INTO app_members (app_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [appId, row.id, role])
    }
    return toUser(row)
  }

  /**
   * Locks every membership row of the app (in one order, so two changes cannot deadlock) and returns the user's
   * role and the owner count: two owners demoting each other at once on two nodes are then serialized, and the
   * second sees the first's change instead of a snapshot with two owners.
   */
  async function lockMembers(tx: PgQueryable, appId: number, userId: number): Promise<{ current: AppRole | undefined; owners: number }> {
    const rows = await tx.query<{ user_id: number; role: AppRole }>('SELECT user_id, role FROM app_members WHERE app_id = $1 ORDER BY user_id FOR UPDATE', [appId])
    return { current: rows.find((row) => row.user_id === userId)?.role, owners: rows.filter((row) => row.role === 'owner').length }
  }

  return {
    async hasUsers() {
      return (await db.query('SELECT 1 FROM users LIMIT 1')).length > 0
    },
    async createUser(input) {
      return db.transaction((tx) => insertUser(tx, input))
    },
    async getUser(id) {
      const [row] = await db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id])
      return row && toUser(row)
    },
    async findUserByEmail(email) {
      // lower(…) on both sides: SQLite's COLLATE NOCASE, and the unique index serves it.
      const [row] = await db.query<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1)', [email])
      return row && toUserWithPassword(row)
    },
    async listUsers() {
      return (await db.query<UserRow>('SELECT * FROM users ORDER BY id')).map(toUser)
    },
    async setPassword(userId, passwordHash, at) {
      return (await db.query('UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3 RETURNING id', [passwordHash, at, userId])).length > 0
    },
    async removeUser(userId) {
      return db.transaction(async (tx) => {
        // The user first: its row lock waits for an addMember that holds it (FOR SHARE), whose membership the
        // next statements (fresh snapshots under READ COMMITTED) then see and delete.
        const deleted = await tx.query('DELETE FROM users WHERE id = $1 RETURNING id', [userId])
        await tx.query('DELETE FROM app_members WHERE user_id = $1', [userId])
        await tx.query('DELETE FROM user_sessions WHERE user_id = $1', [userId])
        return deleted.length > 0
      })
    },
    async listMembers(appId) {
      // COLLATE "C": by code point, as SQLite sorts; lower(…) as its NOCASE column does (emails are stored lower-cased anyway).
      const rows = await db.query<MemberRow>(
        `SELECT m.app_id, m.user_id, u.email, m.role FROM app_members m JOIN users u ON u.id = m.user_id WHERE m.app_id = $1
         ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'member' THEN 1 ELSE 2 END, lower(u.email) COLLATE "C"`,
        [appId],
      )
      return rows.map(toMember)
    },
    async rolesOf(userId) {
      const rows = await db.query<{ app_id: number; role: AppRole }>('SELECT app_id, role FROM app_members WHERE user_id = $1 ORDER BY app_id', [userId])
      return rows.map((row) => ({ appId: row.app_id, role: row.role }))
    },
    async roleOf(userId, appId) {
      const [row] = await db.query<{ role: AppRole }>('SELECT role FROM app_members WHERE user_id = $1 AND app_id = $2', [userId, appId])
      return row?.role
    },
    async addMember(appId, userId, role) {
      return db.transaction(async (tx): Promise<MemberChange> => {
        // FOR SHARE: a removeUser on another node cannot delete the user between this check and the insert.
        if ((await tx.query('SELECT 1 FROM users WHERE id = $1 FOR SHARE', [userId])).length === 0) return 'missing'
        const inserted = await tx.query('INSERT INTO app_members (app_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING user_id', [
          appId,
          userId,
          role,
        ])
        return inserted.length > 0 ? 'done' : 'exists'
      })
    },
    async setMemberRole(appId, userId, role) {
      return db.transaction(async (tx): Promise<MemberChange> => {
        const { current, owners } = await lockMembers(tx, appId, userId)
        if (!current) return 'missing'
        if (current === 'owner' && role !== 'owner' && owners <= 1) return 'last_owner'
        await tx.query('UPDATE app_members SET role = $1 WHERE app_id = $2 AND user_id = $3', [role, appId, userId])
        return 'done'
      })
    },
    async removeMember(appId, userId) {
      return db.transaction(async (tx): Promise<MemberChange> => {
        const { current, owners } = await lockMembers(tx, appId, userId)
        if (!current) return 'missing'
        if (current === 'owner' && owners <= 1) return 'last_owner'
        await tx.query('DELETE FROM app_members WHERE app_id = $1 AND user_id = $2', [appId, userId])
        return 'done'
      })
    },
    async createSession({ idHash, userId, createdAt, expiresAt }) {
      await db.query('INSERT INTO user_sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)', [idHash, userId, createdAt, expiresAt])
    },
    async findSession(idHash) {
      const [row] = await db.query<UserSessionRow>('SELECT user_id, created_at, last_seen_at, expires_at FROM user_sessions WHERE id_hash = $1', [idHash])
      return row && toUserSession(row)
    },
    async touchSession(idHash, at) {
      await db.query('UPDATE user_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1', [at, idHash])
    },
    async deleteSession(idHash) {
      return (await db.query('DELETE FROM user_sessions WHERE id_hash = $1 RETURNING 1', [idHash])).length > 0
    },
    async deleteUserSessions(userId, exceptIdHash = '') {
      return (await db.query('DELETE FROM user_sessions WHERE user_id = $1 AND id_hash <> $2 RETURNING 1', [userId, exceptIdHash])).length
    },
    async deleteExpiredSessions({ idleBefore, now }) {
      return (await db.query('DELETE FROM user_sessions WHERE last_seen_at < $1 OR expires_at <= $2 RETURNING 1', [idleBefore, now])).length
    },
    async createSetupToken({ hash, createdAt, expiresAt }) {
      await db.query('INSERT INTO setup_tokens (hash, created_at, expires_at) VALUES ($1, $2, $3)', [hash, createdAt, expiresAt])
    },
    async completeSetup(input) {
      return db.transaction(async (tx): Promise<{ user: User } | { refused: 'done' | 'invalid_token' }> => {
        // "No user exists yet" must hold until the commit, on every node: this mode conflicts with itself and
        // with every insert into users (another setup, `tacit user add`), which wait or are waited for. Setup
        // happens once, so blocking user writes for its few statements costs nothing.
        await tx.query('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE')
        if ((await tx.query('SELECT 1 FROM users LIMIT 1')).length > 0) return { refused: 'done' }
        if ((await tx.query('SELECT 1 FROM setup_tokens WHERE hash = $1 AND expires_at > $2', [input.tokenHash, input.createdAt])).length === 0) {
          return { refused: 'invalid_token' }
        }
        const apps = await tx.query<{ id: number }>('SELECT id FROM apps ORDER BY id')
        const roles = apps.map(({ id }) => ({ appId: id, role: 'owner' as const }))
        const user = await insertUser(tx, { email: input.email, passwordHash: input.passwordHash, createdAt: input.createdAt, roles })
        // Cannot happen: no user exists, and none can be added while the lock is held.
        if (!user) return { refused: 'done' }
        await tx.query('DELETE FROM setup_tokens')
        return { user }
      })
    },
    async deleteExpiredSetupTokens(now) {
      return (await db.query('DELETE FROM setup_tokens WHERE expires_at <= $1 RETURNING 1', [now])).length
    },
  }
}

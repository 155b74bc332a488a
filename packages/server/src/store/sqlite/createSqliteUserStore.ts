import type Database from 'better-sqlite3'
import type { AppRole } from '../../accounts/appRoles.js'
import type { MemberChange, UserStore } from '../UserStore.js'
import { toMember, toUser, toUserSession, toUserWithPassword, type MemberRow, type UserRow, type UserSessionRow } from '../userRows.js'

export function createSqliteUserStore(db: Database.Database): UserStore {
  const sql = {
    any: db.prepare('SELECT 1 FROM users LIMIT 1').pluck(),
    insertUser: db.prepare<{ email: string; passwordHash: string; createdAt: number }>(
      'INSERT INTO users (email, password_hash, created_at, password_changed_at) VALUES (@email, @passwordHash, @createdAt, @createdAt) ON CONFLICT (email) DO NOTHING RETURNING *',
    ),
    getUser: db.prepare<[number]>('SELECT * FROM users WHERE id = ?'),
    findByEmail: db.prepare<[string]>('SELECT * FROM users WHERE email = ?'),
    listUsers: db.prepare('SELECT * FROM users ORDER BY id'),
    setPassword: db.prepare<[string, number, number]>('UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?'),
    deleteUser: db.prepare<[number]>('DELETE FROM users WHERE id = ?'),
    deleteUserMembers: db.prepare<[number]>('DELETE FROM app_members WHERE user_id = ?'),
    listMembers: db.prepare<[number]>(
      `SELECT m.app_id, m.user_id, u.email, m.role FROM app_members m JOIN users u ON u.id = m.user_id WHERE m.app_id = ?
       ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'member' THEN 1 ELSE 2 END, u.email`,
    ),
    rolesOf: db.prepare<[number]>('SELECT app_id, role FROM app_members WHERE user_id = ? ORDER BY app_id'),
    roleOf: db.prepare<[number, number]>('SELECT role FROM app_members WHERE user_id = ? AND app_id = ?').pluck(),
    insertMember: db.prepare<[number, number, string]>('INSERT INTO app_members (app_id, user_id, role) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    updateMember: db.prepare<[string, number, number]>('UPDATE app_members SET role = ? WHERE app_id = ? AND user_id = ?'),
    deleteMember: db.prepare<[number, number]>('DELETE FROM app_members WHERE app_id = ? AND user_id = ?'),
    owners: db.prepare<[number]>("SELECT count(*) FROM app_members WHERE app_id = ? AND role = 'owner'").pluck(),
    appIds: db.prepare('SELECT id FROM apps ORDER BY id').pluck(),
    insertSession: db.prepare<{ idHash: string; userId: number; createdAt: number; expiresAt: number }>(
      'INSERT INTO user_sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES (@idHash, @userId, @createdAt, @createdAt, @expiresAt)',
    ),
    findSession: db.prepare<[string]>('SELECT user_id, created_at, last_seen_at, expires_at FROM user_sessions WHERE id_hash = ?'),
    touchSession: db.prepare<[number, string, number]>('UPDATE user_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?'),
    deleteSession: db.prepare<[string]>('DELETE FROM user_sessions WHERE id_hash = ?'),
    deleteUserSessions: db.prepare<[number, string]>('DELETE FROM user_sessions WHERE user_id = ? AND id_hash != ?'),
    deleteExpiredSessions: db.prepare<[number, number]>('DELETE FROM user_sessions WHERE last_seen_at < ? OR expires_at <= ?'),
    insertSetupToken: db.prepare<{ hash: string; createdAt: number; expiresAt: number }>(
      'INSERT INTO setup_tokens (hash, created_at, expires_at) VALUES (@hash, @createdAt, @expiresAt)',
    ),
    validSetupToken: db.prepare<[string, number]>('SELECT 1 FROM setup_tokens WHERE hash = ? AND expires_at > ?').pluck(),
    deleteSetupTokens: db.prepare('DELETE FROM setup_tokens'),
    deleteExpiredSetupTokens: db.prepare<[number]>('DELETE FROM setup_tokens WHERE expires_at <= ?'),
  }

  const createUser = db.transaction((input: { email: string; passwordHash: string; createdAt: number; roles: ReadonlyArray<{ appId: number; role: AppRole }> }) => {
    const row = sql.insertUser.get(input) as UserRow | undefined
    if (!row) return undefined
    for (const { appId, role } of input.roles) sql.insertMember.run(appId, row.id, role)
    return toUser(row)
  })

  const removeUser = db.transaction((userId: number) => {
    sql.deleteUserMembers.run(userId)
    sql.deleteUserSessions.run(userId, '')
    return sql.deleteUser.run(userId).changes > 0
  })

  const addMember = db.transaction((appId: number, userId: number, role: AppRole): MemberChange => {
    if (!sql.getUser.get(userId)) return 'missing'
    return sql.insertMember.run(appId, userId, role).changes > 0 ? 'done' : 'exists'
  })

  // The owner count is read and changed in one transaction, so two owners demoting each other at once cannot both succeed.
  const setMemberRole = db.transaction((appId: number, userId: number, role: AppRole): MemberChange => {
    const current = sql.roleOf.get(userId, appId) as AppRole | undefined
    if (!current) return 'missing'
    if (current === 'owner' && role !== 'owner' && (sql.owners.get(appId) as number) <= 1) return 'last_owner'
    sql.updateMember.run(role, appId, userId)
    return 'done'
  })

  const removeMember = db.transaction((appId: number, userId: number): MemberChange => {
    const current = sql.roleOf.get(userId, appId) as AppRole | undefined
    if (!current) return 'missing'
    if (current === 'owner' && (sql.owners.get(appId) as number) <= 1) return 'last_owner'
    sql.deleteMember.run(appId, userId)
    return 'done'
  })

  const completeSetup = db.transaction((input: { tokenHash: string; email: string; passwordHash: string; createdAt: number }) => {
    if (sql.any.get() !== undefined) return { refused: 'done' as const }
    if (sql.validSetupToken.get(input.tokenHash, input.createdAt) === undefined) return { refused: 'invalid_token' as const }
    const roles = (sql.appIds.all() as number[]).map((appId) => ({ appId, role: 'owner' as const }))
    const user = createUser({ email: input.email, passwordHash: input.passwordHash, createdAt: input.createdAt, roles })
    // Cannot happen: no user exists inside this transaction.
    if (!user) return { refused: 'done' as const }
    sql.deleteSetupTokens.run()
    return { user }
  })

  return {
    async hasUsers() {
      return sql.any.get() !== undefined
    },
    async createUser(input) {
      return createUser(input)
    },
    async getUser(id) {
      const row = sql.getUser.get(id) as UserRow | undefined
      return row && toUser(row)
    },
    async findUserByEmail(email) {
      const row = sql.findByEmail.get(email) as UserRow | undefined
      return row && toUserWithPassword(row)
    },
    async listUsers() {
      return (sql.listUsers.all() as UserRow[]).map(toUser)
    },
    async setPassword(userId, passwordHash, at) {
      return sql.setPassword.run(passwordHash, at, userId).changes > 0
    },
    async removeUser(userId) {
      return removeUser(userId)
    },
    async listMembers(appId) {
      return (sql.listMembers.all(appId) as MemberRow[]).map(toMember)
    },
    async rolesOf(userId) {
      return (sql.rolesOf.all(userId) as Array<{ app_id: number; role: AppRole }>).map((row) => ({ appId: row.app_id, role: row.role }))
    },
    async roleOf(userId, appId) {
      return sql.roleOf.get(userId, appId) as AppRole | undefined
    },
    async addMember(appId, userId, role) {
      return addMember(appId, userId, role)
    },
    async setMemberRole(appId, userId, role) {
      return setMemberRole(appId, userId, role)
    },
    async removeMember(appId, userId) {
      return removeMember(appId, userId)
    },
    async createSession(input) {
      sql.insertSession.run(input)
    },
    async findSession(idHash) {
      const row = sql.findSession.get(idHash) as UserSessionRow | undefined
      return row && toUserSession(row)
    },
    async touchSession(idHash, at) {
      sql.touchSession.run(at, idHash, at)
    },
    async deleteSession(idHash) {
      return sql.deleteSession.run(idHash).changes > 0
    },
    async deleteUserSessions(userId, exceptIdHash = '') {
      return sql.deleteUserSessions.run(userId, exceptIdHash).changes
    },
    async deleteExpiredSessions({ idleBefore, now }) {
      return sql.deleteExpiredSessions.run(idleBefore, now).changes
    },
    async createSetupToken(input) {
      sql.insertSetupToken.run(input)
    },
    async completeSetup(input) {
      return completeSetup(input)
    },
    async deleteExpiredSetupTokens(now) {
      return sql.deleteExpiredSetupTokens.run(now).changes
    },
  }
}

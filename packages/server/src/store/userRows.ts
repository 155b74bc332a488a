import type { AppRole } from '../accounts/appRoles.js'
import type { Member, User, UserSession, UserWithPassword } from './UserStore.js'

/** Rows of `users`, `app_members` and `user_sessions` as both adapters return them, and the UserStore's objects they stand for. */

export interface UserRow {
  id: number
  email: string
  password_hash: string
  created_at: number
  password_changed_at: number
}
export function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, createdAt: row.created_at, passwordChangedAt: row.password_changed_at }
}
export function toUserWithPassword(row: UserRow): UserWithPassword {
  return { ...toUser(row), passwordHash: row.password_hash }
}

/** A membership joined with its user's email. */
export interface MemberRow {
  app_id: number
  user_id: number
  email: string
  role: AppRole
}
export function toMember(row: MemberRow): Member {
  return { appId: row.app_id, userId: row.user_id, email: row.email, role: row.role }
}

export interface UserSessionRow {
  user_id: number
  created_at: number
  last_seen_at: number
  expires_at: number
}
export function toUserSession(row: UserSessionRow): UserSession {
  return { userId: row.user_id, createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at }
}

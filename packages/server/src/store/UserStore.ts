import type { AppRole } from '../accounts/appRoles.js'

/**
 * Dashboard accounts (issue 6): users, their roles per app, their sessions and the first-start setup tokens.
 * Secrets never reach the store as themselves: a password arrives as its scrypt hash (accounts/hashPassword.ts),
 * a session id and a setup token as their SHA-256. Failed logins are counted in memory, not here.
 */
export interface User {
  id: number
  /** Trimmed and lower-cased by the caller (accounts/emailAddress.ts). */
  email: string
  createdAt: number
  passwordChangedAt: number
}

export interface UserWithPassword extends User {
  /** `scrypt$…` (accounts/hashPassword.ts). */
  passwordHash: string
}

export interface Member {
  appId: number
  userId: number
  email: string
  role: AppRole
}

export interface UserSession {
  userId: number
  createdAt: number
  /** Updated at most once a minute (accounts/userSessions.ts). */
  lastSeenAt: number
  /** The absolute expiry; the idle one is counted from lastSeenAt. */
  expiresAt: number
}

/**
 * A change of membership that would leave an app that has members without any owner is refused: someone
 * must be able to manage it from the dashboard. Apps nobody belongs to yet are managed with the CLI.
 */
export type MemberChange = 'done' | 'missing' | 'exists' | 'last_owner'

export interface UserStore {
  /** Whether any user exists yet (the first start offers a setup link until one does). */
  hasUsers(): Promise<boolean>
  /** Undefined when a user with this email (regardless of case) exists already. */
  createUser(input: { email: string; passwordHash: string; createdAt: number; roles: ReadonlyArray<{ appId: number; role: AppRole }> }): Promise<User | undefined>
  getUser(id: number): Promise<User | undefined>
  /** Regardless of case. */
  findUserByEmail(email: string): Promise<UserWithPassword | undefined>
  /** Oldest first. */
  listUsers(): Promise<User[]>
  /** Returns false for an unknown user. Sessions are left to the caller (deleteUserSessions). */
  setPassword(userId: number, passwordHash: string, at: number): Promise<boolean>
  /** Deletes the user with their memberships and sessions; false for an unknown user. */
  removeUser(userId: number): Promise<boolean>

  /** An app's members, owners first, then by email. */
  listMembers(appId: number): Promise<Member[]>
  /** A user's roles, by app id. */
  rolesOf(userId: number): Promise<Array<{ appId: number; role: AppRole }>>
  roleOf(userId: number, appId: number): Promise<AppRole | undefined>
  /** 'exists' when the user already belongs to the app (whatever the role); 'missing' for an unknown user. */
  addMember(appId: number, userId: number, role: AppRole): Promise<MemberChange>
  /** 'missing' when the user is not a member; 'last_owner' when it would demote the app's only owner. */
  setMemberRole(appId: number, userId: number, role: AppRole): Promise<MemberChange>
  /** 'missing' when the user is not a member; 'last_owner' when it would remove the app's only owner. */
  removeMember(appId: number, userId: number): Promise<MemberChange>

  createSession(input: { idHash: string; userId: number; createdAt: number; expiresAt: number }): Promise<void>
  findSession(idHash: string): Promise<UserSession | undefined>
  touchSession(idHash: string, at: number): Promise<void>
  /** False when there was no such session. */
  deleteSession(idHash: string): Promise<boolean>
  /** Every session of a user except, optionally, one; returns how many were deleted. */
  deleteUserSessions(userId: number, exceptIdHash?: string): Promise<number>
  /** Sessions idle since before `idleBefore` or past their absolute expiry at `now`; returns how many. */
  deleteExpiredSessions(input: { idleBefore: number; now: number }): Promise<number>

  createSetupToken(input: { hash: string; createdAt: number; expiresAt: number }): Promise<void>
  /**
   * The first owner, in one transaction: when no user exists yet and the token is known and unexpired at
   * `createdAt`, creates the user as owner of every existing app and deletes every setup token. Otherwise
   * changes nothing and says why.
   */
  completeSetup(input: { tokenHash: string; email: string; passwordHash: string; createdAt: number }): Promise<{ user: User } | { refused: 'done' | 'invalid_token' }>
  /** Deletes setup tokens expired at `now`; returns how many. */
  deleteExpiredSetupTokens(now: number): Promise<number>
}

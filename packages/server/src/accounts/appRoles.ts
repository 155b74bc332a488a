/** Per app, each including the ones before it: viewer reads; member also changes issues; owner also settings and members. */
export const APP_ROLES = ['viewer', 'member', 'owner'] as const
export type AppRole = (typeof APP_ROLES)[number]

export function isAppRole(value: unknown): value is AppRole {
  return typeof value === 'string' && (APP_ROLES as readonly string[]).includes(value)
}

/** Whether `role` includes everything `needed` may do. */
export function roleAtLeast(role: AppRole, needed: AppRole): boolean {
  return APP_ROLES.indexOf(role) >= APP_ROLES.indexOf(needed)
}

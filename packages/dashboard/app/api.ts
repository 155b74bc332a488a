/**
 * The dashboard's only way to the server: same-origin JSON under /api/v1 (docs/API.md and the dashboard API
 * contract). The session cookie goes along by itself; state-changing requests also carry the CSRF token that
 * GET /api/v1/session handed out, because SameSite alone does not cover every browser and subdomain setup.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }

  /** The server has no such route yet (a part of the dashboard API that is not built), as opposed to a missing record. */
  get endpointMissing(): boolean {
    return this.status === 404 && this.message === 'There is no such endpoint.'
  }
}

let csrfToken: string | undefined
const unauthorizedListeners = new Set<() => void>()

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token
}

/** Called when any request answers 401: the session ended (expired, revoked, logged out in another tab). */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

export type Query = Record<string, string | number | undefined | null | readonly string[]>

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) for (const item of value) params.append(key, item)
    else params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

export async function api<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown, options: { quietUnauthorized?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && csrfToken) headers['x-tacit-csrf'] = csrfToken
  let response: Response
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    })
  } catch {
    throw new ApiError(0, 'network', 'The Tacit server could not be reached.')
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  if (!response.ok) {
    const error = typeof json === 'object' && json !== null ? (json as { error?: unknown; message?: unknown }) : {}
    if (response.status === 401 && !options.quietUnauthorized) for (const listener of unauthorizedListeners) listener()
    const retry = response.headers.get('retry-after')
    const message = typeof error.message === 'string' ? error.message : `The server answered ${response.status}.`
    throw new ApiError(
      response.status,
      typeof error.error === 'string' ? error.error : 'error',
      response.status === 429 && retry ? `${message} Try again in ${retry} s.` : message,
    )
  }
  return json as T
}

export interface SessionInfo {
  user: { id: number; email: string }
  apps: AppSummary[]
  /** Whether this user may create apps (they own one): the app list offers the form only then. */
  can_create_apps: boolean
  csrf_token: string
}

export interface AppSummary {
  id: number
  name: string
  role: 'viewer' | 'member' | 'owner'
}

import type { ComponentChildren } from 'preact'
import type { ApiError } from '../api.js'
import type { Loaded } from '../useApi.js'

/** What a panel shows while its data loads or when it could not: never made-up numbers. */
export function ErrorNotice({ error, what }: { error: ApiError; what?: string }) {
  const text = error.endpointMissing
    ? `${what ?? 'This view'}: not available on this server yet (its API answers 404).`
    : error.status === 403
      ? `You do not have access to this: ${error.message}`
      : error.message
  return (
    <p class="notice notice-error" role="alert">
      {text}
    </p>
  )
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="notice" role="status" aria-live="polite">
      {label}
    </p>
  )
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="notice notice-empty">{children}</p>
}

/** Renders `children(data)` once loaded; loading and error states otherwise. */
export function Status<T>({ result, what, children }: { result: Loaded<T>; what?: string; children: (data: T) => ComponentChildren }) {
  if (result.state === 'loading') return <Loading />
  if (result.state === 'error') return <ErrorNotice error={result.error} what={what} />
  return <>{children(result.data)}</>
}

export function DbIpCredit() {
  return (
    <p class="credit">
      <a href="https://db-ip.com" rel="noopener noreferrer" target="_blank" data-external>
        IP geolocation by DB-IP
      </a>
    </p>
  )
}

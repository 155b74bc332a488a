import { useCallback, useEffect, useState } from 'preact/hooks'
import { api, ApiError } from './api.js'

export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: ApiError } | { state: 'ok'; data: T }

/** GETs `path` (re-fetching when it changes); `reload` fetches again after a change. */
export function useApi<T>(path: string | undefined): Loaded<T> & { reload(): void } {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' })
  const [generation, setGeneration] = useState(0)
  useEffect(() => {
    if (path === undefined) return
    let live = true
    setResult({ state: 'loading' })
    api<T>('GET', path).then(
      (data) => live && setResult({ state: 'ok', data }),
      (error: unknown) => live && setResult({ state: 'error', error: error instanceof ApiError ? error : new ApiError(0, 'error', String(error)) }),
    )
    return () => {
      live = false
    }
  }, [path, generation])
  const reload = useCallback(() => setGeneration((n) => n + 1), [])
  return { ...result, reload }
}

import { useEffect, useState } from 'preact/hooks'

/**
 * A small history-API router: the paths are few and known, so a dependency would cost more bytes than it saves.
 * Filters and ranges live in the query string, so a view can be bookmarked and shared.
 */

export interface Location {
  path: string
  query: URLSearchParams
}

const listeners = new Set<() => void>()

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) }
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  for (const listener of listeners) listener()
  if (!options.replace) window.scrollTo(0, 0)
}

window.addEventListener('popstate', () => {
  for (const listener of listeners) listener()
})

export function useLocation(): Location {
  const [location, setLocation] = useState(current)
  useEffect(() => {
    const listener = () => setLocation(current())
    listeners.add(listener)
    return () => {
      listeners.delete(listener)
    }
  }, [])
  return location
}

/** Changes some query parameters of the current URL (undefined or '' removes one). */
export function setQuery(changes: Record<string, string | undefined>): void {
  const query = new URLSearchParams(window.location.search)
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === '') query.delete(key)
    else query.set(key, value)
  }
  const text = query.toString()
  navigate(`${window.location.pathname}${text ? `?${text}` : ''}`, { replace: true })
}

/** Same-origin links that go through the router: ordinary <a href> for keyboard, middle-click and copy. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  const anchor = (event.target as Element | null)?.closest?.('a')
  if (!anchor || anchor.target || anchor.origin !== window.location.origin || anchor.hasAttribute('download') || anchor.dataset.external !== undefined) return
  event.preventDefault()
  navigate(anchor.pathname + anchor.search)
}

/**
 * What the rollups keep of a URL (docs/ROLLUPS.md): the page's path without query or fragment, the referrer's
 * host only, and the `utm_campaign` value. URLs were scrubbed by the pipeline already (DESIGN.md P4); this keeps
 * even less of them.
 */

const MAX_KEY = 200

/** `/cart` of `https://shop.example/cart?id=1#top`; '' when the URL cannot be read. */
export function pagePath(url: string | undefined): string {
  if (!url) return ''
  const parsed = parseUrl(url)
  if (parsed) return parsed.pathname.slice(0, MAX_KEY)
  // A bare path (`/cart?x`) is kept up to its query.
  if (url.startsWith('/')) return url.split(/[?#]/, 1)[0]!.slice(0, MAX_KEY)
  // An absolute URL the URL parser refuses: the scrubber turns an IP host into `[ip]` (`http://[ip]:8080/demo`),
  // which is no valid host. Its path is still the text after the authority.
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(\/[^?#]*)?/i.exec(url)
  return absolute ? (absolute[1] ?? '/').slice(0, MAX_KEY) : ''
}

/** The referrer's host when it is another site than the page's; '' for none, the same site or unreadable. */
export function referrerDomain(referrer: string | undefined, pageUrl: string | undefined): string {
  if (!referrer) return ''
  const from = parseUrl(referrer)
  if (!from || !from.hostname) return ''
  const page = pageUrl ? parseUrl(pageUrl) : undefined
  if (page && page.hostname === from.hostname) return ''
  return from.hostname.slice(0, MAX_KEY)
}

/** The `utm_campaign` query parameter of the page URL; '' when absent. */
export function utmCampaign(url: string | undefined): string {
  if (!url || !url.includes('utm_campaign=')) return ''
  const parsed = parseUrl(url) ?? parseUrl(`http://x${url.startsWith('/') ? '' : '/'}${url}`)
  return parsed?.searchParams.get('utm_campaign')?.slice(0, MAX_KEY) ?? ''
}

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}

/** A resource's URL without query or fragment (`https://cdn.example/app.js`), so its variants group together. */
export function resourceUrl(url: string): string {
  const parsed = parseUrl(url)
  if (parsed) return `${parsed.origin === 'null' ? `${parsed.protocol}` : parsed.origin}${parsed.pathname}`.slice(0, MAX_KEY)
  return url.split(/[?#]/, 1)[0]!.slice(0, MAX_KEY)
}

import type { Collector } from '../core/types.js'

/**
 * The wire `resource.type` of a Resource Timing entry. The initiator says who asked, not what came back, so
 * stylesheets' and `<link>`s' requests are told apart by extension: a CSS background image is an image,
 * a web font loaded by CSS or preloaded is a font.
 */
export function resourceType(initiator: string, url: string): string {
  const known = BY_INITIATOR[initiator]
  if (known) return known
  const ext = /\.(\w+)$/.exec(url.split(/[?#]/)[0]!)?.[1]?.toLowerCase() ?? ''
  if (/^(woff2?|[ot]tf|eot)$/.test(ext)) return 'font'
  if (/^(png|jpe?g|gif|webp|avif|svg|ico)$/.test(ext)) return 'image'
  if (/^m?js$/.test(ext)) return 'js'
  return ext === 'css' || initiator === 'link' || initiator === 'css' ? 'css' : 'other'
}

const BY_INITIATOR: Record<string, string> = {
  xmlhttprequest: 'xhr', fetch: 'fetch', beacon: 'beacon', navigation: 'document', iframe: 'document', script: 'js',
  img: 'image', image: 'image', input: 'image', video: 'media', audio: 'media', track: 'media',
}

/** The URL without query and fragment, absolute: how the SDK recognises its own requests. */
export function withoutQuery(url: string): string {
  return new URL(url, document.baseURI).href.split(/[?#]/)[0]!
}

/** One `resource` event per Resource Timing entry, including those loaded before the SDK started. */
export const trackResources: Collector = (sdk) => {
  if (sdk.options.trackResources === false || !globalThis.PerformanceObserver?.supportedEntryTypes?.includes('resource')) return () => {}
  // Without this the SDK's beacons would each report a resource, which is sent in the next beacon, forever.
  const own = withoutQuery(sdk.options.url)
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as PerformanceResourceTiming[]) {
      try {
        // Entry names are absolute already.
        if (e.name.split(/[?#]/)[0] === own) continue
        // Both sizes are 0 for a cross-origin response without Timing-Allow-Origin: unknown, not empty.
        const sized = e.decodedBodySize > 0
        const status = (e as { responseStatus?: number }).responseStatus
        const blocking = (e as { renderBlockingStatus?: string }).renderBlockingStatus
        sdk.emit({
          type: 'resource',
          ts: Math.round(performance.timeOrigin + e.startTime),
          resource: {
            url: sdk.scrubUrl(e.name),
            type: resourceType(e.initiatorType, e.name),
            duration: Math.round(e.duration),
            transfer_size: sized ? e.transferSize : undefined,
            size: sized ? e.decodedBodySize : undefined,
            // 0 for opaque (no-cors) responses: unknown, so left out.
            status_code: status || undefined,
            render_blocking: blocking ? blocking === 'blocking' : undefined,
          },
        })
      } catch {
        // one odd entry must not stop the others
      }
    }
  })
  observer.observe({ type: 'resource', buffered: true })
  return () => observer.disconnect()
}

import type { FastifyInstance } from 'fastify'

/**
 * Security headers for everything but the cross-origin endpoints (issue 6): the dashboard shows strings that
 * strangers' browsers sent, so its pages run no inline script (CSP), cannot be framed (clickjacking), leak no
 * URL to other sites and are never content-sniffed. Ingest and browser reports are called from customers'
 * pages with CORS and keep their own headers. A route that set its own CSP (the demo page) keeps it.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ')

const HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
}

/**
 * Paths answered to other origins' pages (ingestRoutes.ts, reportRoutes.ts, and other vendors' SDKs, issue 9:
 * Datadog under /api/compat/, Sentry's and TrackX's own paths): left exactly as they are.
 */
const CROSS_ORIGIN_PATHS = new Set(['/api/v1/ingest', '/api/v1/report'])
const CROSS_ORIGIN_PREFIX = '/api/compat/'
/** Sentry's SDKs post to `/api/<project>/envelope/` and `/api/<project>/store/` (http/compat/sentryIntakeRoutes.ts). */
const SENTRY_PATH = /^\/api\/\d+\/(?:envelope|store)\/?$/
/** The TrackX client's `/v1/<key>/event|ping|report` (http/compat/trackxIntakeRoutes.ts). */
const TRACKX_PATH = /^\/v1\/[^/]+\/(?:event|ping|report)$/

/** Adds the headers from an onSend hook on the root instance, so 404s and errors carry them too. */
export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    const url = request.url
    const query = url.indexOf('?')
    const path = query === -1 ? url : url.slice(0, query)
    if (!CROSS_ORIGIN_PATHS.has(path) && !path.startsWith(CROSS_ORIGIN_PREFIX) && !SENTRY_PATH.test(path) && !TRACKX_PATH.test(path)) {
      for (const [name, value] of Object.entries(HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value)
    }
    done(null, payload)
  })
}

import { decodeReports, type DecodedReports, type RejectedReports } from '../../protocol/decodeReports.js'

/**
 * `POST /v1/<key>/report`: nothing the trackx client sends. It is the endpoint a TrackX site names in its own
 * headers (`Content-Security-Policy: …; report-uri https://api.trackx.app/v1/<key>/report`, or
 * `Reporting-Endpoints` + `report-to`), and the browser posts its reports there by itself: the same bodies as
 * on Tacit's `POST /api/v1/report`, so they are decoded by the same code (decodeReports), into `report`
 * events with the same per-type allow-lists (never the report's `user_agent`, CSP's `sample` and
 * `originalPolicy`, or referrers). Captured from Chromium (test/fixtures/trackx/csp-*.json):
 * - legacy `report-uri`: `application/csp-report`, `{"csp-report": {"document-uri", "violated-directive",
 *   "effective-directive", "original-policy", "blocked-uri", "source-file", "line-number", …}}`, with Origin
 *   and no preflight (`Sec-Fetch-Mode: no-cors`);
 * - `report-to`: `application/reports+json`, `[{"age", "type", "url", "user_agent", "body": {…}}]`, after a
 *   CORS preflight when the endpoint is cross-origin. Chromium delivers these only from https pages to https
 *   endpoints, batched (up to a minute later).
 *
 * TrackX also took `{"expect-ct-report": …}` (`application/expect-ct-report+json`): Expect-CT is gone from
 * browsers (Chrome 107 removed it), and such a body has no report type, so it is `invalid` here.
 *
 * The route should accept the media types the TrackX server accepted (TRACKX_REPORT_MEDIA_TYPES, `text/plain`
 * among them: its comment says Chrome may send reports so) and answer every decoded body with a 2xx, invalid
 * reports counted as drops: browsers retry a failed upload a few times, and an answer of 410 makes them
 * forget the endpoint.
 */

/** What the TrackX server took on `/report` (parameters such as `;charset=utf-8` aside). */
export const TRACKX_REPORT_MEDIA_TYPES = [
  'application/reports+json',
  'application/csp-report',
  'application/expect-ct-report+json',
  'application/json',
  'text/plain',
] as const

/** Never throws; `receivedAt` (ms since the epoch) turns a report's `age` into its `ts`. */
export function translateTrackxReport(body: string, receivedAt: number): DecodedReports | RejectedReports {
  try {
    return decodeReports(typeof body === 'string' ? body : '', receivedAt)
  } catch {
    // decodeReports reads every value type-checked; this only keeps the promise for the caller.
    return { ok: false, status: 400, code: 'malformed_json', message: 'The body could not be read as reports.' }
  }
}

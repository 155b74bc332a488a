/**
 * HTML of test pages. Two ways in, as site owners use the SDK: the script-tag build configured by data-*
 * attributes, and the ES module with `init(options)` (needed for function options such as beforeSend).
 * Both are served by the test site (/sdk/…) and send to the Tacit server at `endpoint`, another origin.
 */

export interface PageParts {
  endpoint: string
  token: string
  body: string
  /** Extra markup at the end of <head>, e.g. a classic <script src> the test's errors should point to. */
  head?: string
  title?: string
}

/** `<script src="/sdk/tacit.js" data-token data-endpoint …>`, with extra data-* attributes from `data`. */
export function scriptTagPage(parts: PageParts & { data?: Record<string, string> }): string {
  const data = Object.entries({ token: parts.token, endpoint: parts.endpoint, service: 'e2e', env: 'test', ...parts.data })
    .map(([key, value]) => ` data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${escapeAttribute(value)}"`)
    .join('')
  return page(parts, `<script src="/sdk/tacit.js"${data}></script>`)
}

/**
 * `import { init } from '/sdk/index.js'` and `window.tacit = init({ token, endpoint, …options })`, where
 * `options` is JavaScript source (an object literal's inner part), so it can hold functions.
 */
export function modulePage(parts: PageParts & { options?: string }): string {
  const init = `{ token: ${JSON.stringify(parts.token)}, endpoint: ${JSON.stringify(parts.endpoint)}, service: 'e2e', ${parts.options ?? ''} }`
  return page(parts, `<script type="module">import { init } from '/sdk/index.js'; window.tacit = init(${init})</script>`)
}

function page(parts: PageParts, sdk: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${parts.title ?? 'Tacit e2e'}</title>
${sdk}
${parts.head ?? ''}
</head>
<body>
${parts.body}
</body>
</html>`
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
}

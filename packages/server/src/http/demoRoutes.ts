import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Store } from '../store/Store.js'

export interface DemoDeps {
  store: Store
  /** The SDK's script-tag build; found through the @tacit/browser package when not given. */
  sdkPath?: string
  /** The folder holding the page and its assets (packages/server/demo); found next to this module when not given. */
  assetsDir?: string
}

/** The app the demo page reports to: created on first start (startTacitServer). */
export const DEMO_APP = 'demo'

// No inline script or style anywhere: the page's own code and styles are served files.
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
}

/** Assets are referenced with `?v=<content hash>`, so a day of caching never serves a stale file to the page. */
const ASSET_CACHE = 'public, max-age=86400'

const ASSETS: Record<string, { file: string; type: string }> = {
  'demo.js': { file: 'demo.js', type: 'text/javascript; charset=utf-8' },
  'demo.css': { file: 'demo.css', type: 'text/css; charset=utf-8' },
  'tacit.svg': { file: 'tacit.svg', type: 'image/svg+xml' },
}

interface LoadedFile {
  body: Buffer
  version: string
}

/**
 * GET /demo: a small page instrumented with the SDK's script-tag build, reporting to the `demo` app through
 * this same server, so a new user sees events arrive right after `npm start`. The token is looked up on
 * every request: revoking it or deleting the app takes the page down at once.
 */
export async function demoRoutes(scope: FastifyInstance, deps: DemoDeps): Promise<void> {
  const assetsDir = deps.assetsDir ?? fileURLToPath(new URL('../../demo/', import.meta.url))
  const load = createFileCache()
  const sdk = () => {
    const path = deps.sdkPath ?? findSdkBundle()
    return path === undefined ? undefined : load(path)
  }
  const asset = (name: string) => load(`${assetsDir}/${name}`)

  scope.get('/demo', async (request, reply) => {
    const bundle = sdk()
    if (!bundle) return explain(reply, 'The browser SDK is not built: run `npm run build` in the Tacit repository, then reload.')
    const token = await activeDemoToken(deps.store)
    if (!token) {
      return explain(reply, `There is no app named "${DEMO_APP}" with an active client token: create one with \`npx tacit app create ${DEMO_APP}\` (or \`npx tacit token create ${DEMO_APP}\`), then reload.`)
    }
    const template = asset('index.html')
    if (!template) return explain(reply, 'The demo page is missing from this installation of Tacit.')
    const values: Record<string, string> = {
      token,
      endpoint: originOf(request),
      sdkVersion: bundle.version,
      jsVersion: asset('demo.js')?.version ?? '',
      cssVersion: asset('demo.css')?.version ?? '',
    }
    const html = template.body.toString('utf8').replace(/\{\{(\w+)\}\}/g, (_match, key: string) => escapeHtml(values[key] ?? ''))
    return reply
      .headers(SECURITY_HEADERS)
      .header('content-security-policy', PAGE_CSP)
      // The page carries a token looked up now; a cached copy would outlive its revocation.
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(html)
  })

  // The script-tag build, for the demo and for sites (`<script src="https://tacit.example/sdk/tacit.js" …>`).
  const sendSdk = async (request: FastifyRequest, reply: FastifyReply) => {
    const bundle = sdk()
    if (!bundle) return explain(reply, 'The browser SDK is not built: run `npm run build` in the Tacit repository.')
    return sendFile(request, reply, bundle, 'text/javascript; charset=utf-8')
  }
  scope.get('/demo/tacit.js', sendSdk)
  scope.get('/sdk/tacit.js', sendSdk)

  scope.get<{ Params: { name: string } }>('/demo/:name', async (request, reply) => {
    const known = ASSETS[request.params.name]
    const file = known && asset(known.file)
    if (!known || !file) return explain(reply, 'There is no such file in the demo.')
    return sendFile(request, reply, file, known.type)
  })
}

/** The newest active token, so that after a rotation (create, then revoke the old one) the page uses the new one. */
async function activeDemoToken(store: Store): Promise<string | undefined> {
  const app = await store.findAppByName(DEMO_APP)
  if (!app) return undefined
  const active = (await store.listTokens(app.id)).filter((token) => token.revokedAt === null)
  active.sort((a, b) => b.createdAt - a.createdAt)
  return active[0]?.token
}

/**
 * The page sends to the origin it was loaded from. `request.protocol` and `request.host` follow
 * X-Forwarded-Proto/-Host only from trusted proxies (Fastify's trustProxy), so behind a TLS-terminating load
 * balancer the page posts to https. The value is the browser's own Host header, escaped where it is used.
 */
function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: LoadedFile, type: string): FastifyReply {
  const etag = `"${file.version}"`
  reply.headers(SECURITY_HEADERS).header('cache-control', ASSET_CACHE).header('etag', etag)
  if (request.headers['if-none-match'] === etag) return reply.code(304).send()
  return reply.type(type).send(file.body)
}

function explain(reply: FastifyReply, sentence: string): FastifyReply {
  return reply.code(404).headers(SECURITY_HEADERS).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`${sentence}\n`)
}

/**
 * The SDK's IIFE build, `@tacit/browser/tacit.js`. In the repository the workspace links the package; the
 * sibling folder is the fallback for a copy of the server run outside the workspace.
 */
function findSdkBundle(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('@tacit/browser/tacit.js')
  } catch {
    const sibling = fileURLToPath(new URL('../../../browser/dist/tacit.js', import.meta.url))
    return statSync(sibling, { throwIfNoEntry: false })?.isFile() ? sibling : undefined
  }
}

/**
 * Files are read once and kept while their modification time and size stay the same: a rebuilt SDK is
 * picked up without restarting the server, and an unchanged one costs one stat per request.
 */
function createFileCache(): (path: string) => LoadedFile | undefined {
  const cache = new Map<string, LoadedFile & { stamp: string }>()
  return (path) => {
    const stat = statSync(path, { throwIfNoEntry: false })
    if (!stat?.isFile()) return undefined
    const stamp = `${stat.mtimeMs}:${stat.size}`
    const cached = cache.get(path)
    if (cached && cached.stamp === stamp) return cached
    const body = readFileSync(path)
    const loaded = { body, stamp, version: createHash('sha256').update(body).digest('hex').slice(0, 16) }
    cache.set(path, loaded)
    return loaded
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}

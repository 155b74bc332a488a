import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { promisify } from 'node:util'
import { gunzip, inflate } from 'node:zlib'
import { checkRelease } from '../sourcemaps/checkSourceFile.js'
import type { StackResolver } from '../sourcemaps/createStackResolver.js'
import { sourceFileJson, sourceMapReleaseJson } from '../sourcemaps/sourceFileJson.js'
import { SOURCE_MAP_LIMITS } from '../sourcemaps/sourceMapLimits.js'
import { formatBytes, storeSourceFile } from '../sourcemaps/storeSourceFile.js'
import { authenticateSecretKey, type KeyAuthDeps } from './authenticateSecretKey.js'
import { refuse } from './createIngestEdge.js'

const gunzipAsync = promisify(gunzip)
const inflateAsync = promisify(inflate)

export interface SourceMapRouteDeps extends KeyAuthDeps {
  /** Told about uploads and deletes, so issues shown by this process use the new maps at once. */
  stackResolver?: Pick<StackResolver, 'invalidate'>
}

const ROUTE = '/api/v1/sourcemaps'

/**
 * Source maps for CI (issue 5, docs/API.md#source-maps), authenticated with the app's **upload** key:
 * - `POST /api/v1/sourcemaps?release=<r>&name=<path>` with one file as the raw body (`curl --data-binary @file`),
 *   optionally gzip-compressed (`Content-Encoding: gzip`);
 * - `GET /api/v1/sourcemaps` lists the releases, `GET …?release=<r>` a release's files;
 * - `DELETE /api/v1/sourcemaps?release=<r>` deletes a release's files.
 * One file per request keeps the body a plain byte stream, bounded by the per-file limit as it arrives.
 */
export async function sourceMapRoutes(scope: FastifyInstance, deps: SourceMapRouteDeps): Promise<void> {
  scope.removeAllContentTypeParsers()
  // Whatever the Content-Type (curl --data-binary sends a form type): the name says what the file is.
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: SOURCE_MAP_LIMITS.fileBytes }, (_request, body, done) => done(null, body))
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return fileTooLarge(reply)
    const status = error.statusCode ?? 500
    if (status >= 500) {
      request.log.error({ route: request.routeOptions.url, code: error.code, err: { message: error.message, stack: error.stack } }, 'request failed')
      return refuse(reply, 500, 'internal', 'The server could not handle this request.')
    }
    return refuse(reply, status, 'bad_request', 'The request could not be read.')
  })

  /** The key's app, or the refusal already sent. */
  async function appOf(request: FastifyRequest, reply: FastifyReply): Promise<number | undefined> {
    const auth = await authenticateSecretKey(deps, request, reply, 'upload')
    if ('refused' in auth) return undefined
    const appId = auth.key.appId
    // Upload keys are made for one app; a key without one (or whose app is gone) uploads nowhere.
    if (appId === null || !(await deps.store.getApp(appId))) {
      refuse(reply, 403, 'forbidden', 'This upload key belongs to no app: create one with tacit key create <app> --kind upload.')
      return undefined
    }
    return appId
  }

  // The key is checked before the body is read: a request without one is turned away without being heard out.
  const appIds = new WeakMap<FastifyRequest, number>()
  scope.addHook('onRequest', async (request, reply) => {
    const appId = await appOf(request, reply)
    if (appId === undefined) return reply
    appIds.set(request, appId)
  })

  scope.post(ROUTE, async (request, reply) => {
    const appId = appIds.get(request)!
    const query = request.query as Record<string, unknown>
    const raw = request.body instanceof Buffer ? request.body : Buffer.alloc(0)
    if (raw.length === 0) return refuse(reply, 400, 'empty_body', 'The request body is empty: send the file as the body (curl --data-binary @file).')
    const content = await decode(raw, request.headers['content-encoding'])
    if (!content.ok) return content.status === 413 ? fileTooLarge(reply) : refuse(reply, content.status, content.code, content.message)
    const result = await storeSourceFile({ sourceMaps: deps.store.sourceMaps, clock: deps.clock }, { appId, release: query.release, name: query.name, content: content.bytes })
    if (!result.ok) return refuse(reply, result.status, result.code, result.message)
    deps.stackResolver?.invalidate(appId, result.file.release)
    const body: Record<string, unknown> = { ...sourceFileJson(result.file), replaced: result.replaced }
    if (result.inlineMap) body.warning = 'The script carries its map inline (a data: URL), which is not used: upload the map as a file.'
    return reply.code(result.replaced ? 200 : 201).send(body)
  })

  scope.get(ROUTE, async (request, reply) => {
    const appId = appIds.get(request)!
    const { release } = request.query as Record<string, unknown>
    if (release === undefined) {
      const releases = await deps.store.sourceMaps.listReleases(appId)
      return {
        releases: releases.map(sourceMapReleaseJson),
        bytes: releases.reduce((sum, r) => sum + r.bytes, 0),
        limits: LIMITS_JSON,
      }
    }
    const checked = checkRelease(release)
    if (!checked.ok) return refuse(reply, 400, 'bad_release', checked.message)
    const files = await deps.store.sourceMaps.listFiles(appId, checked.value)
    return { release: checked.value, files: files.map(sourceFileJson) }
  })

  scope.delete(ROUTE, async (request, reply) => {
    const appId = appIds.get(request)!
    const checked = checkRelease((request.query as Record<string, unknown>).release)
    if (!checked.ok) return refuse(reply, 400, 'bad_release', checked.message)
    const deleted = await deps.store.sourceMaps.deleteRelease(appId, checked.value)
    deps.stackResolver?.invalidate(appId, checked.value)
    if (deleted === 0) return refuse(reply, 404, 'not_found', 'This release has no uploaded files.')
    return { release: checked.value, deleted }
  })
}

const LIMITS_JSON = {
  file_bytes: SOURCE_MAP_LIMITS.fileBytes,
  release_bytes: SOURCE_MAP_LIMITS.releaseBytes,
  release_files: SOURCE_MAP_LIMITS.releaseFiles,
  app_bytes: SOURCE_MAP_LIMITS.appBytes,
}

function fileTooLarge(reply: FastifyReply): FastifyReply {
  return refuse(reply, 413, 'file_too_large', `The file is larger than ${formatBytes(SOURCE_MAP_LIMITS.fileBytes)}, the limit for one file.`)
}

type Decoded = { ok: true; bytes: Buffer } | { ok: false; status: 400 | 413 | 415; code: string; message: string }

/** Undoes gzip or deflate with the per-file limit on the decompressed size, so a small body cannot expand without bound. */
async function decode(raw: Buffer, encoding: string | undefined): Promise<Decoded> {
  const name = (encoding ?? 'identity').trim().toLowerCase()
  if (name === 'identity' || name === '') return { ok: true, bytes: raw }
  const inflater = name === 'gzip' || name === 'x-gzip' ? gunzipAsync : name === 'deflate' ? inflateAsync : undefined
  if (!inflater) return { ok: false, status: 415, code: 'unsupported_encoding', message: 'Content-Encoding must be gzip, deflate or identity.' }
  try {
    return { ok: true, bytes: await inflater(raw, { maxOutputLength: SOURCE_MAP_LIMITS.fileBytes }) }
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, status: 413, code: 'file_too_large', message: '' }
    return { ok: false, status: 400, code: 'bad_encoding', message: `The body is not valid ${name} data.` }
  }
}

import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSecretKey, hashSecretKey, secretKeyHint, type SecretKeyKind } from '../../src/keys/secretKey.js'
import { cryptoRandom } from '../../src/randomSource.js'
import { SOURCE_MAP_LIMITS } from '../../src/sourcemaps/sourceMapLimits.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import { createTestApp } from '../support/storedData.js'
import { makeTempDir, startServerProcess, type ServerProcess } from '../support/tacitProcess.js'
import { buildFixtureBundle, type FixtureBundle } from './buildFixtureBundle.js'

/** POST /api/v1/sourcemaps, GET and DELETE against a real server process, with real keys. */

const dir = makeTempDir('tacit-sourcemap-api-')
let server: ServerProcess
let build: FixtureBundle
const keys: Record<string, string> = {}
let clientToken: string

async function createKey(dataDir: string, kind: SecretKeyKind, appId: number | null, revoked = false): Promise<string> {
  const store = createSqliteStore({ path: join(dataDir, 'tacit.db') })
  try {
    const key = generateSecretKey(kind, cryptoRandom)
    const record = await store.secretKeys.create({ kind, appId, hash: hashSecretKey(key), hint: secretKeyHint(key), label: null, createdAt: Date.now() })
    if (revoked) await store.secretKeys.revoke(record.id, Date.now())
    return key
  } finally {
    await store.close()
  }
}

beforeAll(async () => {
  build = await buildFixtureBundle(join(dir.path, 'build'), 'esbuild')
  const dataDir = join(dir.path, 'data')
  const shop = await createTestApp(dataDir, 'shop')
  const blog = await createTestApp(dataDir, 'blog')
  clientToken = shop.token
  keys.upload = await createKey(dataDir, 'upload', shop.appId)
  keys.blogUpload = await createKey(dataDir, 'upload', blog.appId)
  keys.unscopedUpload = await createKey(dataDir, 'upload', null)
  keys.api = await createKey(dataDir, 'api', shop.appId)
  keys.revoked = await createKey(dataDir, 'upload', shop.appId, true)
  server = await startServerProcess({ dataDir })
}, 60_000)
afterAll(async () => {
  await server?.stop()
  dir.remove()
})

interface Answer {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

async function call(method: string, query: Record<string, string>, options: { key?: string; body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const url = `${server.url}/api/v1/sourcemaps?${new URLSearchParams(query).toString()}`
  const headers: Record<string, string> = { ...options.headers }
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : new Uint8Array(options.body)
  const response = await fetch(url, { method, headers, body })
  const text = await response.text()
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers }
}

/**
 * Declares an oversized body in Content-Length and sends only its first bytes: the server must refuse it from
 * the header alone, with 413, without waiting for (or reading) the rest. Sending the whole body instead would race
 * the server closing the connection (EPIPE before the answer is read).
 */
function uploadRefusedEarly(release: string, name: string, declaredBytes: number): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${server.url}/api/v1/sourcemaps?${new URLSearchParams({ release, name }).toString()}`)
    const request = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${keys.upload}`, 'content-type': 'application/octet-stream', 'content-length': declaredBytes } }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => {
        request.destroy()
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> })
      })
    })
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error)
    })
    request.write(Buffer.alloc(1024, 0x20))
  })
}

function upload(release: string, name: string, body: Buffer | string, key = keys.upload, headers: Record<string, string> = {}): Promise<Answer> {
  return call('POST', { release, name }, { key, body, headers: { 'content-type': 'application/octet-stream', ...headers } })
}

function mapBytes(): Buffer {
  return readFileSync(join(build.dist, build.mapName))
}

describe('POST /api/v1/sourcemaps', () => {
  it('stores a map and its bundle with an upload key, as curl --data-binary sends them', async () => {
    const map = await upload('1.0.0', build.mapName, mapBytes(), keys.upload, { 'content-type': 'application/x-www-form-urlencoded' })
    expect(map.status).toBe(201)
    expect(map.body).toMatchObject({ release: '1.0.0', name: build.mapName, kind: 'map', size: mapBytes().length, replaced: false, source_mapping_url: null })
    expect(map.body.sha256).toMatch(/^[0-9a-f]{64}$/)
    const bundle = await upload('1.0.0', build.bundleName, readFileSync(join(build.dist, build.bundleName)))
    expect(bundle.status).toBe(201)
    expect(bundle.body).toMatchObject({ kind: 'bundle', stored_size: 0, source_mapping_url: 'app.3f9a2c1b.js.map' })
    // Again: replaced, 200.
    const again = await upload('1.0.0', build.mapName, mapBytes())
    expect(again).toMatchObject({ status: 200, body: { replaced: true } })
  })

  it('takes a gzip-compressed body, and a body without Content-Type', async () => {
    const gz = await upload('1.0.1', build.mapName, gzipSync(mapBytes()), keys.upload, { 'content-encoding': 'gzip' })
    expect(gz).toMatchObject({ status: 201, body: { size: mapBytes().length } })
    const response = await fetch(`${server.url}/api/v1/sourcemaps?release=1.0.2&name=a.js.map`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.upload}` },
      body: new Uint8Array(mapBytes()),
    })
    expect(response.status).toBe(201)
  })

  it('lists releases and a release\'s files, and deletes a release', async () => {
    await upload('3.0.0', build.mapName, mapBytes())
    const releases = await call('GET', {}, { key: keys.upload })
    expect(releases.status).toBe(200)
    expect((releases.body.releases as Array<{ release: string }>).map((r) => r.release)).toContain('3.0.0')
    expect(releases.body.limits).toEqual({
      file_bytes: SOURCE_MAP_LIMITS.fileBytes,
      release_bytes: SOURCE_MAP_LIMITS.releaseBytes,
      release_files: SOURCE_MAP_LIMITS.releaseFiles,
      app_bytes: SOURCE_MAP_LIMITS.appBytes,
    })
    const files = await call('GET', { release: '3.0.0' }, { key: keys.upload })
    expect(files.body).toMatchObject({ release: '3.0.0', files: [{ name: build.mapName, kind: 'map' }] })
    // Another app's key sees its own app only.
    expect((await call('GET', { release: '3.0.0' }, { key: keys.blogUpload })).body).toEqual({ release: '3.0.0', files: [] })
    expect(await call('DELETE', { release: '3.0.0' }, { key: keys.blogUpload })).toMatchObject({ status: 404, body: { error: 'not_found' } })

    expect(await call('DELETE', { release: '3.0.0' }, { key: keys.upload })).toMatchObject({ status: 200, body: { release: '3.0.0', deleted: 1 } })
    expect((await call('GET', { release: '3.0.0' }, { key: keys.upload })).body).toEqual({ release: '3.0.0', files: [] })
    expect(await call('DELETE', { release: '3.0.0' }, { key: keys.upload })).toMatchObject({ status: 404 })
    expect(await call('DELETE', {}, { key: keys.upload })).toMatchObject({ status: 400, body: { error: 'bad_release' } })
  })

  describe('refuses without a valid upload key, before reading the body', () => {
    it.each([
      ['no key', undefined, 401],
      ['an unknown key', 'tacit_upload_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 401],
      ['the public client token', 'CLIENT_TOKEN', 401],
      ['a revoked upload key', 'revoked', 401],
      ['an API key', 'api', 403],
      ['an upload key for no app', 'unscopedUpload', 403],
    ])('%s → %i', async (_label, which, status) => {
      const key = which === undefined ? undefined : which === 'CLIENT_TOKEN' ? clientToken : (keys[which] ?? which)
      for (const method of ['POST', 'GET', 'DELETE']) {
        const answer = await call(method, { release: '1.0.0', name: 'x.js.map' }, { key, ...(method === 'POST' ? { body: mapBytes() } : {}) })
        expect(answer.status, method).toBe(status)
        expect(answer.body.message).toEqual(expect.any(String))
      }
    })

    it('does not take the key from the query string', async () => {
      const answer = await call('POST', { release: '1.0.0', name: 'x.js.map', token: keys.upload!, key: keys.upload! }, { body: mapBytes() })
      expect(answer.status).toBe(401)
    })
  })

  it.each([
    ['a missing release', { name: 'a.js.map' }, 400, 'bad_release'],
    ['an empty release', { release: '', name: 'a.js.map' }, 400, 'bad_release'],
    ['a release with a newline', { release: '1.0\n', name: 'a.js.map' }, 400, 'bad_release'],
    ['a missing name', { release: '1.0.0' }, 400, 'bad_name'],
    ['a path climbing out', { release: '1.0.0', name: '../../etc/passwd.js.map' }, 400, 'bad_name'],
    ['an absolute path', { release: '1.0.0', name: '/etc/app.js.map' }, 400, 'bad_name'],
    ['a Windows path', { release: '1.0.0', name: '..\\..\\app.js.map' }, 400, 'bad_name'],
    ['a URL', { release: '1.0.0', name: 'http://169.254.169.254/latest.js.map' }, 400, 'bad_name'],
    ['a NUL in the name', { release: '1.0.0', name: 'a\u0000.js.map' }, 400, 'bad_name'],
    ['another file type', { release: '1.0.0', name: 'index.html' }, 400, 'bad_name'],
  ])('refuses %s with %i', async (_label, query, status, code) => {
    const answer = await call('POST', query, { key: keys.upload, body: mapBytes() })
    expect(answer).toMatchObject({ status, body: { error: code } })
  })

  it.each([
    ['not JSON', 'this is not a map'],
    ['a map of version 2', JSON.stringify({ version: 2, sources: [], mappings: '' })],
    ['a map with hostile mappings', JSON.stringify({ version: 3, sources: [], mappings: '\u0000;AAAA' })],
    ['a map whose section points at a URL', JSON.stringify({ version: 3, sections: [{ offset: { line: 0, column: 0 }, url: 'http://127.0.0.1:1/x.map' }] })],
  ])('refuses %s with 400', async (_label, body) => {
    const answer = await upload('1.0.0', 'bad.js.map', body)
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_source_map' } })
    expect(JSON.stringify(answer.body)).not.toContain('127.0.0.1')
  })

  it('refuses an empty body and a broken gzip body with 400, an unknown encoding with 415', async () => {
    expect(await upload('1.0.0', 'a.js.map', '')).toMatchObject({ status: 400, body: { error: 'empty_body' } })
    expect(await upload('1.0.0', 'a.js.map', 'not gzip', keys.upload, { 'content-encoding': 'gzip' })).toMatchObject({ status: 400, body: { error: 'bad_encoding' } })
    expect(await upload('1.0.0', 'a.js.map', mapBytes(), keys.upload, { 'content-encoding': 'br' })).toMatchObject({ status: 415 })
  })

  it('refuses a file over the size limit with 413, whether sent whole or as a gzip bomb', async () => {
    const oversized = Buffer.alloc(SOURCE_MAP_LIMITS.fileBytes + 1, 0x20)
    const whole = await uploadRefusedEarly('1.0.0', 'big.js.map', oversized.length)
    expect(whole).toMatchObject({ status: 413, body: { error: 'file_too_large' } })
    expect(whole.body.message).toMatch(/32 MiB/)
    // A few dozen KB that would inflate past the limit.
    const bomb = gzipSync(oversized)
    expect(bomb.length).toBeLessThan(100_000)
    expect(await upload('1.0.0', 'big.js.map', bomb, keys.upload, { 'content-encoding': 'gzip' })).toMatchObject({ status: 413, body: { error: 'file_too_large' } })
    const list = await call('GET', { release: '1.0.0' }, { key: keys.upload })
    expect((list.body.files as Array<{ name: string }>).map((f) => f.name)).not.toContain('big.js.map')
  })

  it('never lets one app\'s key write into another app', async () => {
    await upload('7.0.0', build.mapName, mapBytes(), keys.blogUpload)
    expect((await call('GET', { release: '7.0.0' }, { key: keys.upload })).body).toEqual({ release: '7.0.0', files: [] })
    expect((await call('GET', { release: '7.0.0' }, { key: keys.blogUpload })).body).toMatchObject({ files: [{ name: build.mapName }] })
  })

  it('logs neither the key nor the file names', async () => {
    await upload('8.0.0', 'secret-name-marker.js.map', mapBytes())
    await upload('8.0.0', 'x.js.map', 'broken')
    expect(server.output()).not.toContain(keys.upload)
    expect(server.output()).not.toContain('secret-name-marker')
  })
})

import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashSecretKey, SECRET_KEY_PATTERN } from '../../src/keys/secretKey.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import { runCliInProcess } from '../support/runCliInProcess.js'
import { createTestApp, databaseBytes } from '../support/storedData.js'
import { makeTempDir, runTacit } from '../support/tacitProcess.js'
import { expectOneSentenceError, expectSuccess, parseJson } from './cliAssertions.js'

/** `tacit key create|list|revoke`: secret keys are shown once, stored only as a SHA-256, and revoked by id. */

interface KeyJson {
  id: number
  kind: string
  app_id: number | null
  hint: string
  label: string | null
  active: boolean
  created_at: string
  revoked_at: string | null
  last_used_at: string | null
  key?: string
}

let dir: ReturnType<typeof makeTempDir>
let shopId: number
const tacit = (...args: string[]) => runCliInProcess(args, dir.path)

beforeAll(async () => {
  dir = makeTempDir('tacit-cli-keys-')
  shopId = (await createTestApp(dir.path, 'shop')).appId
  await createTestApp(dir.path, 'blog')
})
afterAll(() => dir.remove())

describe('tacit key create', () => {
  it('creates an upload key for one app, prints it once, and stores only its hash and a 4-character hint', async () => {
    const created = parseJson<KeyJson>(await tacit('key', 'create', 'shop', '--kind', 'upload', '--label', 'github-actions', '--json'))
    expect(created).toMatchObject({ kind: 'upload', app_id: shopId, label: 'github-actions', active: true, revoked_at: null, last_used_at: null })
    expect(created.key).toMatch(SECRET_KEY_PATTERN)
    expect(created.key!.startsWith('tacit_upload_')).toBe(true)
    expect(created.hint).toBe(`${created.key!.slice(0, 'tacit_upload_'.length + 4)}…`)

    const bytes = databaseBytes(dir.path)
    expect(bytes.includes(created.key!)).toBe(false)
    // Not the random part either, nor any 12-character stretch of it.
    const random = created.key!.slice('tacit_upload_'.length)
    for (let i = 4; i + 12 <= random.length; i += 6) expect(bytes.includes(random.slice(i, i + 12)), random.slice(i, i + 12)).toBe(false)
    expect(bytes.includes(hashSecretKey(created.key!))).toBe(true)

    const store = createSqliteStore({ path: join(dir.path, 'tacit.db') })
    try {
      expect((await store.secretKeys.findByHash(hashSecretKey(created.key!)))?.id).toBe(created.id)
      const [audit] = await store.readAudit({ limit: 1 })
      expect(audit).toMatchObject({ action: 'key.create', actor: 'cli', appId: shopId, detail: { id: created.id, kind: 'upload', hint: created.hint } })
      expect(JSON.stringify(audit)).not.toContain(random.slice(4))
    } finally {
      await store.close()
    }
  })

  it('says in words that the key is shown once', async () => {
    const out = expectSuccess(await tacit('key', 'create', '--kind', 'api'))
    expect(out).toMatch(/^Created an api key for every app, id \d+\. It is shown only this once; keep it secret:\ntacit_api_[A-Za-z0-9_-]{43}\n$/)
  })

  it('makes keys that are all different (256 random bits each)', async () => {
    const keys = new Set<string>()
    for (let i = 0; i < 5; i++) keys.add(parseJson<KeyJson>(await tacit('key', 'create', 'shop', '--kind', 'api', '--json')).key!)
    expect(keys.size).toBe(5)
  })

  it.each([
    [['key', 'create', 'shop'], /--kind upload\|api\|relay/],
    [['key', 'create', 'shop', '--kind', 'admin'], /--kind must be one of upload\|api\|relay/],
    [['key', 'create', 'shop', '--kind', ''], /--kind must be one of/],
    [['key', 'create', '--kind', 'upload'], /An upload key belongs to one app/],
    [['key', 'create', 'nope', '--kind', 'upload'], /There is no app "nope"/],
    [['key', 'create', 'shop', 'blog', '--kind', 'upload'], /Unexpected argument "blog"/],
    [['key', 'create', 'shop', '--kind', 'upload', '--label', '<script>alert(1)</script>'], /A key label is up to 64/],
    [['key', 'create', 'shop', '--kind', 'upload', '--label', 'x'.repeat(65)], /A key label is up to 64/],
    [['key', 'create', 'shop', '--kind', 'upload', '--label', 'ci\u001b[31m'], /A key label is up to 64/],
    [['key', 'create', 'shop', '--kind', 'upload', '--frobnicate'], /Unknown option '--frobnicate'/],
  ])('refuses %j with one sentence', async (args, message) => {
    expectOneSentenceError(await tacit(...args), message)
  })
})

describe('tacit key list', () => {
  it('lists keys by id and hint, never the key, with an app filter that keeps unscoped keys', async () => {
    const upload = parseJson<KeyJson>(await tacit('key', 'create', 'blog', '--kind', 'upload', '--json'))
    const relay = parseJson<KeyJson>(await tacit('key', 'create', '--kind', 'relay', '--json'))
    const all = parseJson<KeyJson[]>(await tacit('key', 'list', '--json'))
    expect(all.map((k) => k.id)).toEqual([...all.map((k) => k.id)].sort((a, b) => a - b))
    expect(all.some((k) => 'key' in k)).toBe(false)
    const blog = parseJson<KeyJson[]>(await tacit('key', 'list', 'blog', '--json'))
    expect(blog.map((k) => k.id)).toContain(upload.id)
    expect(blog.map((k) => k.id)).toContain(relay.id)
    expect(blog.every((k) => k.app_id === null || k.app_id === upload.app_id)).toBe(true)
    expect(parseJson<KeyJson[]>(await tacit('key', 'list', '--kind', 'relay', '--json')).map((k) => k.id)).toEqual([relay.id])

    const table = expectSuccess(await tacit('key', 'list', 'blog'))
    expect(table).toMatch(/^ID +KIND +APP +HINT +LABEL +CREATED +REVOKED +LAST USED \(HOUR\)\n/)
    expect(table).toContain(upload.hint)
    expect(table).not.toContain(upload.key!)
    expect(table).toMatch(/relay +\(all\)/)
  })

  it('refuses a bad kind or an unknown app', async () => {
    expectOneSentenceError(await tacit('key', 'list', '--kind', 'x'), /--kind must be one of/)
    expectOneSentenceError(await tacit('key', 'list', 'nope'), /There is no app "nope"/)
  })
})

describe('tacit key revoke', () => {
  it('revokes by id, once, and records it', async () => {
    const created = parseJson<KeyJson>(await tacit('key', 'create', 'shop', '--kind', 'upload', '--json'))
    expect(expectSuccess(await tacit('key', 'revoke', String(created.id)))).toBe(`Revoked the upload key ${created.id} (${created.hint}).\n`)
    expectOneSentenceError(await tacit('key', 'revoke', String(created.id)), new RegExp(`The upload key ${created.id} .* was already revoked at \\d{4}-`))
    const listed = parseJson<KeyJson[]>(await tacit('key', 'list', 'shop', '--json')).find((k) => k.id === created.id)
    expect(listed).toMatchObject({ active: false })
    expect(listed!.revoked_at).toMatch(/^\d{4}-/)
  })

  it.each([
    [['key', 'revoke'], /Missing the argument <id>/],
    [['key', 'revoke', '999999'], /There is no secret key with id 999999/],
    [['key', 'revoke', 'tacit_api_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], /is not a key id: .*revoke by id, not by the key/],
    [['key', 'revoke', '1', '2'], /Unexpected argument "2"/],
    [['key', 'revoke', '-1'], /is not a key id|Unknown option/],
  ])('refuses %j with one sentence', async (args, message) => {
    expectOneSentenceError(await tacit(...args), message)
  })
})

it('is wired into the real binary and its help', async () => {
  const help = await runTacit(['help'])
  expect(help.stdout).toMatch(/key create +Create a secret key/)
  const result = await runTacit(['key', 'create', 'shop', '--kind', 'api', '--json'], { dataDir: dir.path })
  expect((JSON.parse(expectSuccess(result)) as KeyJson).key).toMatch(/^tacit_api_/)
})

it('creates relay keys for every app and for one app (a relay in front of one site)', async () => {
  const everyApp = parseJson<KeyJson>(await tacit('key', 'create', '--kind', 'relay', '--json'))
  const oneApp = parseJson<KeyJson>(await tacit('key', 'create', 'shop', '--kind', 'relay', '--json'))
  expect(everyApp.key).toMatch(/^tacit_relay_[A-Za-z0-9_-]{43}$/)
  expect(oneApp.key).toMatch(/^tacit_relay_[A-Za-z0-9_-]{43}$/)
  expect(expectSuccess(await tacit('key', 'list', '--kind', 'relay'))).toMatch(/relay\s+shop/)
})

it('creates TrackX keys for one app only (issue 9: the trackx client sends to one app with it)', async () => {
  const key = parseJson<KeyJson>(await tacit('key', 'create', 'shop', '--kind', 'trackx', '--json'))
  expect(key.key).toMatch(/^tacit_trackx_[A-Za-z0-9_-]{43}$/)
  expectOneSentenceError(await tacit('key', 'create', '--kind', 'trackx'), /A TrackX key sends to one app/)
})

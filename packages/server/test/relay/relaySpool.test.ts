import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRelaySpool, type RelaySpool, type SpooledRequest } from '../../src/relay/createRelaySpool.js'

/**
 * The relay spool keeps requests acknowledged to the browser while the upstream is down (issue 8); these tests
 * use real files, because durability, modes and crash leftovers are what is being checked.
 */
describe('relay spool', () => {
  let root: string
  let dir: string
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tacit-relay-spool-'))
    dir = join(root, 'spool')
  })
  afterEach(async () => {
    await chmod(root, 0o700).catch(() => undefined)
    await rm(root, { recursive: true, force: true })
  })

  it('returns entries oldest first, and the next one after each remove', async () => {
    const spool = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    expect(await spool.peek()).toBeUndefined()
    for (const n of [1, 2, 3]) expect(await spool.append(request(`event ${n}`))).toBe(true)

    expect(await drain(spool)).toEqual(['event 1', 'event 2', 'event 3'])
    expect(spool.stats()).toEqual({ entries: 0, bytes: 0, maxBytes: 1 << 20 })
    expect(await entryFiles(dir)).toEqual([])
  })

  it('keeps a peeked entry until it is removed, and ignores unknown ids', async () => {
    const spool = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    await spool.append(request('kept'))
    const first = await spool.peek()
    expect((await spool.peek())?.id).toBe(first?.id)
    await spool.remove('no-such-id')
    await spool.remove('../../etc/passwd')
    expect(spool.stats().entries).toBe(1)
    await spool.remove(first?.id ?? '')
    await spool.remove(first?.id ?? '')
    expect(spool.stats()).toMatchObject({ entries: 0, bytes: 0 })
  })

  it('keeps path, headers and body, and its order and size, across a re-open', async () => {
    const spool = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    const sent = [request('a'), request('b', '/api/v1/report'), request('c')]
    for (const r of sent) await spool.append(r)
    await spool.remove((await spool.peek())?.id ?? '')
    const before = spool.stats()

    const reopened = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    expect(reopened.stats()).toEqual(before)
    expect(reopened.discarded()).toBe(0)
    const entry = await reopened.peek()
    expect(entry?.request).toEqual(sent[1])
    // New entries go after the old ones: the sequence resumes after the highest id on disk.
    await reopened.append(request('d'))
    expect(await drain(reopened)).toEqual(['b', 'c', 'd'])
  })

  it('counts on-disk sizes against the limit, refuses what does not fit, and has room again after a remove', async () => {
    const probe = await createRelaySpool({ dir: join(root, 'probe'), maxBytes: 1 << 20 })
    await probe.append(request('x'.repeat(100)))
    const entrySize = probe.stats().bytes
    expect(entrySize).toBe((await stat(join(root, 'probe', (await entryFiles(join(root, 'probe')))[0] ?? ''))).size)

    const spool = await createRelaySpool({ dir, maxBytes: entrySize * 2 })
    expect(await spool.append(request('x'.repeat(100)))).toBe(true)
    expect(await spool.append(request('y'.repeat(100)))).toBe(true)
    expect(await spool.append(request('z'.repeat(100)))).toBe(false)
    expect(spool.stats()).toEqual({ entries: 2, bytes: entrySize * 2, maxBytes: entrySize * 2 })
    expect(await readdir(dir)).toHaveLength(2) // nothing written, not even a temp file

    await spool.remove((await spool.peek())?.id ?? '')
    expect(await spool.append(request('z'.repeat(100)))).toBe(true)
    expect(await drain(spool)).toEqual(['y'.repeat(100), 'z'.repeat(100)])
  })

  it('keeps every one of many concurrent appends exactly once, in call order, with exact stats', async () => {
    const spool = await createRelaySpool({ dir, maxBytes: 1 << 24 })
    const texts = Array.from({ length: 200 }, (_, n) => `concurrent ${n} ${'p'.repeat(n)}`)
    const results = await Promise.all(texts.map((text) => spool.append(request(text))))
    expect(results.every(Boolean)).toBe(true)

    const files = await entryFiles(dir)
    const diskBytes = (await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size))).reduce((a, b) => a + b, 0)
    expect(spool.stats()).toEqual({ entries: 200, bytes: diskBytes, maxBytes: 1 << 24 })
    expect(await readdir(dir)).toHaveLength(200)

    const ids = new Set<string>()
    const bodies: string[] = []
    for (let entry = await spool.peek(); entry; entry = await spool.peek()) {
      ids.add(entry.id)
      bodies.push(entry.request.body.toString())
      await spool.remove(entry.id)
    }
    expect(ids.size).toBe(200)
    expect(bodies).toEqual(texts)
  })

  it('does not let concurrent appends together pass the limit', async () => {
    const probe = await createRelaySpool({ dir: join(root, 'probe'), maxBytes: 1 << 20 })
    await probe.append(request('same size'))
    const entrySize = probe.stats().bytes

    const spool = await createRelaySpool({ dir, maxBytes: entrySize * 5 })
    const results = await Promise.all(Array.from({ length: 20 }, () => spool.append(request('same size'))))
    expect(results.filter(Boolean)).toHaveLength(5)
    expect(spool.stats()).toMatchObject({ entries: 5, bytes: entrySize * 5 })
    expect(await readdir(dir)).toHaveLength(5)
  })

  it('discards and counts a corrupted entry on peek, and returns the next good one', async () => {
    const spool = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    for (const text of ['good 1', 'flipped', 'good 2']) await spool.append(request(text))
    const [, flipped] = await entryFiles(dir)
    const path = join(dir, flipped ?? '')
    const bytes = await readFile(path)
    const at = bytes.indexOf('flipped')
    bytes[at] = (bytes[at] ?? 0) ^ 0x01
    await writeFile(path, bytes)

    expect(await drain(spool)).toEqual(['good 1', 'good 2'])
    expect(spool.discarded()).toBe(1)
    expect(spool.stats()).toMatchObject({ entries: 0, bytes: 0 })
    expect(await readdir(dir)).toEqual([])
  })

  it('discards and counts a truncated entry, found on peek or on open', async () => {
    const spool = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    for (const text of ['cut on peek', 'cut before open', 'good']) await spool.append(request(text))
    const [first, second] = await entryFiles(dir)
    await truncate(join(dir, first ?? ''), 20)

    expect((await spool.peek())?.request.body.toString()).toBe('cut before open')
    expect(spool.discarded()).toBe(1)

    await truncate(join(dir, second ?? ''), 3)
    const reopened = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    expect(reopened.discarded()).toBe(1)
    expect(reopened.stats().entries).toBe(1)
    expect(reopened.stats().bytes).toBe((await stat(join(dir, (await entryFiles(dir))[0] ?? ''))).size)
    expect(await drain(reopened)).toEqual(['good'])
  })

  it('removes temp files left by a crash mid-write, and leaves files that are not its own', async () => {
    const spool = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    await spool.append(request('kept'))
    await writeFile(join(dir, '0000000000000007.req.tmp'), 'half a wri')
    await writeFile(join(dir, 'README'), 'operator notes')

    const reopened = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    expect((await readdir(dir)).sort()).toEqual(['0000000000000000.req', 'README'])
    expect(reopened.stats().entries).toBe(1)
    expect(reopened.discarded()).toBe(0)
    expect(await drain(reopened)).toEqual(['kept'])
  })

  it('creates its directory 0700 and its files 0600, since entries hold the client token', async () => {
    const spool = await createRelaySpool({ dir: join(dir, 'nested'), maxBytes: 1 << 20 })
    await spool.append(request('secret'))
    expect((await stat(join(dir, 'nested'))).mode & 0o777).toBe(0o700)
    const [file] = await entryFiles(join(dir, 'nested'))
    expect((await stat(join(dir, 'nested', file ?? ''))).mode & 0o777).toBe(0o600)
  })

  it('refuses a directory it cannot create, naming it', async () => {
    await writeFile(join(root, 'a-file'), '')
    const notADir = join(root, 'a-file', 'spool')
    await expect(createRelaySpool({ dir: notADir, maxBytes: 1024 })).rejects.toThrow(notADir)
    await expect(createRelaySpool({ dir: join(root, 'a-file'), maxBytes: 1024 })).rejects.toThrow(join(root, 'a-file'))
  })

  // root may write anywhere, so a read-only mode only refuses other users.
  it('refuses a directory it cannot write, naming it', async () => {
    await mkdir(dir, { mode: 0o500 })
    if (process.getuid?.() !== 0) {
      await expect(createRelaySpool({ dir, maxBytes: 1024 })).rejects.toThrow(dir)
      return
    }
    // Root writes anywhere: the built module is run as `nobody`, for whom 0500 means what it says.
    await chmod(join(dir, '..'), 0o755)
    const built = new URL('../../dist/relay/createRelaySpool.js', import.meta.url).href
    const script = `import(${JSON.stringify(built)}).then((m) => m.createRelaySpool({ dir: ${JSON.stringify(dir)}, maxBytes: 1024 })).then(() => console.log('opened'), (e) => console.log(e.message))`
    const output = execFileSync('runuser', ['-u', 'nobody', '--', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(output).toContain(dir)
    expect(output).not.toContain('opened')
  })

  it('refuses hostile input with a TypeError, writing nothing', async () => {
    const spool = await createRelaySpool({ dir, maxBytes: 1 << 20 })
    const hostile: unknown[] = [
      { ...request('x'), path: 'api/v1/ingest' },
      { ...request('x'), path: '//evil.example/api/v1/ingest' },
      { ...request('x'), path: 42 },
      { ...request('x'), headers: { 'content-type': 7 } },
      { ...request('x'), headers: { 'x-tacit-token': ['a', 'b'] } },
      { ...request('x'), headers: { 'x-evil': 'a\r\nhost: evil.example' } },
      { ...request('x'), headers: { 'Content-Type': 'text/plain' } },
      { ...request('x'), headers: null },
      { ...request('x'), body: 'not a buffer' },
      null,
    ]
    for (const input of hostile) {
      await expect(spool.append(input as SpooledRequest), JSON.stringify(input)).rejects.toThrow(TypeError)
    }
    expect(spool.stats().entries).toBe(0)
    expect(await readdir(dir)).toEqual([])
    await expect(createRelaySpool({ dir, maxBytes: 0 })).rejects.toThrow(TypeError)
  })

  it('round-trips an empty body and a 1 MiB body byte for byte', async () => {
    const spool = await createRelaySpool({ dir, maxBytes: 4 << 20 })
    const big = randomBytes(1 << 20)
    await spool.append({ path: '/api/v1/ingest', headers: {}, body: Buffer.alloc(0) })
    await spool.append({ path: '/api/v1/ingest', headers: { 'content-encoding': 'gzip' }, body: big })

    const reopened = await createRelaySpool({ dir, maxBytes: 4 << 20 })
    const empty = await reopened.peek()
    expect(empty?.request).toEqual({ path: '/api/v1/ingest', headers: {}, body: Buffer.alloc(0) })
    await reopened.remove(empty?.id ?? '')
    const large = await reopened.peek()
    expect(large?.request.headers).toEqual({ 'content-encoding': 'gzip' })
    expect(large?.request.body.equals(big)).toBe(true)
  })
})

function request(body: string, path = '/api/v1/ingest'): SpooledRequest {
  return {
    path,
    headers: { 'content-type': 'text/plain', 'x-tacit-token': 'client-token', origin: 'https://shop.example', 'x-tacit-relay': 'visitor-key' },
    body: Buffer.from(body),
  }
}

/** Peeks and removes until empty, returning the bodies in the order they came out. */
async function drain(spool: RelaySpool): Promise<string[]> {
  const bodies: string[] = []
  for (let entry = await spool.peek(); entry; entry = await spool.peek()) {
    bodies.push(entry.request.body.toString())
    await spool.remove(entry.id)
  }
  return bodies
}

async function entryFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.req')).sort()
}

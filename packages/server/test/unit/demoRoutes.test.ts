import Fastify from 'fastify'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { demoRoutes } from '../../src/http/demoRoutes.js'
import type { App, ClientToken, Store } from '../../src/store/Store.js'

const DEMO: App = { id: 7, name: 'demo', createdAt: 0, settings: {} } as App

function token(value: string, createdAt: number, revokedAt: number | null = null): ClientToken {
  return { token: value, appId: DEMO.id, createdAt, revokedAt, lastUsedAt: null }
}

/** Only what the demo page reads from the store. */
function fakeStore(apps: App[], tokens: ClientToken[]): Store {
  const partial: Pick<Store, 'findAppByName' | 'listTokens'> = {
    findAppByName: async (name) => apps.find((app) => app.name === name),
    listTokens: async (appId) => tokens.filter((t) => t.appId === appId),
  }
  return partial as Store
}

describe('demoRoutes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-demo-unit-'))
  const sdkPath = join(dir, 'tacit.js')
  writeFileSync(sdkPath, '/* sdk */')
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  async function server(store: Store, options: { sdkPath?: string } = { sdkPath }) {
    const app = Fastify()
    await app.register(async (scope) => demoRoutes(scope, { store, ...options }))
    return app
  }

  it('embeds the newest active token and ignores revoked ones', async () => {
    const app = await server(fakeStore([DEMO], [token('tc_old', 1), token('tc_new', 3), token('tc_revoked', 5, 6)]))
    const page = await app.inject({ url: '/demo' })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('data-token="tc_new"')
    expect(page.body).not.toContain('tc_revoked')
  })

  it('escapes the Host header it builds the endpoint from', async () => {
    const app = await server(fakeStore([DEMO], [token('tc_a', 1)]))
    const page = await app.inject({ url: '/demo', headers: { host: 'x"><script>alert(1)</script>' } })
    expect(page.body).not.toContain('<script>alert(1)')
    expect(page.body).toContain('data-endpoint="http://x&#34;&#62;&#60;script&#62;')
  })

  it('answers 404 with one sentence when the demo app is missing or has no active token', async () => {
    for (const store of [fakeStore([], []), fakeStore([DEMO], [token('tc_gone', 1, 2)])]) {
      const page = await (await server(store)).inject({ url: '/demo' })
      expect(page.statusCode).toBe(404)
      expect(page.headers['content-type']).toBe('text/plain; charset=utf-8')
      expect(page.body).toMatch(/^There is no app named "demo" with an active client token[^\n]*\.\n$/)
    }
  })

  it('says how to build the SDK when its bundle is missing', async () => {
    const app = await server(fakeStore([DEMO], [token('tc_a', 1)]), { sdkPath: join(dir, 'missing.js') })
    for (const url of ['/demo', '/demo/tacit.js']) {
      const answer = await app.inject({ url })
      expect(answer.statusCode).toBe(404)
      expect(answer.body).toMatch(/^The browser SDK is not built: run `npm run build`/)
    }
  })

  it('serves a rebuilt bundle without a restart, under a new version', async () => {
    const path = join(dir, 'rebuilt.js')
    writeFileSync(path, 'one')
    const app = await server(fakeStore([DEMO], [token('tc_a', 1)]), { sdkPath: path })
    const first = await app.inject({ url: '/demo/tacit.js' })
    writeFileSync(path, 'two, a little longer')
    const second = await app.inject({ url: '/demo/tacit.js' })
    expect([first.body, second.body]).toEqual(['one', 'two, a little longer'])
    expect(second.headers.etag).not.toBe(first.headers.etag)
    expect((await app.inject({ url: '/demo' })).body).toContain(`tacit.js?v=${String(second.headers.etag).replace(/"/g, '')}`)
  })
})

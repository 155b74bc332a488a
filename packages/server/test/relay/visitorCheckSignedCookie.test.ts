import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createVisitorCheck, type VisitorCheckOptions } from '../../src/relay/visitorCheck/createVisitorCheck.js'

const SECRET = 'keyboard cat, but longer'
const clock = { now: () => Date.UTC(2025, 0, 15) }

/** cookie-signature's `sign`, which Express (cookie-parser) and @fastify/cookie both use. */
function signature(value: string, secret = SECRET): string {
  return createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')
}
const express = (value: string, secret = SECRET) => `s:${value}.${signature(value, secret)}`
const fastify = (value: string, secret = SECRET) => `${value}.${signature(value, secret)}`

function setup(cookieName = 'connect.sid', secret = SECRET) {
  const visitorCheck = createVisitorCheck({ method: 'signed-cookie', cookieName, secret }, { clock })
  return (cookie: string | undefined) => visitorCheck.check({ cookie })
}

const OK = { ok: true }
const INVALID = { ok: false, reason: 'invalid' }
const MISSING = { ok: false, reason: 'missing' }

describe('signed-cookie visitor check', () => {
  it('matches the published cookie-signature test vector', async () => {
    // From cookie-signature's own tests: sign('hello', 'tobiiscool').
    const check = setup('connect.sid', 'tobiiscool')
    expect(await check('connect.sid=s%3Ahello.DGDUkGlIkCzPz%2BC0B064FNgHdEjox7ch8tOBGslZ5QI')).toEqual(OK)
    expect(await check('connect.sid=hello.DGDUkGlIkCzPz%2BC0B064FNgHdEjox7ch8tOBGslZ5QI')).toEqual(OK)
  })

  it('passes an Express signed cookie, URL-encoded as Express sends it', async () => {
    const check = setup()
    const value = 'k3Jd9_sessionid-with.dots.and/slashes+plus'
    expect(await check(`connect.sid=${encodeURIComponent(express(value))}`)).toEqual(OK)
    // Also when written without encoding.
    expect(await check(`connect.sid=${express(value)}`)).toEqual(OK)
  })

  it('passes a @fastify/cookie signed cookie (no s: prefix)', async () => {
    const check = setup('sid')
    expect(await check(`sid=${encodeURIComponent(fastify('user-42'))}`)).toEqual(OK)
    // A Fastify value that itself starts with "s:".
    expect(await check(`sid=${encodeURIComponent(fastify('s:user-42'))}`)).toEqual(OK)
    expect(await check(`sid=${encodeURIComponent(fastify('héllo wörld'))}`)).toEqual(OK)
  })

  it('refuses a tampered value or signature', async () => {
    const check = setup()
    const signed = express('user-42')
    expect(await check(`connect.sid=${encodeURIComponent(signed.replace('user-42', 'user-43'))}`)).toEqual(INVALID)
    const flipped = signed.slice(0, -1) + (signed.endsWith('A') ? 'B' : 'A')
    expect(await check(`connect.sid=${encodeURIComponent(flipped)}`)).toEqual(INVALID)
    // A signature moved to another value, or the value's prefix moved into the signed part.
    expect(await check(`connect.sid=${encodeURIComponent(`s:admin.${signature('user-42')}`)}`)).toEqual(INVALID)
    expect(await check(`connect.sid=${encodeURIComponent(`s:s:user-42.${signature('user-42')}`)}`)).toEqual(INVALID)
  })

  it('refuses a cookie signed with another secret', async () => {
    const check = setup()
    expect(await check(`connect.sid=${encodeURIComponent(express('user-42', 'another secret'))}`)).toEqual(INVALID)
    expect(await check(`connect.sid=${encodeURIComponent(fastify('user-42', 'another secret'))}`)).toEqual(INVALID)
  })

  it('refuses malformed and unsigned values', async () => {
    const check = setup()
    const good = signature('user-42')
    const shapes = [
      'user-42',
      's:user-42',
      's:',
      '.',
      's:.',
      `s:user-42.`,
      `s:user-42.${good}=`,
      `s:user-42.${good.replace(/\+/g, '-').replace(/\//g, '_')}x`,
      `s:user-42.${good.slice(0, -1)}`,
      `s:user-42.${good}${good}`,
      `s:user-42..${good}`,
      `s:user-42.${good} `,
      'j:{"admin":true}',
    ]
    for (const shape of shapes) expect(await check(`connect.sid=${encodeURIComponent(shape)}`), shape).toEqual(INVALID)
    expect(await check('connect.sid=s%3Auser-42.%E0%A4%A')).toEqual(INVALID)
  })

  it('accepts a signature of an empty value, as cookie-signature does', async () => {
    expect(await setup()(`connect.sid=${encodeURIComponent(express(''))}`)).toEqual(OK)
  })

  it('refuses base64url where Express writes standard base64', async () => {
    const check = setup()
    // Find a value whose signature has + or /, which base64url would spell - or _.
    let value = 'v0'
    for (let i = 0; !/[+/]/.test(signature(value)); i++) value = `v${i}`
    const urlSafe = signature(value).replace(/\+/g, '-').replace(/\//g, '_')
    expect(await check(`connect.sid=${encodeURIComponent(`s:${value}.${urlSafe}`)}`)).toEqual(INVALID)
    expect(await check(`connect.sid=${encodeURIComponent(express(value))}`)).toEqual(OK)
  })

  it('finds the cookie among others and answers missing without it', async () => {
    const check = setup()
    const good = encodeURIComponent(express('user-42'))
    expect(await check(`_ga=GA1.2.3; connect.sid=${good}; theme=dark`)).toEqual(OK)
    expect(await check(`connect.sid.old=${encodeURIComponent(express('x', 'old'))}; connect.sid=${good}`)).toEqual(OK)
    expect(await check(undefined)).toEqual(MISSING)
    expect(await check('')).toEqual(MISSING)
    expect(await check('theme=dark')).toEqual(MISSING)
    expect(await check('connect.sid=')).toEqual(MISSING)
  })

  it('refuses an oversized cookie', async () => {
    const check = setup()
    expect(await check(`connect.sid=${encodeURIComponent(express('x'.repeat(9000)))}`)).toEqual(INVALID)
    expect(await check(`connect.sid=${encodeURIComponent(express('x'.repeat(4000)))}`)).toEqual(OK)
  })

  it('validates options at creation', () => {
    const create = (options: Record<string, unknown>) => () =>
      createVisitorCheck({ method: 'signed-cookie', cookieName: 'sid', secret: SECRET, ...options } as VisitorCheckOptions, { clock })
    expect(create({ secret: '' })).toThrow(/"secret" must be a non-empty string/)
    expect(create({ secret: undefined })).toThrow(/"secret"/)
    expect(create({ cookieName: 'a;b' })).toThrow(/cookieName/)
    expect(create({ cookieName: undefined })).toThrow(/cookieName/)
  })
})

import { createAttachmentEnvelopeItem, createEnvelope, serializeEnvelope, type Envelope } from '@sentry/core'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { MAX_ENVELOPE_ITEMS, parseEnvelope, type ParsedEnvelope } from '../../src/compat/sentry/parseEnvelope.js'
import { sentryItemKind } from '../../src/compat/sentry/sentryItemKind.js'
import { seededRandom } from './jsonMutations.js'

const FIXTURES = join(import.meta.dirname, '../fixtures/sentry')

interface CapturedRequest {
  file: string | null
  method: string
  url: string
  headers: Record<string, string>
}

/** Every captured body, decompressed as the server would (Content-Encoding: gzip). */
function fixtures(): Array<{ file: string; body: Buffer }> {
  return readdirSync(FIXTURES)
    .filter((name) => /\.envelope(\.gz)?$/.test(name))
    .sort()
    .map((file) => {
      const raw = readFileSync(join(FIXTURES, file))
      return { file, body: file.endsWith('.gz') ? gunzipSync(raw) : raw }
    })
}

function parsed(result: ParsedEnvelope): Extract<ParsedEnvelope, { ok: true }> {
  if (!result.ok) throw new Error(`expected an envelope, got: ${result.message}`)
  return result
}

function refused(result: ParsedEnvelope): string {
  if (result.ok) throw new Error(`expected a refusal, got ${result.items.length} items`)
  return result.message
}

const bytes = (text: string) => Buffer.from(text, 'utf8')

describe('parseEnvelope: the captured SDK envelopes', () => {
  const all = fixtures()

  it('has the browser and node captures', () => {
    expect(all.filter((f) => f.file.startsWith('browser-')).length).toBeGreaterThanOrEqual(10)
    expect(all.filter((f) => f.file.startsWith('node-')).length).toBeGreaterThanOrEqual(8)
  })

  for (const { file, body } of all) {
    it(`parses ${file}`, () => {
      const envelope = parsed(parseEnvelope(body))
      expect(envelope.items.length).toBeGreaterThan(0)
      // The file is named after its item types.
      const named = file.replace(/^(browser-pii|browser|node)-\d+-/, '').replace(/\.envelope(\.gz)?$/, '')
      if (named !== 'gzip') expect(envelope.items.map((item) => item.type).join('+')).toBe(named)
      for (const item of envelope.items) {
        if (item.type === 'attachment') continue
        // Every JSON item's payload is one JSON object.
        expect(typeof JSON.parse(item.payload.toString('utf8'))).toBe('object')
      }
      if (envelope.items.some((item) => item.type === 'event')) {
        expect(envelope.header.event_id).toMatch(/^[0-9a-f]{32}$/)
        const event = JSON.parse(envelope.items[0]!.payload.toString('utf8')) as { event_id: string }
        expect(event.event_id).toBe(envelope.header.event_id)
      }
    })
  }

  it('reads the attachment by its length: newlines and a non-UTF-8 byte inside, then the next item', () => {
    const { body } = all.find((f) => f.file.includes('attachment'))!
    const envelope = parsed(parseEnvelope(body))
    const attachment = envelope.items.find((item) => item.type === 'attachment')!
    expect(attachment.headers).toMatchObject({ length: 9, filename: 'notes.bin' })
    expect([...attachment.payload]).toEqual([108, 105, 110, 101, 10, 255, 10, 123, 125])
  })

  it('the requests: key in the query, text/plain or nothing, no preflight, gzip only from node over 32 KiB', () => {
    for (const name of ['browser-requests.json', 'node-requests.json']) {
      const { requests } = JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as { requests: CapturedRequest[] }
      for (const request of requests) {
        expect(request.method).toBe('POST')
        const url = new URL(request.url, 'http://intake.invalid')
        expect(url.pathname).toBe('/api/42/envelope/')
        expect(url.searchParams.get('sentry_key')).toBe('tc_SentryFixture0123456789abcdefXYZ')
        expect(url.searchParams.get('sentry_version')).toBe('7')
        expect(url.searchParams.get('sentry_client')).toMatch(/^sentry\.javascript\.(browser|node)\/11\.12\.0$/)
        expect(request.headers['x-sentry-auth']).toBeUndefined()
        if (name.startsWith('browser')) {
          expect(request.headers['content-encoding']).toBeUndefined()
          expect([undefined, 'text/plain;charset=UTF-8']).toContain(request.headers['content-type'])
        } else {
          expect(request.headers['content-type']).toBeUndefined()
          expect(request.headers['content-encoding'] === 'gzip').toBe(request.file!.endsWith('.gz'))
        }
      }
    }
  })
})

describe('parseEnvelope: the format', () => {
  it('matches what @sentry/core serializes: JSON items without length, binary ones with it', () => {
    const payload = new Uint8Array([0, 10, 13, 10, 255, 0x7b])
    const envelope: Envelope = createEnvelope({ event_id: 'a'.repeat(32), sent_at: '2026-01-01T00:00:00.000Z' }, [
      [{ type: 'event' }, { message: 'one\ntwo', level: 'error' }],
      createAttachmentEnvelopeItem({ filename: 'a.bin', data: payload }),
      createAttachmentEnvelopeItem({ filename: 'empty.txt', data: '' }),
      [{ type: 'session' }, { sid: 'x', status: 'ok' }],
    ] as never)
    const body = Buffer.from(serializeEnvelope(envelope) as Uint8Array)
    const result = parsed(parseEnvelope(body))
    expect(result.header).toEqual({ event_id: 'a'.repeat(32), sent_at: '2026-01-01T00:00:00.000Z' })
    expect(result.items.map((item) => item.type)).toEqual(['event', 'attachment', 'attachment', 'session'])
    expect(JSON.parse(result.items[0]!.payload.toString())).toEqual({ message: 'one\ntwo', level: 'error' })
    expect([...result.items[1]!.payload]).toEqual([...payload])
    expect(result.items[2]!.payload.length).toBe(0)
    expect(JSON.parse(result.items[3]!.payload.toString())).toEqual({ sid: 'x', status: 'ok' })
  })

  it('takes a trailing newline or none, and an envelope with no items', () => {
    const base = '{"dsn":"x"}\n{"type":"event"}\n{"a":1}'
    for (const body of [base, `${base}\n`]) {
      const result = parsed(parseEnvelope(bytes(body)))
      expect(result.items).toHaveLength(1)
      expect(result.items[0]!.payload.toString()).toBe('{"a":1}')
    }
    expect(parsed(parseEnvelope(bytes('{}'))).items).toEqual([])
    expect(parsed(parseEnvelope(bytes('{}\n'))).items).toEqual([])
  })

  it('reads empty payloads: with length 0, without length before the next item, and a last header alone', () => {
    const result = parsed(parseEnvelope(bytes('{}\n{"type":"attachment","length":0}\n\n{"type":"session"}\n\n{"type":"event"}\n{"b":2}\n{"type":"client_report"}')))
    expect(result.items.map((item) => [item.type, item.payload.toString()])).toEqual([
      ['attachment', ''],
      ['session', ''],
      ['event', '{"b":2}'],
      ['client_report', ''],
    ])
  })

  it('reads a length payload that ends the body without a newline, and one followed by \\n', () => {
    expect(parsed(parseEnvelope(bytes('{}\n{"type":"a","length":3}\nx\ny'))).items[0]!.payload.toString()).toBe('x\ny')
    const two = parsed(parseEnvelope(bytes('{}\n{"type":"a","length":3}\nx\ny\n{"type":"b","length":1}\nz\n')))
    expect(two.items.map((item) => item.payload.toString())).toEqual(['x\ny', 'z'])
  })

  it('counts length in bytes, not characters', () => {
    const text = 'é€😀'
    const body = Buffer.concat([bytes(`{}\n{"type":"a","length":${Buffer.byteLength(text)}}\n`), bytes(text), bytes('\n{"type":"b"}\n{}')])
    const result = parsed(parseEnvelope(body))
    expect(result.items[0]!.payload.toString('utf8')).toBe(text)
    expect(result.items[1]!.type).toBe('b')
  })

  it('reads CRLF line ends as JSON whitespace', () => {
    const result = parsed(parseEnvelope(bytes('{}\r\n{"type":"event"}\r\n{"c":3}\r\n')))
    expect(JSON.parse(result.items[0]!.payload.toString())).toEqual({ c: 3 })
  })

  it('takes exactly MAX_ENVELOPE_ITEMS items and refuses one more', () => {
    const envelope = (count: number) => bytes(`{}\n${'{"type":"session"}\n{}\n'.repeat(count)}`)
    expect(parsed(parseEnvelope(envelope(MAX_ENVELOPE_ITEMS))).items).toHaveLength(MAX_ENVELOPE_ITEMS)
    expect(refused(parseEnvelope(envelope(MAX_ENVELOPE_ITEMS + 1)))).toMatch(/more than 100 items/)
  })

  it('refuses what is not an envelope, naming the item and never quoting the body', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['not json\n{"type":"event"}\n{}', /envelope header/],
      ['[1,2]\n', /envelope header/],
      ['null', /envelope header/],
      ['{}\n{"type":"event"}\n{}\nsecret-token-123', /Item 2: its header/],
      ['{}\n{"length":2}\nab', /Item 1: its header has no type/],
      ['{}\n{"type":""}\n{}', /no type/],
      ['{}\n{"type":7}\n{}', /no type/],
      ['{}\n{"type":"a","length":100}\nshort', /Item 1: its length runs past the end/],
      ['{}\n{"type":"a","length":-1}\n', /non-negative integer/],
      ['{}\n{"type":"a","length":1.5}\nab', /non-negative integer/],
      ['{}\n{"type":"a","length":"2"}\nab', /non-negative integer/],
      ['{}\n{"type":"a","length":1e300}\nab', /non-negative integer/],
      ['{}\n{"type":"a","length":2}\nabcdef', /longer than its length/],
      ['{}\n{"type":"a","length":1}', /runs past the end/],
      // As Relay reads it: a payload, even an empty one, ends with a newline (or the body).
      ['{}\n{"type":"a","length":0}\n{"type":"b"}\n{}', /longer than its length/],
    ]
    for (const [body, message] of cases) {
      const text = refused(parseEnvelope(bytes(body)))
      expect(text, body).toMatch(message)
      expect(text).not.toContain('secret-token-123')
    }
  })
})

describe('parseEnvelope: hostile bodies never throw', () => {
  /** A small deterministic generator (mulberry32), so a failure can be replayed. */
  it('every prefix of every captured envelope (a truncated upload)', () => {
    for (const { body } of fixtures()) {
      for (let end = 0; end <= body.length; end += end < 400 ? 1 : 37) {
        const result = parseEnvelope(body.subarray(0, end))
        expect(typeof result.ok).toBe('boolean')
      }
    }
  })

  it('10,000 items are refused at item 101, without reading the rest', () => {
    const body = bytes(`{}\n${'{"type":"event"}\n{"message":"x"}\n'.repeat(10_000)}`)
    const started = performance.now()
    expect(refused(parseEnvelope(body))).toMatch(/more than 100 items/)
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('10,000 blank lines, a length past the end, a huge length', () => {
    expect(parsed(parseEnvelope(bytes(`{}${'\n'.repeat(10_000)}`))).items).toEqual([])
    expect(parseEnvelope(bytes(`{}\n{"type":"a","length":${Number.MAX_SAFE_INTEGER}}\nx`)).ok).toBe(false)
    expect(parseEnvelope(bytes(`{}\n{"type":"a","length":4294967296}\nx`)).ok).toBe(false)
  })

  it('deeply nested JSON in the header lines', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000)
    expect(parseEnvelope(bytes(deep)).ok).toBe(false)
    const deepObject = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000)
    expect(parsed(parseEnvelope(bytes(`${deepObject}\n{"type":"event"}\n{}`))).items).toHaveLength(1)
    expect(parseEnvelope(bytes(`{}\n${'{"type":"a","x":'.repeat(30_000)}`)).ok).toBe(false)
  })

  it('binary garbage, and garbage spliced into real envelopes', () => {
    const next = seededRandom(9)
    const all = fixtures()
    for (let round = 0; round < 2000; round++) {
      let body: Buffer
      if (round % 2 === 0) {
        body = Buffer.alloc(Math.floor(next() * 2048))
        for (let i = 0; i < body.length; i++) body[i] = next() < 0.1 ? 10 : Math.floor(next() * 256)
      } else {
        body = Buffer.from(all[round % all.length]!.body)
        for (let flips = 0; flips < 4; flips++) body[Math.floor(next() * body.length)] = Math.floor(next() * 256)
      }
      const result = parseEnvelope(body)
      if (result.ok) {
        expect(result.items.length).toBeLessThanOrEqual(MAX_ENVELOPE_ITEMS)
        for (const item of result.items) expect(typeof item.type).toBe('string')
      } else {
        expect(typeof result.message).toBe('string')
      }
    }
  })

  it('a non-Buffer argument', () => {
    expect(parseEnvelope(undefined as unknown as Buffer).ok).toBe(false)
    expect(parseEnvelope('{}' as unknown as Buffer).ok).toBe(false)
  })
})

describe('sentryItemKind', () => {
  it('translates events, accepts sessions and client reports, drops the rest', () => {
    expect(sentryItemKind('event')).toBe('translate')
    for (const type of ['session', 'sessions', 'client_report']) expect(sentryItemKind(type)).toBe('accept')
    for (const type of ['transaction', 'attachment', 'replay_event', 'replay_recording', 'profile', 'profile_chunk', 'check_in', 'feedback', 'user_report', 'span', 'log', 'statsd', 'Event', 'EVENT', '', 'future_type']) {
      expect(sentryItemKind(type), type).toBe('drop')
    }
  })

  it('every item type in the captures has a kind', () => {
    const kinds = new Map<string, string>()
    for (const { body } of fixtures()) for (const item of parsed(parseEnvelope(body)).items) kinds.set(item.type, sentryItemKind(item.type))
    expect(Object.fromEntries(kinds)).toEqual({ session: 'accept', event: 'translate', attachment: 'drop', client_report: 'accept', sessions: 'accept' })
  })
})

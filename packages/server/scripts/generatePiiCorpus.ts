/**
 * Writes the labelled PII corpus (test/fixtures/pii/): planted personal data from seeded generators (valid
 * checksums, many formats and positions) and clean strings from real sources (Node stack traces thrown
 * here, URLs, versions and integrity hashes from node_modules metadata, UUIDs, timestamps, prices).
 *
 * `tsx packages/server/scripts/generatePiiCorpus.ts` rewrites the tuning half only. The held-out half is
 * frozen: it is written once (`--held-out`, refused when the file exists) and never regenerated, so
 * rules tuned against the tuning half are measured on data they were not tuned on.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const OUT = join(ROOT, 'packages/server/test/fixtures/pii')

export type PiiType = 'email' | 'phone' | 'ip' | 'card' | 'iban' | 'ssn' | 'jwt' | 'token' | 'secret' | 'credentials'
export interface CorpusEntry {
  /** `url` entries go through the URL scrubber, `text` ones through the text scrubber. */
  field: 'text' | 'url'
  text: string
  /** Planted values; empty for clean strings, which must come back byte-identical. */
  pii: Array<{ type: PiiType; value: string }>
  source: string
}

/** mulberry32: a tiny seeded PRNG, so the corpus is reproducible from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function createCorpus(seed: number, half: 0 | 1): CorpusEntry[] {
  const random = mulberry32(seed)
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1))
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const digits = (n: number) => Array.from({ length: n }, () => int(0, 9)).join('')
  const chars = (n: number, alphabet: string) => Array.from({ length: n }, () => alphabet[int(0, alphabet.length - 1)]).join('')
  const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  const B64URL = ALNUM + '-_'
  const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

  const FIRST = ['john', 'maria', 'li', 'ahmed', 'sofia', 'lucas', 'emma', 'noah', 'olga', 'yuki', 'chloe', 'raj']
  const LAST = ['smith', 'garcia', 'wang', 'khan', 'rossi', 'muller', 'dubois', 'tanaka', 'novak', 'silva']
  const DOMAINS = ['example.com', 'mail.example.org', 'corp.example.co.uk', 'example.de', 'uni-example.edu', 'example.io']

  const generators: Record<PiiType, () => string> = {
    email: () => {
      const local = pick([
        `${pick(FIRST)}.${pick(LAST)}`, `${pick(FIRST)}${int(1, 99)}`, `${pick(FIRST)}_${pick(LAST)}+news`,
        `${pick(FIRST).toUpperCase()}.${pick(LAST)}`, `${pick(FIRST)[0]}${pick(LAST)}`,
      ])
      return `${local}@${pick(DOMAINS)}`
    },
    phone: () =>
      pick([
        () => `+1 ${int(201, 989)} 555 ${digits(4)}`,
        () => `+1-${int(201, 989)}-555-${digits(4)}`,
        () => `+1${int(201, 989)}555${digits(4)}`,
        () => `(${int(201, 989)}) 555-${digits(4)}`,
        () => `${int(201, 989)}-555-${digits(4)}`,
        () => `${int(201, 989)}.555.${digits(4)}`,
        () => `+44 20 ${int(7000, 7999)} ${digits(4)}`,
        () => `+49 30 ${digits(8)}`,
        () => `+33 1 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`,
        () => `020 ${int(7000, 7999)} ${digits(4)}`,
        () => `06 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`,
        () => `+91 ${int(70000, 99999)} ${digits(5)}`,
      ])(),
    ip: () =>
      pick([
        () => `${int(11, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
        () => `2001:db8:${int(1, 0xffff).toString(16)}::${int(1, 0xffff).toString(16)}`,
        () => Array.from({ length: 8 }, () => int(0, 0xffff).toString(16)).join(':'),
        () => `fe80::${int(1, 0xffff).toString(16)}:${int(1, 0xffff).toString(16)}:${int(1, 0xfff).toString(16)}${int(0, 9)}`,
      ])(),
    card: () => {
      const [prefix, length] = pick([['4', 16], ['51', 16], ['55', 16], ['2221', 16], ['34', 15], ['37', 15], ['6011', 16], ['4', 13], ['35', 16]] as const)
      const body = prefix + digits(length - prefix.length - 1)
      const number = body + luhnDigit(body)
      return pick([
        () => number,
        () => number.replace(/(\d{4})(?=\d)/g, '$1 '),
        () => number.replace(/(\d{4})(?=\d)/g, '$1-'),
      ])()
    },
    iban: () => {
      const [country, bban] = pick([
        ['DE', () => digits(18)], ['GB', () => chars(4, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') + digits(14)], ['FR', () => digits(23)],
        ['NL', () => chars(4, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') + digits(10)], ['ES', () => digits(20)], ['IT', () => 'X' + digits(10) + chars(12, UPPER_NUM)],
      ] as const)
      const basic = bban()
      const iban = country + ibanCheck(country, basic) + basic
      return random() < 0.5 ? iban : iban.replace(/(.{4})(?=.)/g, '$1 ')
    },
    ssn: () => {
      let area = int(1, 899)
      if (area === 666) area = 667
      const sep = pick(['-', ' '])
      return `${String(area).padStart(3, '0')}${sep}${String(int(1, 99)).padStart(2, '0')}${sep}${String(int(1, 9999)).padStart(4, '0')}`
    },
    jwt: () => {
      const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
      return `${b64({ alg: pick(['HS256', 'RS256']), typ: 'JWT' })}.${b64({ sub: digits(6), name: pick(FIRST), iat: 1_700_000_000 + int(0, 9_999_999) })}.${chars(43, B64URL)}`
    },
    token: () =>
      pick([
        () => `ghp_${chars(36, ALNUM)}`,
        () => `gho_${chars(36, ALNUM)}`,
        () => `github_pat_${chars(22, ALNUM)}_${chars(59, ALNUM)}`,
        () => `xoxb-${digits(12)}-${digits(12)}-${chars(24, ALNUM)}`,
        () => `sk_live_${chars(24, ALNUM)}`,
        () => `rk_live_${chars(24, ALNUM)}`,
        () => `AKIA${chars(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
        () => `AIza${chars(35, B64URL)}`,
        () => `sk-proj-${chars(48, B64URL)}`,
        () => `sk-${chars(48, ALNUM)}`,
      ])(),
    secret: () => chars(int(8, 20), ALNUM),
    credentials: () => `${pick(FIRST)}:${chars(10, ALNUM)}`,
  }

  const sentence = (v: string) =>
    pick([
      `Contact ${v} for details`, `Failed to deliver to ${v}: timeout`, `User ${v} not found`, `${v}`, `(${v})`,
      `value "${v}", retrying`, `<${v}>`, `lookup failed for ${v}.`, `[checkout] ${v} rejected at step 3`,
    ])
  const json = (key: string, v: string) => `{"id":${int(1, 9999)},"${key}":"${v}","ok":true}`
  const stack = (v: string) =>
    `Error: invalid input ${v}\n    at validate (https://app.example.com/static/js/main.${chars(8, 'abcdef0123456789')}.js:${int(1, 9)}:${int(100, 99999)})\n    at submit (https://app.example.com/static/js/main.js:1:${int(100, 9999)})`
  const entries: CorpusEntry[] = []
  const plant = (type: PiiType, make: (v: string) => { text: string; field: 'text' | 'url' }, source: string) => {
    const value = generators[type]()
    const { text, field } = make(value)
    entries.push({ field, text, pii: [{ type, value }], source })
  }
  const DATA_TYPES: PiiType[] = ['email', 'phone', 'ip', 'card', 'iban', 'ssn', 'jwt', 'token']
  for (let round = 0; round < 40; round++) {
    for (const type of DATA_TYPES) {
      plant(type, (v) => ({ field: 'text', text: sentence(v) }), 'sentence')
      plant(type, (v) => ({ field: 'text', text: json(pick(['value', 'note', 'data', 'ref']), v) }), 'json')
      plant(type, (v) => ({ field: 'text', text: stack(v) }), 'stack')
      plant(type, (v) => ({ field: 'url', text: `https://shop.example.com/search?q=${encodeURIComponent(v)}&page=${int(1, 9)}` }), 'query')
      if (type === 'email' || type === 'ip' || type === 'jwt' || type === 'token') {
        plant(type, (v) => ({ field: 'url', text: `https://shop.example.com/u/${v}/orders` }), 'path')
      }
    }
    plant('token', (v) => ({ field: 'text', text: `Request failed: Authorization: Bearer ${v}` }), 'header')
    entries.push(
      bearerEntry(`Bearer ${chars(int(24, 40), B64URL)}`),
    )
    const keyName = pick(['password', 'passwd', 'api_key', 'apiKey', 'session_id', 'auth', 'secret', 'access_token', 'X-Auth-Token', 'cvv', 'sessionToken'])
    plant('secret', (v) => ({ field: 'text', text: `${keyName}=${v}` }), 'kv')
    plant('secret', (v) => ({ field: 'text', text: `login failed {"${keyName}":"${v}","user":"u${int(1, 999)}"}` }), 'json-key')
    plant('secret', (v) => ({ field: 'url', text: `https://shop.example.com/callback?${keyName}=${v}&step=${int(1, 5)}` }), 'query-key')
    plant('secret', (v) => ({ field: 'url', text: `https://shop.example.com/#access_token=${v}&token_type=bearer` }), 'fragment')
    plant('credentials', (v) => ({ field: 'url', text: `https://${v}@db.example.com:5432/app` }), 'url-credentials')
    plant('credentials', (v) => ({ field: 'text', text: `connect ECONNREFUSED postgres://${v}@db.internal/app` }), 'text-credentials')
    entries.push(privateKeyEntry())
  }

  function bearerEntry(value: string): CorpusEntry {
    return { field: 'text', text: `fetch /api/cart with ${value} returned 401`, pii: [{ type: 'token', value: value.slice(7) }], source: 'bearer' }
  }
  function privateKeyEntry(): CorpusEntry {
    const body = Array.from({ length: 3 }, () => chars(64, ALNUM + '+/')).join('\n')
    return { field: 'text', text: `config: -----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY----- loaded`, pii: [{ type: 'token', value: body }], source: 'private-key' }
  }

  const clean = (text: string, source: string, field: 'text' | 'url' = 'text') => entries.push({ field, text, pii: [], source })
  for (const text of cleanFromPackages(half)) clean(text.text, text.source, text.field)
  for (const text of nodeStackTraces().filter((_, index) => index % 2 === half)) clean(text, 'node-stack')
  const hex = (n: number) => chars(n, '0123456789abcdef')
  for (let round = 0; round < 60; round++) {
    const major = int(100, 131)
    clean(`Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.${int(5000, 6999)}.${int(10, 250)} Safari/537.36`, 'version')
    clean(`Chrome/${major}.0.0.0`, 'version')
    clean(`release ${int(2020, 2030)}.${int(1, 12)}.${int(1, 31)} (build ${hex(7)})`, 'version')
    clean(`v${int(0, 20)}.${int(0, 40)}.${int(0, 99)}-beta.${int(1, 9)}+build.${int(100, 999)}`, 'version')
    clean(`commit ${hex(40)} sha256:${hex(64)}`, 'hash')
    clean(`${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`, 'uuid')
    const ts = 1_600_000_000_000 + int(0, 200_000_000) * 1000 + int(0, 999)
    clean(`${new Date(ts).toISOString()} took ${int(1, 9999)}ms at ${ts}`, 'timestamp')
    clean(`epoch ${Math.floor(ts / 1000)} offset +0${int(0, 9)}:00 at ${new Date(ts).toUTCString()}`, 'timestamp')
    clean(`Total $${int(1, 9)},${int(100, 999)}.${int(10, 99)} (was €${int(10, 999)},${int(10, 99)}) — save ${int(5, 50)}%`, 'price')
    clean(`viewport ${pick([1920, 1366, 1440, 390, 412])}x${pick([1080, 768, 900, 844, 915])} dpr ${pick(['1', '2', '2.625', '3'])}`, 'dimension')
    clean(`margin: 0 auto; padding: ${int(0, 32)}px ${int(0, 32)}px; color: #${hex(6)}; transform: translate(${int(0, 99)}px, ${int(0, 99)}px) rotate(${int(0, 359)}deg); background: rgba(0, 0, 0, 0.${int(1, 9)})`, 'css')
    clean(`/usr/local/lib/node_modules/pkg-${hex(4)}/dist/index.js:${int(1, 999)}:${int(1, 99)}`, 'path')
    clean(`https://shop.example.com/products/${pick(['shoes', 'hats', 'bags'])}-${int(1, 999)}?color=${pick(['red', 'blue'])}&size=${int(36, 46)}&page=${int(1, 9)}#reviews`, 'url', 'url')
    const fn = pick(['checkout', 'render', 'onClick', 'fetchCart', 'Module.t'])
    const file = `https://cdn.example.com/assets/app.${hex(8)}.js`
    clean(`TypeError: Cannot read properties of undefined (reading '${pick(['id', 'length', 'map'])}')\n    at ${fn} (${file}:${int(1, 9)}:${int(1, 99999)})\n    at ${file}:1:${int(100, 9999)}`, 'chrome-stack')
    clean(`${fn}@${file}:${int(1, 9)}:${int(1, 99999)}\nasync*@${file}:1:${int(100, 9999)}`, 'firefox-stack')
    clean(`${fn}@${file}:${int(1, 9)}:${int(1, 99999)}\nglobal code@${file}:1:${int(100, 9999)}`, 'safari-stack')
  }
  return entries
}

function luhnDigit(body: string): string {
  let sum = 0
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i])
    if (i % 2 === 0) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return String((10 - (sum % 10)) % 10)
}

function ibanCheck(country: string, bban: string): string {
  const numeric = (bban + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55))
  let remainder = 0
  for (const ch of numeric) remainder = (remainder * 10 + Number(ch)) % 97
  return String(98 - remainder).padStart(2, '0')
}

/** Real metadata: versions, repository and homepage URLs, tarball URLs and integrity hashes. Packages alternate between halves. */
function cleanFromPackages(half: 0 | 1): Array<{ text: string; source: string; field: 'text' | 'url' }> {
  const out: Array<{ text: string; source: string; field: 'text' | 'url' }> = []
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; resolved?: string; integrity?: string }> }
  const names = Object.keys(lock.packages).filter((name) => name.startsWith('node_modules/')).sort()
  names.forEach((name, index) => {
    if (index % 2 !== half || index % 6 > 1) return
    const entry = lock.packages[name]!
    if (entry.resolved) out.push({ text: entry.resolved, source: 'lock-resolved', field: 'url' })
    if (entry.integrity) out.push({ text: entry.integrity, source: 'lock-integrity', field: 'text' })
    if (entry.version) out.push({ text: `${name.slice('node_modules/'.length)}@${entry.version}`, source: 'lock-version', field: 'text' })
    const manifestPath = join(ROOT, name, 'package.json')
    if (!existsSync(manifestPath)) return
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { homepage?: unknown; repository?: unknown; bugs?: unknown }
    const repository = typeof manifest.repository === 'object' && manifest.repository ? (manifest.repository as { url?: unknown }).url : manifest.repository
    const bugs = typeof manifest.bugs === 'object' && manifest.bugs ? (manifest.bugs as { url?: unknown }).url : manifest.bugs
    for (const url of [manifest.homepage, repository, bugs]) {
      if (typeof url === 'string' && url !== '') out.push({ text: url, source: 'package-url', field: 'url' })
    }
  })
  return out
}

/** Real Node.js errors, thrown here, with their real stacks (paths, line:column, node:internal frames). */
function nodeStackTraces(): string[] {
  const stacks: string[] = []
  const capture = (fn: () => unknown) => {
    try {
      fn()
    } catch (error) {
      stacks.push((error as Error).stack ?? String(error))
    }
  }
  const nothing = undefined as unknown as { id: number; call(): void }
  capture(() => nothing.id)
  capture(() => nothing.call())
  capture(() => JSON.parse('{"a": 1,}'))
  capture(() => new Array(-1))
  capture(() => (1.5).toFixed(200))
  capture(() => decodeURIComponent('%E0%A4%A'))
  capture(() => readFileSync('/nonexistent/tacit-corpus/config.json'))
  capture(() => new URL('not a url'))
  capture(() => BigInt('1.5'))
  capture(() => structuredClone(() => 1))
  capture(() => Buffer.alloc(-5))
  capture(() => {
    const deep = (n: number): number => (n === 0 ? (() => { throw new RangeError(`depth exhausted at ${Date.UTC(2024, 4, 1)}`) })() : deep(n - 1))
    return deep(5)
  })
  capture(() => {
    const recurse = (): number => recurse() + 1
    return recurse()
  })
  capture(() => [1, 2, 3].map((n) => (n === 3 ? (null as unknown as { x: number }).x : n)))
  capture(() => Symbol('s').toString.call(42))
  capture(() => Object.defineProperty(Object.freeze({}), 'x', { value: 1 }))
  // The recursion stack is long and repetitive: keep its first lines only, as a real report would.
  return stacks.map((stack) => stack.split('\n').slice(0, 12).join('\n'))
}

function write(file: string, entries: CorpusEntry[]) {
  writeFileSync(join(OUT, file), entries.map((entry) => JSON.stringify(entry)).join('\n') + '\n')
  console.log(`wrote ${entries.length} entries to ${file}`)
}

const heldOutFile = join(OUT, 'heldOut.jsonl')
if (process.argv.includes('--held-out')) {
  if (existsSync(heldOutFile)) {
    console.error('The held-out half is frozen and already exists; it is never regenerated.')
    process.exit(1)
  }
  write('heldOut.jsonl', createCorpus(0x7ac17_2, 1))
} else {
  write('tuning.jsonl', createCorpus(0x7ac17_1, 0))
}

import { describe, expect, it } from 'vitest'
import { checkRelease, checkSourceFileContent, checkSourceFileName, findSourceMappingUrl, parseSourceMap } from '../../src/sourcemaps/checkSourceFile.js'
import { SOURCE_MAP_LIMITS } from '../../src/sourcemaps/sourceMapLimits.js'
import { storeSourceFile } from '../../src/sourcemaps/storeSourceFile.js'
import type { SourceMapStore } from '../../src/store/SourceMapStore.js'

const VALID_MAP = { version: 3, sources: ['src/a.ts'], names: ['a'], mappings: 'AAAA,SAASA;AACA', sourcesContent: ['export const a = 1\n'] }

function map(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))
}

describe('checkSourceFileName', () => {
  it.each([
    ['assets/app.3f9a.js.map', 'assets/app.3f9a.js.map', 'map'],
    ['app.js', 'app.js', 'bundle'],
    ['chunks/x.mjs', 'chunks/x.mjs', 'bundle'],
    ['server.cjs', 'server.cjs', 'bundle'],
    ['APP.JS.MAP', 'APP.JS.MAP', 'map'],
    ['~/static/app.js.map', 'static/app.js.map', 'map'],
    ['./assets/app.js', 'assets/app.js', 'bundle'],
    ['ünïcode/名前.js.map', 'ünïcode/名前.js.map', 'map'],
    ['a/[id]/page-9f.js', 'a/[id]/page-9f.js', 'bundle'],
  ])('accepts %s', (input, name, kind) => {
    expect(checkSourceFileName(input)).toEqual({ ok: true, value: { name, kind } })
  })

  it.each([
    ['', /missing/],
    ['/etc/passwd.js.map', /relative path/],
    ['/app.js.map', /relative path/],
    ['C:/build/app.js.map', /relative path/],
    ['c:app.js.map', /relative path/],
    ['https://cdn.example.com/app.js.map', /relative path/],
    ['../app.js.map', /"\.\."/],
    ['assets/../../app.js.map', /"\.\."/],
    ['assets/./app.js.map', /"\.\."/],
    ['assets//app.js.map', /empty path segments/],
    ['assets\\app.js.map', /"\/"/],
    ['..\\..\\app.js.map', /"\/"/],
    ['app\u0000.js.map', /control characters/],
    ['app\n.js.map', /control characters/],
    ['app\u202e.js.map', /control characters/],
    ['app\u2028.js.map', /control characters/],
    ['app.css.map.txt', /Only source maps/],
    ['app.ts', /Only source maps/],
    ['assets/', /empty path segments/],
    [`${'a/'.repeat(600)}x.js.map`, /longer than 1024/],
  ])('refuses %j', (input, message) => {
    const result = checkSourceFileName(input)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.message).toMatch(message)
  })

  it('refuses names that are not strings (a repeated query parameter)', () => {
    expect(checkSourceFileName(['a.js.map', 'b.js.map']).ok).toBe(false)
    expect(checkSourceFileName(undefined).ok).toBe(false)
  })
})

describe('checkRelease', () => {
  it('accepts release names as events carry them', () => {
    for (const release of ['1.2.3', 'shop@2024.06.15+build.7', 'a'.repeat(256), 'f3a9c1d']) expect(checkRelease(release)).toEqual({ ok: true, value: release })
  })
  it.each([[''], [' 1.0'], ['1.0\n'], ['1.0\u0000'], ['a'.repeat(257)], [undefined], [['1', '2']]])('refuses %j', (release) => {
    expect(checkRelease(release).ok).toBe(false)
  })
})

describe('parseSourceMap', () => {
  it('accepts a map v3, with the XSSI guard and a BOM, and an index map with embedded sections', () => {
    expect(parseSourceMap(map(VALID_MAP)).ok).toBe(true)
    expect(parseSourceMap(map(`)]}'\n${JSON.stringify(VALID_MAP)}`)).ok).toBe(true)
    expect(parseSourceMap(map(`\ufeff${JSON.stringify(VALID_MAP)}`)).ok).toBe(true)
    expect(parseSourceMap(map({ version: 3, sources: [null], mappings: '' })).ok).toBe(true)
    const indexed = { version: 3, sections: [{ offset: { line: 0, column: 0 }, map: VALID_MAP }, { offset: { line: 10, column: 0 }, map: VALID_MAP }] }
    expect(parseSourceMap(map(indexed)).ok).toBe(true)
  })

  it.each([
    ['not JSON', 'function(){}', /not valid JSON/],
    ['truncated JSON', '{"version":3,"sources":[', /not valid JSON/],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /not UTF-8/],
    ['an array', [], /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['version 2', { ...VALID_MAP, version: 2 }, /"version" is not 3/],
    ['version "3"', { ...VALID_MAP, version: '3' }, /"version" is not 3/],
    ['no mappings', { version: 3, sources: [] }, /"mappings"/],
    ['mappings with other characters', { ...VALID_MAP, mappings: 'AAAA;<script>' }, /Base64 VLQ/],
    ['sources not an array', { ...VALID_MAP, sources: 'src/a.ts' }, /"sources"/],
    ['sources with numbers', { ...VALID_MAP, sources: [1] }, /"sources"/],
    ['names with objects', { ...VALID_MAP, names: [{}] }, /"names"/],
    ['sourcesContent not strings', { ...VALID_MAP, sourcesContent: [1] }, /"sourcesContent"/],
    ['sourceRoot a number', { ...VALID_MAP, sourceRoot: 1 }, /"sourceRoot"/],
    ['a section pointing at a URL', { version: 3, sections: [{ offset: { line: 0, column: 0 }, url: 'http://169.254.169.254/map' }] }, /URL/],
    ['a section without offset', { version: 3, sections: [{ map: VALID_MAP }] }, /offset/],
    ['nested sections', { version: 3, sections: [{ offset: { line: 0, column: 0 }, map: { version: 3, sections: [] } }] }, /sections of its own/],
    ['a JS file', 'console.log(1)\n//# sourceMappingURL=a.js.map', /not valid JSON/],
  ])('refuses %s', (_label, input, message) => {
    const result = parseSourceMap(Buffer.isBuffer(input) ? input : map(input))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.message).toMatch(message)
  })

  it('stays linear on deeply nested JSON instead of overflowing the stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    expect(parseSourceMap(map(deep)).ok).toBe(false)
  })
})

describe('findSourceMappingUrl', () => {
  it.each([
    ['x();\n//# sourceMappingURL=app.js.map\n', 'app.js.map'],
    ['x();\n//# sourceMappingURL=app.js.map', 'app.js.map'],
    ['x();\n//@ sourceMappingURL=old.js.map\n', 'old.js.map'],
    ['x();//# sourceMappingURL=../maps/app.js.map?v=1  \r\n', '../maps/app.js.map?v=1'],
    ['a="//# sourceMappingURL=wrong.map";\n//# sourceMappingURL=right.map\n', 'right.map'],
    ['x();\n//# sourceMappingURL=https://cdn.example.com/a.js.map\n', 'https://cdn.example.com/a.js.map'],
    ['x();\n//# sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozfQ==\n', 'data:'],
    ['x();\n', null],
    ['x();\n//# sourceMappingURL=\n', null],
    ['x(); // sourceMappingURL=app.js.map\n', null],
    [`x();\n//# sourceMappingURL=${'a'.repeat(3000)}.map\n`, null],
  ])('reads %j', (script, url) => {
    expect(findSourceMappingUrl(Buffer.from(script))).toBe(url)
  })

  it('marks a bundle with an inline map, and keeps no URL for it', () => {
    expect(checkSourceFileContent('bundle', Buffer.from('x()\n//# sourceMappingURL=data:application/json,{}'))).toEqual({ ok: true, value: { sourceMappingUrl: null, inlineMap: true } })
  })
})

describe('storeSourceFile checks before it stores', () => {
  const refusingStore = {
    put: async () => {
      throw new Error('nothing should be stored')
    },
  } as unknown as SourceMapStore
  const clock = { now: () => 0 }

  it('refuses a file over the size limit with 413 and a bad name or map with 400, storing nothing', async () => {
    const big = await storeSourceFile({ sourceMaps: refusingStore, clock }, { appId: 1, release: '1', name: 'a.js.map', content: Buffer.alloc(SOURCE_MAP_LIMITS.fileBytes + 1) })
    expect(big).toMatchObject({ ok: false, status: 413, code: 'file_too_large' })
    const name = await storeSourceFile({ sourceMaps: refusingStore, clock }, { appId: 1, release: '1', name: '../a.js.map', content: map(VALID_MAP) })
    expect(name).toMatchObject({ ok: false, status: 400, code: 'bad_name' })
    const release = await storeSourceFile({ sourceMaps: refusingStore, clock }, { appId: 1, release: undefined, name: 'a.js.map', content: map(VALID_MAP) })
    expect(release).toMatchObject({ ok: false, status: 400, code: 'bad_release' })
    const invalid = await storeSourceFile({ sourceMaps: refusingStore, clock }, { appId: 1, release: '1', name: 'a.js.map', content: map({ version: 2 }) })
    expect(invalid).toMatchObject({ ok: false, status: 400, code: 'invalid_source_map' })
  })
})

import { buildSync } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { minify } from 'terser'

/** The site the fixture pretends to be served from: stacks are rewritten to its URLs, as a browser prints them. */
export const SITE = 'https://shop.example.com'

export interface FixtureBundle {
  /** The build output directory (what `tacit sourcemaps upload` is pointed at). */
  dist: string
  /** Relative to `dist`. */
  bundleName: string
  mapName: string
  /** The stack the bundle printed when run, with its path replaced by `${SITE}/${bundleName}`. */
  stack: string
  /** The same frames in Firefox's format. */
  firefoxStack: string
}

const FIXTURE_SOURCES = resolve(import.meta.dirname, 'fixture/src')

/**
 * Builds the fixture app (fixture/src: a cart that throws) into `dir` as a real site would: bundled and
 * minified by esbuild, or bundled by esbuild and minified by terser (chaining the two maps), into
 * `dist/assets/app.<hash>.js` with its map and a `sourceMappingURL` comment. Then runs the bundle in Node and
 * keeps the stack it prints: real positions from a real engine, not hand-written ones.
 */
export async function buildFixtureBundle(dir: string, minifier: 'esbuild' | 'terser', options: { mapDir?: string } = {}): Promise<FixtureBundle> {
  cpSync(FIXTURE_SOURCES, join(dir, 'src'), { recursive: true })
  const dist = join(dir, 'dist')
  const bundleName = `assets/app.${minifier === 'esbuild' ? '3f9a2c1b' : '7d41e0aa'}.js`
  const mapName = options.mapDir ? `${options.mapDir}/app.js.map` : `${bundleName}.map`
  const bundlePath = join(dist, bundleName)
  mkdirSync(join(dist, 'assets'), { recursive: true })
  if (options.mapDir) mkdirSync(join(dist, options.mapDir), { recursive: true })
  const entry = join(dir, 'src/index.ts')
  if (minifier === 'esbuild') {
    const built = buildSync({ entryPoints: [entry], bundle: true, minify: true, sourcemap: 'external', outfile: bundlePath, format: 'iife', write: false, logLevel: 'error' })
    const js = built.outputFiles.find((file) => file.path.endsWith('.js'))!
    const map = built.outputFiles.find((file) => file.path.endsWith('.map'))!
    writeFileSync(join(dist, mapName), fixSources(map.text, dir, dist, bundleName, mapName))
    writeFileSync(bundlePath, `${js.text}//# sourceMappingURL=${relativeUrl(bundleName, mapName)}\n`)
  } else {
    const built = buildSync({ entryPoints: [entry], bundle: true, sourcemap: 'external', outfile: bundlePath, format: 'iife', write: false, logLevel: 'error' })
    const js = built.outputFiles.find((file) => file.path.endsWith('.js'))!
    const map = built.outputFiles.find((file) => file.path.endsWith('.map'))!
    // No inlining, so each function keeps its own frame; mangled names, as in any production build.
    const result = await minify(js.text, {
      compress: { inline: false, reduce_funcs: false, reduce_vars: false },
      mangle: true,
      sourceMap: { content: fixSources(map.text, dir, dist, bundleName, mapName), url: relativeUrl(bundleName, mapName) },
    })
    writeFileSync(bundlePath, `${result.code!}\n`)
    writeFileSync(join(dist, mapName), result.map as string)
  }
  const printed = execFileSync(process.execPath, [bundlePath], { encoding: 'utf8' })
  const stack = printed.replaceAll(bundlePath, `${SITE}/${bundleName}`).trimEnd()
  return { dist, bundleName, mapName, stack, firefoxStack: toFirefox(stack) }
}

/** esbuild writes `sources` relative to the map; relative to the project (`src/cart.ts`) reads better in tests. */
function fixSources(mapText: string, dir: string, dist: string, bundleName: string, mapName: string): string {
  const map = JSON.parse(mapText) as { sources: string[] }
  // esbuild wrote them relative to where it would have put the map: next to the bundle.
  const bundleDir = resolve(dist, bundleName, '..')
  map.sources = map.sources.map((source) => resolve(bundleDir, source).slice(dir.length + 1).replaceAll('\\', '/'))
  // Sources relative to the map again, as a bundler writes them: `../../src/cart.ts` from `assets/`.
  const depth = mapName.split('/').length - 1
  map.sources = map.sources.map((source) => `${'../'.repeat(depth + 1)}${source}`)
  return JSON.stringify(map)
}

function relativeUrl(bundleName: string, mapName: string): string {
  const from = bundleName.split('/').slice(0, -1)
  const to = mapName.split('/')
  let common = 0
  while (common < from.length && from[common] === to[common]) common++
  return [...from.slice(common).map(() => '..'), ...to.slice(common)].join('/')
}

/** `    at fn (url:1:2)` → `fn@url:1:2`; anonymous frames `@url:1:2`. Internal Node frames are left out. */
function toFirefox(stack: string): string {
  return stack
    .split('\n')
    .slice(1)
    .map((line) => line.trim().slice(3))
    .filter((body) => body.includes(SITE))
    .map((body) => {
      const open = body.lastIndexOf(' (')
      return open === -1 ? `@${body}` : `${body.slice(0, open)}@${body.slice(open + 2, -1)}`
    })
    .join('\n')
}

/** The fixture's source text, to compare context lines with. */
export function fixtureSource(name: 'cart.ts' | 'index.ts'): string[] {
  return readFileSync(join(FIXTURE_SOURCES, name), 'utf8').split('\n')
}

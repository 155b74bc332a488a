import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, posix, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { minify } from 'terser'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')
const dist = join(root, 'dist')

/** The SDK's bundles; size.mjs measures the same ones. web-vitals is bundled in. */
export const bundles = [
  { name: 'index.js', entry: 'index.ts', format: 'esm' },
  { name: 'errors.js', entry: 'errors.ts', format: 'esm' },
  { name: 'tracing.js', entry: 'tracing.ts', format: 'esm' },
  { name: 'tacit.js', entry: 'script.ts', format: 'iife' },
]

export function esbuildOptions(bundle) {
  return {
    entryPoints: [join(src, bundle.entry)],
    bundle: true,
    minify: true,
    format: bundle.format,
    // Browsers since 2021 (Chrome/Edge 85+, Firefox 79+, Safari 14.1+): `??=`, `?.` and class fields stay as
    // written (web-vitals uses class fields); spelling them out for older ones costs ≈ 500 B gzip.
    target: 'es2022',
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'silent',
  }
}

/**
 * One bundle: esbuild bundles and minifies, then terser compresses once more (three passes), which takes
 * ≈ 3.5 % off the gzip size — the difference between meeting the 8 KB budget and not.
 */
export async function buildBundle(bundle, { sourcemap = false } = {}) {
  const result = await build({ ...esbuildOptions(bundle), write: false, sourcemap: sourcemap ? 'external' : false, outfile: join(dist, bundle.name) })
  const code = result.outputFiles.find((file) => file.path.endsWith('.js')).text
  const map = result.outputFiles.find((file) => file.path.endsWith('.map'))?.text
  const minified = await minify(code, {
    module: bundle.format === 'esm',
    ecma: 2020,
    compress: { passes: 3 },
    mangle: true,
    format: { comments: false },
    sourceMap: map ? { content: map, url: `${bundle.name}.map` } : false,
  })
  return { code: minified.code, map: typeof minified.map === 'string' ? minified.map : undefined }
}

export function gzipSize(bytes) {
  return gzipSync(bytes, { level: 9 }).length
}

async function main() {
  const started = Date.now()
  rmSync(dist, { recursive: true, force: true })
  mkdirSync(dist, { recursive: true })
  for (const bundle of bundles) {
    const { code, map } = await buildBundle(bundle, { sourcemap: true })
    writeFileSync(join(dist, bundle.name), code)
    if (map) writeFileSync(join(dist, `${bundle.name}.map`), map)
  }
  for (const bundle of bundles) {
    const bytes = readFileSync(join(dist, bundle.name))
    console.log(`dist/${bundle.name.padEnd(10)} ${String(bytes.length).padStart(6)} B  ${String(gzipSize(bytes)).padStart(5)} B gzip`)
  }
  const declarations = await emitDeclarations()
  console.log(`dist/*.d.ts     ${declarations} declaration files (${Date.now() - started} ms in all)`)
}

/**
 * Declarations of the public entries and of the modules their declarations import (core/types.ts), one file
 * at a time with `ts.transpileDeclaration`: about 0.1 s, where a tsc program takes about 3 s (it parses
 * the DOM lib). It needs explicit types on exports (isolatedDeclarations); when one is missing the build
 * fails and says where. Type checking stays with `npm run typecheck`.
 */
async function emitDeclarations() {
  // Loaded here, not at the top: size.mjs imports this file and needs no TypeScript.
  const { default: ts } = await import('typescript')
  const host = { getCanonicalFileName: (file) => file, getCurrentDirectory: () => src, getNewLine: () => '\n' }
  const pending = bundles.filter((bundle) => bundle.format === 'esm').map((bundle) => bundle.entry)
  const done = new Set()
  while (pending.length > 0) {
    const file = pending.pop()
    if (done.has(file)) continue
    done.add(file)
    const { outputText, diagnostics = [] } = ts.transpileDeclaration(readFileSync(join(src, file), 'utf8'), {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true },
    })
    if (diagnostics.length > 0) throw new Error(`declarations: ${ts.formatDiagnostics(diagnostics, host).trim()}`)
    const out = join(dist, file.replace(/\.ts$/, '.d.ts'))
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, outputText)
    for (const [, specifier] of outputText.matchAll(/from ['"](\.{1,2}\/[^'"]+)\.js['"]/g)) pending.push(posix.join(posix.dirname(file), `${specifier}.ts`))
  }
  return done.size
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    console.error(`Build failed: ${error.message}`)
    process.exit(1)
  })
}

import { build, type Metafile } from 'esbuild'
import { readFileSync } from 'node:fs'
import { basename, join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'

export interface BundleSize {
  /** Minified bytes of what the page loads at start: the entry and the chunks it imports statically. */
  min: number
  /** The same, each file gzipped at level 9 (as served). */
  gzip: number
  /** Everything built, including chunks loaded later with `import()` (Datadog's replay and profiler). */
  totalMin: number
  totalGzip: number
}

export interface Bundle extends BundleSize {
  /** The entry file's name in `outdir`. */
  entryFile: string
}

/**
 * Bundles one entry as a site's build would (esbuild: bundle, minify, ESM with code splitting, browser, and
 * ES2020) and measures it. Tacit's entries import its published bundles (`dist`), as
 * a site installing `@tacit/browser` does. Splitting keeps chunks an SDK loads on demand out of its start-up size, the
 * figure that matters for a page that does not use them.
 */
export async function buildBundle(entry: string, rootDir: string, outdir: string): Promise<Bundle> {
  const result = await build({
    stdin: { contents: entry, resolveDir: rootDir, sourcefile: 'entry.js', loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    splitting: true,
    platform: 'browser',
    // What a site's build of today asks for (Vite's default targets are about ES2020).
    target: 'es2020',
    absWorkingDir: rootDir,
    outdir,
    entryNames: 'entry',
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  const outputs = result.metafile.outputs
  const entryPath = Object.keys(outputs).find((path) => outputs[path]?.entryPoint !== undefined)
  if (!entryPath) throw new Error('esbuild produced no entry output')
  const initial = staticClosure(outputs, entryPath)
  const sizes = (paths: string[]) =>
    paths.reduce(
      (sum, path) => {
        const code = readFileSync(join(rootDir, path))
        return { min: sum.min + code.length, gzip: sum.gzip + gzipSync(code, { level: 9 }).length }
      },
      { min: 0, gzip: 0 },
    )
  const js = Object.keys(outputs).filter((path) => path.endsWith('.js'))
  const start = sizes(initial)
  const all = sizes(js)
  return { entryFile: basename(relative(outdir, join(rootDir, entryPath))), min: start.min, gzip: start.gzip, totalMin: all.min, totalGzip: all.gzip }
}

/** The entry and every output it reaches through static imports (not `import()`). */
function staticClosure(outputs: Metafile['outputs'], entryPath: string): string[] {
  const seen = new Set<string>([entryPath])
  for (const path of seen) {
    for (const imported of outputs[path]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) seen.add(imported.path)
    }
  }
  return [...seen]
}

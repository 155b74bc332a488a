import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, posix, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')
const dist = join(root, 'dist')

/**
 * Two bundles of the same source, so both kinds of consumer get a native module: dist/index.js (ESM, for
 * `import`) and dist/index.cjs (CommonJS, for `require`), chosen by the `exports` map. They hold no state a
 * consumer could load twice by mixing them in one process other than the last `init`'s client. Not minified:
 * it runs on servers, where readable stack traces through the SDK are worth more than bytes.
 */
const formats = [
  { format: 'esm', file: 'index.js' },
  { format: 'cjs', file: 'index.cjs' },
]

export async function buildNodeSdk() {
  const started = Date.now()
  rmSync(dist, { recursive: true, force: true })
  mkdirSync(dist, { recursive: true })
  for (const { format, file } of formats) {
    await build({
      entryPoints: [join(src, 'index.ts')],
      outfile: join(dist, file),
      bundle: true,
      format,
      platform: 'node',
      target: 'node20',
      legalComments: 'none',
      logLevel: 'silent',
    })
  }
  const declarations = await emitDeclarations()
  return { ms: Date.now() - started, declarations }
}

/**
 * Declarations, one file at a time with `ts.transpileDeclaration` (about 0.1 s, where a tsc program takes
 * seconds; it needs explicit types on exports). Each is written twice: `.d.ts` for `import`, and `.d.cts`
 * with `.cjs` specifiers for `require`, so TypeScript sees the CommonJS entry as CommonJS under
 * `moduleResolution: node16/nodenext`. Type checking stays with `npm run typecheck`.
 */
async function emitDeclarations() {
  const { default: ts } = await import('typescript')
  const host = { getCanonicalFileName: (file) => file, getCurrentDirectory: () => src, getNewLine: () => '\n' }
  const pending = ['index.ts']
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
    const out = join(dist, file.replace(/\.ts$/, ''))
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(`${out}.d.ts`, outputText)
    writeFileSync(`${out}.d.cts`, outputText.replace(/(from ['"]\.{1,2}\/[^'"]+)\.js(['"])/g, '$1.cjs$2'))
    for (const [, specifier] of outputText.matchAll(/from ['"](\.{1,2}\/[^'"]+)\.js['"]/g)) pending.push(posix.join(posix.dirname(file), `${specifier}.ts`))
  }
  return done.size
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  buildNodeSdk().then(
    ({ ms, declarations }) => console.log(`@tacit/node: dist/index.js, dist/index.cjs, ${declarations} × 2 declaration files (${ms} ms)`),
    (error) => {
      console.error(`Build failed: ${error.message}`)
      process.exit(1)
    },
  )
}

import { buildBundle, bundles, gzipSize } from './build.mjs'

/** gzip -9 budgets (issue 4): the whole default bundle, web-vitals included, and the errors-only entry. */
const BUDGETS = { 'index.js': 8192, 'errors.js': 3072 }

const over = []
console.log('file        minified      gzip    budget')
for (const bundle of bundles) {
  const { code } = await buildBundle(bundle).catch((error) => {
    console.error(`Cannot build ${bundle.name}: ${error.message}`)
    process.exit(1)
  })
  const bytes = Buffer.from(code)
  const gzip = gzipSize(bytes)
  const budget = BUDGETS[bundle.name]
  const verdict = budget === undefined ? '' : gzip <= budget ? 'PASS' : 'FAIL'
  if (verdict === 'FAIL') over.push(`${bundle.name} by ${gzip - budget} B`)
  console.log(`${bundle.name.padEnd(10)} ${String(bytes.length).padStart(7)} B ${String(gzip).padStart(7)} B ${budget === undefined ? '        -' : `${String(budget).padStart(7)} B`}  ${verdict}`.trimEnd())
}
if (over.length > 0) {
  console.error(`The SDK is over its gzip budget: ${over.join(', ')}.`)
  process.exit(1)
}

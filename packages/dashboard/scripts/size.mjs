import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { gzipSync } from 'node:zlib'

/**
 * The dashboard's first-load budget (issue 6, "Speed"): everything index.html loads (scripts and styles), gzip -9,
 * under 150 KB. Run after `npm run build -w @tacit/dashboard`.
 */
const BUDGET = 150 * 1024
const dist = resolve(import.meta.dirname, '../dist')

let html
try {
  html = readFileSync(resolve(dist, 'index.html'), 'utf8')
} catch {
  console.error('The dashboard is not built: run npm run build -w @tacit/dashboard first.')
  process.exit(1)
}
if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html) || /<style[\s>]/i.test(html) || /\sstyle=/i.test(html)) {
  console.error('index.html has an inline script or style, which the dashboard CSP blocks.')
  process.exit(1)
}

const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1])
let total = 0
console.log('file                              minified      gzip')
for (const file of files) {
  const bytes = readFileSync(resolve(dist, file))
  const gzip = gzipSync(bytes, { level: 9 }).length
  total += gzip
  console.log(`${file.padEnd(32)} ${String(bytes.length).padStart(8)} B ${String(gzip).padStart(7)} B`)
}
console.log(`first load (gzip)                          ${String(total).padStart(7)} B  budget ${BUDGET} B  ${total <= BUDGET ? 'PASS' : 'FAIL'}`)
if (total > BUDGET) {
  console.error(`The dashboard's first load is over its gzip budget by ${total - BUDGET} B.`)
  process.exit(1)
}

import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'

/**
 * Integration tests run the built CLI, and browser tests load the built SDK and the built dashboard: rebuild
 * them first (the server incrementally, quick when nothing changed; the SDK with esbuild in well under a
 * second; the dashboard with Vite in a few seconds).
 */
export default function buildOnce(): void {
  const root = resolve(import.meta.dirname, '../../../..')
  execFileSync(process.execPath, [resolve(root, 'packages/browser/scripts/build.mjs')], { cwd: root, stdio: 'inherit' })
  execFileSync(process.execPath, [resolve(root, 'node_modules/typescript/bin/tsc'), '-b', 'packages/server'], { cwd: root, stdio: 'inherit' })
  execFileSync(process.execPath, [resolve(root, 'packages/dashboard/scripts/build.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' })
}

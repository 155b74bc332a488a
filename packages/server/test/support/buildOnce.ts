import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'

/** Integration tests run the built CLI: rebuild first (incremental, quick when nothing changed). */
export default function buildOnce(): void {
  const root = resolve(import.meta.dirname, '../../../..')
  execFileSync(process.execPath, [resolve(root, 'node_modules/typescript/bin/tsc'), '-b', 'packages/server'], { cwd: root, stdio: 'inherit' })
}

import { resolve } from 'node:path'
import { build } from 'vite'

/** Builds the app into dist/ with vite.config.mjs (quietly when run from the test setup). */
const root = resolve(import.meta.dirname, '..')
await build({ root, mode: 'production', configFile: resolve(root, 'vite.config.mjs'), logLevel: process.argv.includes('--quiet') ? 'warn' : 'info' })

import { defineConfig } from 'vite'

/**
 * The dashboard is served by the Tacit server under a strict CSP (http/dashboardRoutes.ts): every script and
 * style must be an external file, so nothing may be inlined (assetsInlineLimit 0 keeps even small SVGs as files).
 */
export default defineConfig({
  root: import.meta.dirname,
  // jsxDev off even when NODE_ENV is not production (vitest's global setup builds with NODE_ENV=test).
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact', jsxDev: false },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    target: 'es2022',
    // One entry chunk: the whole app is small, and one request beats a waterfall of route chunks.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
})

import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // Integration tests start real server processes; two cores are shared, so keep parallelism modest.
    // Browser tests need Debian's Chromium: installed when missing, before any test runs.
    // The Redis and PostgreSQL suites need real servers: throwaway ones are started (and installed when missing).
    globalSetup: ['packages/server/test/support/buildOnce.ts', 'packages/browser/test/support/ensureChromium.ts', 'packages/server/test/support/startTestRedis.ts', 'packages/server/test/support/startTestPostgres.ts'],
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})

import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Tests import workspace packages from source, so `npm test` never runs against a stale dist/.
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url))

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@provsync\/([a-z0-9-]+)$/, replacement: `${packagesDir}$1/src/index.ts` },
      // A subpath entry (`@provsync/sync/stream`) from its source too: one module instance per
      // class, so an error thrown through the subpath is `instanceof` the index's.
      { find: /^@provsync\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${packagesDir}$1/src/$2.ts` },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // vitest's default is cores − 1: one file at a time on a 2-core machine. Most files wait on
    // child processes, sockets and timers, so two forks there ran the whole suite in 464 s under
    // a load of 3-5 where one took 585 s on a quiet machine (session 13), every test passing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})

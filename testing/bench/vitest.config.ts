import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

// The repository's test setup (source conditions, the shared database server), running
// only the benchmarks: `npm run bench:claims`. Benchmarks print; tests assert.
export default defineConfig({
  ...base,
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    ...base.test,
    include: ['testing/bench/*.bench.ts'],
    testTimeout: 600_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{server,gpu-runner,widget,plugin-shopify,demo}/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // One embedded database server for the whole run; each test file takes its own
    // database name from it (see server/src/testing/).
    globalSetup: ['server/src/testing/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});

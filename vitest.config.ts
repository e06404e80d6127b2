import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the `source` export
// condition), so a test and the code under test share one instance of every module
// (one AsyncLocalStorage for the tenant scope, one set of classes), and unit tests
// need no build. Packages from the registry resolve as Node resolves them when the
// server runs: without Vite's bundler-only `module` condition, which picks builds that
// Node cannot load (the AWS SDK's `dist-es`, whose imports have no file extensions).
const conditions = ['source', ...defaultServerConditions.filter((condition) => condition !== 'module')];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: [
      '{protocol,runtime,server,gpu-runner,widget,plugin-shopify,demo}/src/**/*.test.ts',
      'plugin-shopify/test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // One embedded database server for the whole run; each test file takes its own
    // database name from it (see testing/src/).
    globalSetup: ['testing/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});

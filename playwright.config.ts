import { defineConfig } from '@playwright/test';

// Tests print nothing; the stack's own processes inherit this too.
process.env.LOG_LEVEL ??= 'warn';

/**
 * Browser tests run in Debian's Chromium (never a downloaded browser): `npm test`
 * installs it with apt-get when it is missing (scripts/setup.mjs).
 */
const chromium = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-quic',
    '--no-first-run',
    '--disable-sync',
  ],
};

export default defineConfig({
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  reporter: [['list']],
  timeout: 120_000,
  use: {
    browserName: 'chromium',
    launchOptions: chromium,
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'widget', testDir: 'widget/test' },
    { name: 'storefront', testDir: 'demo/test' },
    { name: 'shopify-theme', testDir: 'plugin-shopify/test' },
  ],
});

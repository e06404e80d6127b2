#!/usr/bin/env node
import { resolve } from 'node:path';
import { ConfigError } from '@atelier/runtime';
import { loadDemoConfig, type DemoConfig } from './demo-config.js';
import { DEMO_TENANTS } from './demo-tenants.js';
import { formatLogLine } from './log-format.js';

/**
 * `npm run demo`: everything on this machine, URLs printed, Ctrl-C stops it all.
 * Logs of the server and runner are shown at `warn` and above unless LOG_LEVEL says
 * otherwise, so the URLs stay readable.
 */
let config: DemoConfig;
try {
  config = loadDemoConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`The demo could not start: invalid configuration: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
const minimum = config.logLevel === undefined ? 40 : 0;
// Set before the stack (and its loggers) load; the child processes inherit it.
process.env.LOG_LEVEL = config.logLevel ?? 'warn';
const { startDemoStack } = await import('./demo-stack.js');

console.log('Starting Atelier (database, server, GPU runner, storefronts)…');
const started = Date.now();
const stack = await startDemoStack({
  dataDir: config.dataDir,
  port: config.port,
  storefrontPort: config.storefrontPort,
  onNotice: (message) => console.log(message),
  ...(config.adminToken ? { adminToken: config.adminToken } : {}),
  ...(config.modelDir ? { modelDir: config.modelDir } : {}),
  onLog: (source, line) => {
    const level = /"level":(\d+)/.exec(line)?.[1];
    if (level === undefined || Number(level) >= minimum) console.log(formatLogLine(source, line));
  },
}).catch((error: unknown) => {
  console.error(`\nThe demo could not start: ${(error as Error).message}`);
  process.exit(1);
});

const { manifest } = stack;
console.log(`
Atelier is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s).

${manifest.tenants.map((t, i) => `  Storefront:   ${manifest.storefronts[i]}   ${t.name} (${DEMO_TENANTS[i]?.locale ?? ''})`).join('\n')}
  API server:   ${manifest.server}   (widget bundle: ${manifest.server}/widget.js)
  Database:     ${stack.database.kind} at ${stack.database.uri}
  Keys:         ${resolve(config.dataDir, 'demo.json')}
${manifest.tenants.map((t) => `  Tenant:       ${t.name} (${t.tenantId})  publishable ${t.publishableKey}`).join('\n')}

Open a storefront, pick a product, describe a scene, press Generate (or use the
floating button on the catalogue; /studio is the iframe-mode page). Ctrl-C stops everything.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    void stack.stop().then(() => process.exit(0));
  });
}

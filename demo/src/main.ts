#!/usr/bin/env node
import { resolve } from 'node:path';
import { formatLogLine } from './log-format.js';

/**
 * `npm run demo`: everything on this machine, URLs printed, Ctrl-C stops it all.
 * Logs of the server and runner are shown at `warn` and above unless LOG_LEVEL says
 * otherwise, so the URLs stay readable.
 */
const dataDir = resolve(process.env.ATELIER_DATA_DIR ?? '.data');
const verbose = process.env.LOG_LEVEL !== undefined;
const minimum = verbose ? 0 : 40;
// Set before the stack (and its loggers) load; the child processes inherit it.
process.env.LOG_LEVEL ??= 'warn';
const { startDemoStack } = await import('./demo-stack.js');

console.log('Starting Atelier (database, server, GPU runner, storefront)…');
const started = Date.now();
const stack = await startDemoStack({
  dataDir,
  ...(process.env.PORT ? { port: Number(process.env.PORT) } : {}),
  ...(process.env.STOREFRONT_PORT ? { storefrontPort: Number(process.env.STOREFRONT_PORT) } : {}),
  onNotice: (message) => console.log(message),
  ...(process.env.ATELIER_ADMIN_TOKEN ? { adminToken: process.env.ATELIER_ADMIN_TOKEN } : {}),
  ...(process.env.ATELIER_MODEL_DIR ? { modelDir: process.env.ATELIER_MODEL_DIR } : {}),
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

  Storefront:   ${manifest.storefronts.join('\n                ')}
  API server:   ${manifest.server}   (widget bundle: ${manifest.server}/widget.js)
  Database:     ${stack.database.kind} at ${stack.database.uri}
  Keys:         ${resolve(dataDir, 'demo.json')}
${manifest.tenants.map((t) => `  Tenant:       ${t.name} (${t.tenantId})  publishable ${t.publishableKey}`).join('\n')}

Open the storefront, describe a scene, press Generate. Ctrl-C stops everything.
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

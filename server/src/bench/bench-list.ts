#!/usr/bin/env node
/**
 * `npm run bench:api`: the latency of `GET /v1/generations?limit=100` while the tenant
 * has 200 queued jobs, and the database commands one such request issues.
 *
 *   npm run bench:api -- --jobs 200 --requests 50 --limit 100
 *
 * Runs the real server on a FerretDB of its own (as the tests do: the slower, harder
 * case), in a temporary data dir that is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

// Logs would interleave with the figures; the logger reads its level at import time.
process.env.LOG_LEVEL ??= 'warn';
const { loadConfig, startDatabase, startServer } = await import('../index.js');

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '200' },
    requests: { type: 'string', default: '50' },
    limit: { type: 'string', default: '100' },
  },
});
const jobs = Number(values.jobs);
const requests = Number(values.requests);
const limit = Number(values.limit);
const adminToken = 'bench-admin-token-0123456789';

const config = loadConfig({
  ...process.env,
  PORT: '0',
  MONGODB_URI: '',
  ATELIER_ADMIN_TOKEN: adminToken,
  ATELIER_DISPATCH_POLL_MS: '60000',
});
const dataDir = await mkdtemp(join(tmpdir(), 'atelier-bench-api-'));
const database = await startDatabase({ dataDir, cacheDir: config.cacheDir, engine: 'ferretdb', reuse: false });
const uri = new URL(database.uriFor('bench'));
uri.searchParams.set('monitorCommands', 'true');
const server = await startServer({ ...config, dataDir, mongodbUri: uri.toString() });

try {
  const tenant = await fetch(new URL('/admin/v1/tenants', server.url), {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Bench', plan: 'pro', origins: [] }),
  });
  const { secretKey } = (await tenant.json()) as { secretKey: string };
  const headers = { Authorization: `Bearer ${secretKey}`, 'Content-Type': 'application/json' };

  // No runner is connected, so every job stays queued.
  for (let created = 0; created < jobs; created += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, jobs - created) }, async (_, i) => {
        const response = await fetch(new URL('/v1/generations', server.url), {
          method: 'POST',
          headers,
          body: JSON.stringify({ prompt: `bench job ${created + i}` }),
        });
        if (response.status !== 202) throw new Error(`create: ${response.status} ${await response.text()}`);
      }),
    );
  }

  const list = async () => {
    const response = await fetch(new URL(`/v1/generations?limit=${limit}`, server.url), { headers });
    const body = (await response.json()) as { data: unknown[] };
    if (response.status !== 200 || body.data.length !== Math.min(limit, jobs)) throw new Error(`list: ${response.status}`);
  };

  let commands = 0;
  const client = server.database.connection.getClient();
  client.on('commandStarted', () => (commands += 1));
  await list();
  const commandsPerRequest = commands;

  const times: number[] = [];
  for (let i = 0; i < requests; i += 1) {
    const started = performance.now();
    await list();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const rows: [string, string][] = [
    ['queued jobs', String(jobs)],
    ['page size (limit)', String(limit)],
    ['requests timed', String(requests)],
    ['database commands per request', String(commandsPerRequest)],
    ['median', ms(at(0.5))],
    ['p95', ms(at(0.95))],
    ['min / max', `${ms(times[0]!)} / ${ms(times.at(-1)!)}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`GET /v1/generations?limit=${limit} (database: ${database.kind})`);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
} finally {
  await server.close();
  await database.stop();
  await rm(dataDir, { recursive: true, force: true });
}

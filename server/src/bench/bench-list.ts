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
import { parseArgs } from 'node:util';
import { percentile, printRows, startBenchServer } from './bench-server.js';

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

const bench = await startBenchServer({ name: 'api', monitorCommands: true });
const { server, database } = bench;

try {
  const { secretKey } = await bench.createTenant('pro');
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
  const at = (q: number) => percentile(times, q);
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
  printRows(`GET /v1/generations?limit=${limit} (database: ${database.kind})`, rows);
} finally {
  await bench.close();
}

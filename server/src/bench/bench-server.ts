/**
 * What every `npm run bench:*` script of the server starts with: the real server on a
 * FerretDB of its own (as the tests do: the slower, harder case), in a temporary data
 * dir, with an admin token, every plan's request rate limit lifted, and a way to take
 * it all down again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAN_NAMES } from '@atelier/protocol';
import type { AtelierServer, DatabaseServer } from '../index.js';

// Logs would interleave with the figures; the logger reads its level at import time,
// so this module loads the server only after setting it.
process.env.LOG_LEVEL ??= 'warn';
const { loadConfig, startDatabase, startServer } = await import('../index.js');

const ADMIN_TOKEN = 'bench-admin-token-0123456789';

export interface BenchServer {
  server: AtelierServer;
  database: DatabaseServer;
  /** An admin API call; throws on a status other than 2xx. */
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  /** A tenant on `plan` with `credits` granted; its secret key. */
  createTenant(plan: string, credits?: number): Promise<{ tenantId: string; secretKey: string }>;
  close(): Promise<void>;
}

export interface BenchServerOptions {
  /** Names the temporary data dir. */
  name: string;
  /** Configuration on top of the process's environment. */
  env?: Record<string, string>;
  /** Emit the driver's command events (to count database commands). */
  monitorCommands?: boolean;
}

export async function startBenchServer({ name, env = {}, monitorCommands = false }: BenchServerOptions): Promise<BenchServer> {
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    MONGODB_URI: '',
    ATELIER_ADMIN_TOKEN: ADMIN_TOKEN,
    // A dispatch pass only when work or a runner appears, not on a timer.
    ATELIER_DISPATCH_POLL_MS: '60000',
    // The benches measure the queue and the API, not the rate limits (set per plan below).
    ATELIER_RPM_PER_ADDRESS: '1000000',
    ...env,
  });
  const dataDir = await mkdtemp(join(tmpdir(), `atelier-bench-${name}-`));
  const database = await startDatabase({ dataDir, cacheDir: config.cacheDir, engine: 'ferretdb', reuse: false });
  const uri = new URL(database.uriFor('bench'));
  if (monitorCommands) uri.searchParams.set('monitorCommands', 'true');
  const server = await startServer({ ...config, dataDir, mongodbUri: uri.toString() });

  const admin = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(new URL(path, server.url), {
      method,
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  // Before the first request, so the limiter reads these sizes when it first looks.
  for (const plan of PLAN_NAMES) await admin('PUT', `/admin/v1/plans/${plan}`, { requestsPerMinute: 1_000_000 });

  return {
    server,
    database,
    admin,
    async createTenant(plan, credits = 0) {
      const tenant = (await admin('POST', '/admin/v1/tenants', { name: `Bench ${plan}`, plan, origins: [] })) as {
        tenantId: string;
        secretKey: string;
      };
      if (credits > 0) await admin('POST', `/admin/v1/tenants/${tenant.tenantId}/credits`, { amount: credits, reason: 'bench' });
      return tenant;
    },
    async close() {
      await server.close();
      await database.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Prints a title and aligned label/value rows. */
export function printRows(title: string, rows: [string, string][]): void {
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(title);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
}

/** The q-quantile (0..1) by the nearest-rank method. */
export function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

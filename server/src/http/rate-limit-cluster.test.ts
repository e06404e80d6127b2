import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TEST_ADMIN_TOKEN, startServerCluster, type ServerCluster, type ServerProcess } from '@atelier/testing';

/** The `pro` plan's size in this deployment, set through the admin API. */
const PRO_RPM = 6;
/** The REST per-address default (config.ts), which shows how many processes a server counts. */
const PER_ADDRESS = 1_200;

let cluster: ServerCluster;
let nextAddress = 1;

beforeAll(async () => {
  cluster = await startServerCluster(2);
}, 60_000);

afterAll(() => cluster?.stop());

function call(server: ServerProcess, key: string | undefined): Promise<Response> {
  return fetch(new URL('/v1/balance', server.url), {
    headers: { 'X-Forwarded-For': `192.0.2.${nextAddress++}`, ...(key ? { Authorization: `Bearer ${key}` } : {}) },
  });
}

/** `r` of the `"address"` member of `RateLimit` on a fresh address: ⌊(limit − N) / N⌋ for N processes. */
async function addressRemaining(server: ServerProcess): Promise<number> {
  const header = (await call(server, undefined)).headers.get('RateLimit') ?? '';
  return Number(/"address";r=(\d+)/.exec(header)?.[1]);
}

describe('rate limits across server processes (on FerretDB: per-process buckets, each 1/N of the limit)', () => {
  it("admits no more than the plan's size at once across two processes, half in each", async () => {
    const [first, second] = cluster.processes as [ServerProcess, ServerProcess];
    const plan = await fetch(new URL('/admin/v1/plans/pro', first.url), {
      method: 'PUT',
      headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ requestsPerMinute: PRO_RPM }),
    });
    expect(plan.status).toBe(200);
    const acme = await cluster.createTenant(first, { name: 'Acme' });

    // Each process counts the other (server_instances) before the burst.
    const perProcess = Math.floor((PER_ADDRESS - 2) / 2);
    // Within the limiter's background refresh (every 2 s at most).
    await vi.waitFor(
      async () => {
        expect(await addressRemaining(first)).toBe(perProcess);
        expect(await addressRemaining(second)).toBe(perProcess);
      },
      { timeout: 15_000, interval: 200 },
    );

    const statuses: Record<string, number[]> = { first: [], second: [] };
    for (let i = 0; i < PRO_RPM * 2; i += 1) {
      const [name, server] = i % 2 === 0 ? ['first', first] : ['second', second];
      statuses[name]!.push((await call(server, acme.secretKey)).status);
    }
    // Sequential calls: each process admits its half, then refuses; the total is the plan's.
    // (Each then refills one request every 60·2/PRO_RPM = 20 s: far longer than these calls take.)
    const half = Array.from({ length: PRO_RPM }, (_, i) => (i < PRO_RPM / 2 ? 200 : 429));
    expect(statuses).toEqual({ first: half, second: half });
  });
});

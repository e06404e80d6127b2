import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BalanceBody, Problem } from '@atelier/protocol';
import { cancelActiveJobs, createGeneration, startTestServer, viewGeneration, type TestServer } from '@atelier/testing';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';

const PROMPT = { prompt: 'a walnut desk lamp', performance: 'speed' } as const;
const balanceOf = async (server: TestServer, secretKey: string) =>
  (await (await server.api(secretKey, '/v1/balance')).json()) as BalanceBody;

describe('backpressure', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ATELIER_MAX_QUEUED_PER_TENANT: '3', ATELIER_MAX_QUEUED: '5' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("answers 429 past a tenant's queued maximum and 503 past the global one, both with Retry-After, reserving nothing", async () => {
    const a = await server.createTenant();
    const b = await server.createTenant();
    for (let i = 0; i < 3; i += 1) await createGeneration(server, a.secretKey, PROMPT);
    const tooMany = await server.api(a.secretKey, '/v1/generations', { body: PROMPT });
    expect(tooMany.status).toBe(429);
    expect(Number(tooMany.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(((await tooMany.json()) as Problem).code).toBe('rate_limited');

    for (let i = 0; i < 2; i += 1) await createGeneration(server, b.secretKey, PROMPT);
    const full = await server.api(b.secretKey, '/v1/generations', { body: PROMPT });
    expect(full.status).toBe(503);
    expect(Number(full.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(((await full.json()) as Problem).code).toBe('unavailable');
    expect((await balanceOf(server, a.secretKey)).reserved).toBe(3);
    expect((await balanceOf(server, b.secretKey)).reserved).toBe(2);

    // Room again once jobs leave the queue.
    await cancelActiveJobs(server);
    expect((await server.api(b.secretKey, '/v1/generations', { body: PROMPT })).status).toBe(202);
    await cancelActiveJobs(server);
  });
});

describe('idempotency and identical requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const post = (secretKey: string, body: unknown, key?: string) =>
    server.api(secretKey, '/v1/generations', { body, ...(key ? { headers: { 'Idempotency-Key': key } } : {}) });

  it('answers a repeated Idempotency-Key with the original job for a day, and a different body with 409', async () => {
    const { tenantId, secretKey } = await server.createTenant();
    const first = (await (await post(secretKey, PROMPT, 'order-1')).json()) as { id: string };
    const again = await post(secretKey, PROMPT, 'order-1');
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(((await again.json()) as { id: string }).id).toBe(first.id);
    const different = await post(secretKey, { ...PROMPT, prompt: 'a chair' }, 'order-1');
    expect(different.status).toBe(409);
    expect(((await different.json()) as Problem).code).toBe('conflict');
    expect((await balanceOf(server, secretKey)).reserved).toBe(1);

    // Through the driver: mongoose keeps `createdAt` immutable.
    const age = (hours: number) =>
      server.database.models.IdempotencyKey.collection.updateOne(
        { tenantId, key: 'api:order-1' },
        { $set: { createdAt: new Date(Date.now() - hours * 3_600_000) } },
      );
    await age(25);
    await server.services.generations.sweepIdempotencyKeys();
    expect(((await (await post(secretKey, PROMPT, 'order-1')).json()) as { id: string }).id).toBe(first.id);
    await age(49);
    expect(await server.services.generations.sweepIdempotencyKeys()).toBeGreaterThanOrEqual(1);
    const later = await post(secretKey, PROMPT, 'order-1');
    expect(later.headers.get('Idempotent-Replayed')).toBe('false');
    expect(((await later.json()) as { id: string }).id).not.toBe(first.id);
    await cancelActiveJobs(server);
  });

  it("shares one job among a tenant's identical concurrent requests, never across tenants", async () => {
    const a = await server.createTenant();
    const b = await server.createTenant();
    const same = { ...PROMPT, seed: 1234 };
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(a.secretKey, same)));
    expect(responses.map((response) => response.status)).toEqual([202, 202, 202, 202, 202]);
    const ids = await Promise.all(responses.map(async (response) => ((await response.json()) as { id: string }).id));
    expect(new Set(ids).size).toBe(1);
    expect((await balanceOf(server, a.secretKey)).reserved).toBe(1);

    const other = await createGeneration(server, b.secretKey, same);
    expect(other).not.toBe(ids[0]);
    const otherSeed = await createGeneration(server, a.secretKey, { ...same, seed: 99 });
    expect(otherSeed).not.toBe(ids[0]);

    // Once the shared job is over, the same request makes a new one.
    expect((await server.api(a.secretKey, `/v1/generations/${ids[0]}/cancel`, { method: 'POST' })).status).toBe(200);
    const fresh = await createGeneration(server, a.secretKey, same);
    expect(fresh).not.toBe(ids[0]);
    await cancelActiveJobs(server);
  });
});

describe('deadlines', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      ATELIER_JOB_DEADLINE_MS: '1000',
      ATELIER_RUNNER_LEASE_MS: '1000',
      ATELIER_RUNNER_HEARTBEAT_MS: '200',
      ATELIER_DISPATCH_POLL_MS: '100',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('expires a job no runner started by its deadline, without charge', async () => {
    const { tenantId, secretKey } = await server.createTenant({ plan: 'basic' });
    const before = await balanceOf(server, secretKey);
    const id = await createGeneration(server, secretKey, PROMPT);
    expect((await balanceOf(server, secretKey)).reserved).toBe(1);
    await vi.waitFor(async () => expect((await viewGeneration(server, secretKey, id)).status).toBe('expired'), {
      timeout: 10_000,
    });
    expect((await viewGeneration(server, secretKey, id)).error?.code).toBe('expired');
    await vi.waitFor(async () => expect(await balanceOf(server, secretKey)).toEqual(before));
    const closings = await runWithTenant(tenantId, () =>
      server.database.models.CreditEntry.find({ jobId: id, kind: 'expire' }).lean(),
    );
    expect(closings).toHaveLength(1);
    const transitions = await runAsSystem('test: history', () =>
      server.database.models.JobTransition.find({ jobId: id }).sort({ rev: 1 }).lean(),
    );
    expect(transitions.map((transition) => transition.kind)).toEqual(['deadline']);
  });
});

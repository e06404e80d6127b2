import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BalanceBody, Problem } from '@atelier/protocol';
import {
  cancelActiveJobs,
  createGeneration,
  pngBytes,
  startInstantRunner,
  startTestServer,
  type ScriptedRunner,
  type TestServer,
} from '@atelier/testing';
import type { CreditEntry } from '../models/credit-entry.model.js';
import { newId } from '../services/ids.js';
import { ReservationSweeper } from '../services/reservation-sweeper.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  // Tenants on `basic` start with exactly 10 credits in this file.
  await server.services.plans.update('basic', { monthlyCredits: 10 });
});

afterAll(async () => {
  await server.stop();
});

const SPEED = { prompt: 'a walnut desk lamp', performance: 'speed' } as const;

const balanceOf = async (secretKey: string) => (await (await server.api(secretKey, '/v1/balance')).json()) as BalanceBody;

const entriesOf = (tenantId: string): Promise<CreditEntry[]> =>
  runWithTenant(tenantId, () => server.database.models.CreditEntry.find().sort({ seq: 1 }).lean());

/** Every entry's totals are the previous entry's plus its own movement, seq without gaps, reserved never negative, balance never below reserved. */
function expectConsistentLedger(entries: CreditEntry[]): void {
  let balance = 0;
  let reserved = 0;
  entries.forEach((entry, index) => {
    balance += entry.amount;
    reserved += entry.reservedChange;
    expect({ seq: entry.seq, balance: entry.balance, reserved: entry.reserved }).toEqual({ seq: index + 1, balance, reserved });
    expect(reserved).toBeGreaterThanOrEqual(0);
    expect(balance - reserved).toBeGreaterThanOrEqual(0);
  });
}

const closingsOf = (entries: CreditEntry[], jobId: string) =>
  entries.filter((entry) => entry.jobId === jobId && entry.kind !== 'reserve');

describe('credit reservations', () => {
  it('accepts exactly 10 of 50 parallel requests against a balance that covers 10, and never overdraws', async () => {
    const { tenantId, secretKey } = await server.createTenant({ plan: 'basic' });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => server.api(secretKey, '/v1/generations', { body: { ...SPEED, prompt: `lamp ${i}` } })),
    );
    const accepted = responses.filter((response) => response.status === 202);
    const refused = responses.filter((response) => response.status !== 202);
    expect(accepted).toHaveLength(10);
    expect(new Set(refused.map((response) => response.status))).toEqual(new Set([402]));
    const problem = (await refused[0]!.json()) as Problem;
    expect(problem).toMatchObject({ code: 'insufficient_credits', status: 402 });
    expect(await balanceOf(secretKey)).toEqual({ balance: 10, reserved: 10, available: 0 });
    const entries = await entriesOf(tenantId);
    expectConsistentLedger(entries);
    expect(entries.filter((entry) => entry.kind === 'reserve')).toHaveLength(10);
    await cancelActiveJobs(server);
  });

  it('shows what is reserved in /v1/balance and hands it back when a queued job is cancelled', async () => {
    const { tenantId, secretKey } = await server.createTenant({ plan: 'basic' });
    const id = await createGeneration(server, secretKey, { ...SPEED, imageCount: 2 });
    expect(await balanceOf(secretKey)).toEqual({ balance: 10, reserved: 2, available: 8 });
    expect((await server.api(secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    await vi.waitFor(async () => expect(await balanceOf(secretKey)).toEqual({ balance: 10, reserved: 0, available: 10 }));
    const entries = await entriesOf(tenantId);
    expect(closingsOf(entries, id).map((entry) => entry.kind)).toEqual(['release']);
    expectConsistentLedger(entries);
  });

  it('settles a finished job exactly once, however often the settlement and a release are replayed', async () => {
    const { tenantId, secretKey } = await server.createTenant({ plan: 'basic' });
    let runner: ScriptedRunner | undefined;
    try {
      runner = await startInstantRunner(server.url, await server.createRunnerToken(), 'settler', await pngBytes(9));
      const id = await createGeneration(server, secretKey, SPEED);
      await vi.waitFor(async () => expect(await balanceOf(secretKey)).toEqual({ balance: 9, reserved: 0, available: 9 }), {
        timeout: 10_000,
      });
      const { ledger } = server.services;
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          runWithTenant(tenantId, () =>
            i % 2 === 0
              ? ledger.close(id, { kind: 'settle', usage: { preset: 'speed', images: 1 } })
              : ledger.close(id, { kind: 'release', reason: 'replay' }),
          ),
        ),
      );
      expect(await balanceOf(secretKey)).toEqual({ balance: 9, reserved: 0, available: 9 });
      const entries = await entriesOf(tenantId);
      expect(closingsOf(entries, id).map((entry) => entry.kind)).toEqual(['settle']);
      expectConsistentLedger(entries);
      const usage = (await (await server.api(secretKey, '/v1/usage')).json()) as { total: { credits: number } };
      expect(usage.total.credits).toBe(1);
    } finally {
      await runner?.close();
    }
  });

  it('replays a reservation instead of reserving twice', async () => {
    const { tenantId, secretKey } = await server.createTenant({ plan: 'basic' });
    const jobId = newId('gen');
    await Promise.all(Array.from({ length: 5 }, () => runWithTenant(tenantId, () => server.services.ledger.reserve(jobId, 3))));
    expect(await balanceOf(secretKey)).toEqual({ balance: 10, reserved: 3, available: 7 });
    await runWithTenant(tenantId, () => server.services.ledger.close(jobId, { kind: 'release', reason: 'test' }));
  });
});

describe('the reservation sweeper', () => {
  const sweeper = (orphanAfterMs: number) =>
    new ReservationSweeper({
      models: server.database.models,
      ledger: server.services.ledger,
      expireUnstarted: (tenantId, jobId) => server.services.queue.expireUnstarted(tenantId, jobId),
      orphanAfterMs,
    });

  it('settles or releases reservations whose job ended while the process writing the ledger died', async () => {
    const { tenantId, secretKey } = await server.createTenant({ plan: 'basic' });
    const [done, failed, waiting] = [
      await createGeneration(server, secretKey, SPEED),
      await createGeneration(server, secretKey, { ...SPEED, imageCount: 2 }),
      await createGeneration(server, secretKey, SPEED),
    ];
    // What a crash right after a job's last transition leaves: the job finished, its reservation open.
    const finishedAt = new Date(Date.now() - 120_000);
    await runWithTenant(tenantId, async () => {
      const { Generation: Jobs } = server.database.models;
      await Jobs.updateOne({ _id: done }, { $set: { status: 'succeeded', finishedAt } });
      await Jobs.updateOne({ _id: failed }, { $set: { status: 'failed', finishedAt } });
    });
    expect(await balanceOf(secretKey)).toEqual({ balance: 10, reserved: 4, available: 6 });

    const report = await sweeper(60_000).sweep();
    expect(report).toMatchObject({ settled: 1, released: 1, orphaned: 0 });
    // The queued job keeps its reservation.
    expect(await balanceOf(secretKey)).toEqual({ balance: 9, reserved: 1, available: 8 });
    const entries = await entriesOf(tenantId);
    expect(closingsOf(entries, done).map((entry) => entry.kind)).toEqual(['settle']);
    expect(closingsOf(entries, failed).map((entry) => entry.kind)).toEqual(['release']);
    expect(closingsOf(entries, waiting)).toEqual([]);
    expectConsistentLedger(entries);
    // A second sweep finds nothing left to repair.
    expect(await sweeper(60_000).sweep()).toMatchObject({ settled: 0, released: 0 });
    await cancelActiveJobs(server);
  });

  it('hands back a reservation whose job was never stored, once it is old enough', async () => {
    const { tenantId, secretKey } = await server.createTenant({ plan: 'basic' });
    const jobId = newId('gen');
    // What a crash between reserving and storing the job leaves.
    await runWithTenant(tenantId, () => server.services.ledger.reserve(jobId, 4));
    expect((await sweeper(60_000).sweep()).orphaned).toBe(0);
    expect(await balanceOf(secretKey)).toEqual({ balance: 10, reserved: 4, available: 6 });
    expect((await sweeper(0).sweep()).orphaned).toBe(1);
    expect(await balanceOf(secretKey)).toEqual({ balance: 10, reserved: 0, available: 10 });
    const entries = await entriesOf(tenantId);
    expect(closingsOf(entries, jobId).map((entry) => entry.kind)).toEqual(['release']);
    expectConsistentLedger(entries);
  });

  it('expires a job stored after its reservation was handed back, so it never runs unpaid', async () => {
    const { tenantId, secretKey } = await server.createTenant({ plan: 'basic' });
    const id = await createGeneration(server, secretKey, SPEED);
    // As if the sweeper had taken the reservation for an orphan just before the job was stored.
    await runWithTenant(tenantId, () => server.services.ledger.close(id, { kind: 'release', reason: 'test' }));
    expect(await server.services.queue.expireUnstarted(tenantId, id)).toBe(true);
    const job = await runAsSystem('test: read job', () => server.database.models.Generation.findById(id).lean());
    expect(job).toMatchObject({ status: 'expired', error: { code: 'expired' } });
    expect(await balanceOf(secretKey)).toEqual({ balance: 10, reserved: 0, available: 10 });
  });
});

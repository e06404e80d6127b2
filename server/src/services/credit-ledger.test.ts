import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, freshDatabaseUri } from '@atelier/testing';
import { connectDatabase, type Database } from '../db/connect.js';
import { AppError } from '../errors/app-error.js';
import { runAsSystem, runWithTenant, TenantScopeError } from '../tenancy/tenant-context.js';
import { AuditLog } from './audit-log.js';
import { CreditLedger } from './credit-ledger.js';
import { newId } from './ids.js';

let uri: string;
let database: Database;
let ledger: CreditLedger;
const admin = { kind: 'admin' as const };

beforeAll(async () => {
  uri = freshDatabaseUri();
  database = await connectDatabase(uri);
  ledger = new CreditLedger({ models: database.models, audit: new AuditLog({ models: database.models }) });
});

afterAll(async () => {
  await database.close();
  await dropDatabase(uri);
});

const entriesOf = (tenantId: string) => runWithTenant(tenantId, () => database.models.CreditEntry.find().sort({ seq: 1 }).lean());

describe('CreditLedger', () => {
  it('starts at zero and keeps running totals on every entry', async () => {
    const tenant = newId('ten');
    expect(await runWithTenant(tenant, () => ledger.balance())).toEqual({ balance: 0, reserved: 0, available: 0 });
    await runWithTenant(tenant, () => ledger.grant({ amount: 100, reason: 'welcome', actor: admin }));
    const second = await runWithTenant(tenant, () => ledger.grant({ amount: 25, reason: 'top-up', actor: admin }));
    expect(second.entry).toMatchObject({ seq: 2, kind: 'grant', amount: 25, balance: 125, reserved: 0, reason: 'top-up' });
    expect(second.balance).toEqual({ balance: 125, reserved: 0, available: 125 });
  });

  it('50 concurrent grants of 1 add exactly 50, with seq 1..50 and no gaps', async () => {
    const tenant = newId('ten');
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        runWithTenant(tenant, () => ledger.grant({ amount: 1, reason: `grant ${i}`, actor: admin })),
      ),
    );
    expect(results.every((result) => !result.replayed)).toBe(true);
    expect(await runWithTenant(tenant, () => ledger.balance())).toEqual({ balance: 50, reserved: 0, available: 50 });
    const entries = await entriesOf(tenant);
    expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // Each entry's total is the previous one's plus its own amount: no movement was lost.
    expect(entries.map((entry) => entry.balance)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const audited = await runWithTenant(tenant, () => database.models.AuditEvent.countDocuments({ action: 'credits.granted' }));
    expect(audited).toBe(50);
  });

  it("keeps each tenant's ledger to itself under concurrent grants", async () => {
    const [a, b] = [newId('ten'), newId('ten')];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runWithTenant(i % 2 === 0 ? a : b, () => ledger.grant({ amount: i + 1, reason: 'mixed', actor: admin })),
      ),
    );
    expect((await runWithTenant(a, () => ledger.balance())).balance).toBe(1 + 3 + 5 + 7 + 9 + 11 + 13 + 15 + 17 + 19);
    expect((await runWithTenant(b, () => ledger.balance())).balance).toBe(2 + 4 + 6 + 8 + 10 + 12 + 14 + 16 + 18 + 20);
    expect((await entriesOf(a)).map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('answers a repeated idempotency key with the first grant, even when the repeats race', async () => {
    const tenant = newId('ten');
    const grants = await Promise.all(
      Array.from({ length: 5 }, () =>
        runWithTenant(tenant, () => ledger.grant({ amount: 40, reason: 'invoice 7', actor: admin, idempotencyKey: 'inv-7' })),
      ),
    );
    expect(grants.filter((grant) => !grant.replayed)).toHaveLength(1);
    expect(new Set(grants.map((grant) => grant.entry.seq))).toEqual(new Set([1]));
    expect((await runWithTenant(tenant, () => ledger.balance())).balance).toBe(40);
    const different = runWithTenant(tenant, () =>
      ledger.grant({ amount: 41, reason: 'invoice 7', actor: admin, idempotencyKey: 'inv-7' }),
    );
    await expect(different).rejects.toMatchObject({ code: 'conflict' });
    await expect(different).rejects.toBeInstanceOf(AppError);
  });

  it('pages entries newest first by seq', async () => {
    const tenant = newId('ten');
    for (const amount of [1, 2, 3, 4, 5]) await runWithTenant(tenant, () => ledger.grant({ amount, reason: 'p', actor: admin }));
    const first = await runWithTenant(tenant, () => ledger.entries(2));
    expect(first.data.map((entry) => entry.seq)).toEqual([5, 4]);
    const second = await runWithTenant(tenant, () => ledger.entries(2, Number(first.nextCursor)));
    expect(second.data.map((entry) => entry.seq)).toEqual([3, 2]);
    const last = await runWithTenant(tenant, () => ledger.entries(2, Number(second.nextCursor)));
    expect(last).toEqual({ data: [expect.objectContaining({ seq: 1 })], nextCursor: null });
  });

  it('is append-only: entries are never rewritten, and deleted only in a system scope', async () => {
    const tenant = newId('ten');
    await runWithTenant(tenant, () => ledger.grant({ amount: 5, reason: 'x', actor: admin }));
    const { CreditEntry } = database.models;
    await expect(runWithTenant(tenant, () => CreditEntry.updateOne({}, { $set: { amount: 500 } }))).rejects.toBeInstanceOf(
      TenantScopeError,
    );
    await expect(runWithTenant(tenant, () => CreditEntry.deleteMany({}))).rejects.toBeInstanceOf(TenantScopeError);
    expect((await runWithTenant(tenant, () => ledger.balance())).balance).toBe(5);
    await runAsSystem('test: delete a tenant', () => CreditEntry.deleteMany({ tenantId: tenant }));
    expect(await entriesOf(tenant)).toEqual([]);
  });

  it('reports usage as every day of the range with zeros until settlements exist', async () => {
    const tenant = newId('ten');
    await runWithTenant(tenant, () => ledger.grant({ amount: 5, reason: 'x', actor: admin }));
    const usage = await runWithTenant(tenant, () => ledger.usage('2025-02-27', '2025-03-02'));
    expect(usage.days.map((day) => day.date)).toEqual(['2025-02-27', '2025-02-28', '2025-03-01', '2025-03-02']);
    expect(usage.total).toEqual({ credits: 0, images: 0, generations: 0 });
    expect(usage.days[0]!.presets.quality).toEqual({ credits: 0, images: 0, generations: 0 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, freshDatabaseUri } from '@atelier/testing';
import { connectDatabase, type Database } from '../db/connect.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import { AuditLog } from './audit-log.js';
import { CreditLedger } from './credit-ledger.js';
import { IncludedCredits } from './included-credits.js';
import { KeyService } from './key-service.js';
import { PlanService } from './plans.js';
import { TenantConfigService } from './tenant-config.js';
import { TenantService } from './tenant-service.js';

let uri: string;
let database: Database;
let clock = new Date('2026-11-20T12:00:00Z');
const now = () => clock;
let tenants: TenantService;
let ledger: CreditLedger;
let plans: PlanService;
const admin = { kind: 'admin' as const };

beforeAll(async () => {
  uri = freshDatabaseUri();
  database = await connectDatabase(uri);
  const { models } = database;
  const audit = new AuditLog({ models });
  plans = new PlanService({ models });
  await plans.seed();
  ledger = new CreditLedger({ models, audit });
  const configs = new TenantConfigService({ models, plans, audit });
  tenants = new TenantService({ models, keys: new KeyService({ models, audit }), plans, configs, ledger, audit, now });
});

afterAll(async () => {
  await database.close();
  await dropDatabase(uri);
});

const grantsOf = (tenantId: string) =>
  runWithTenant(tenantId, () => database.models.CreditEntry.find({ kind: 'grant' }).sort({ seq: 1 }).lean());

describe('IncludedCredits', () => {
  it("grants each active tenant its plan's credits once a month, on any number of processes and runs", async () => {
    clock = new Date('2026-11-20T12:00:00Z');
    const basic = await tenants.create({ name: 'Basic', plan: 'basic', origins: [] }, admin);
    const free = await tenants.create({ name: 'Free', plan: 'free', origins: [] }, admin);
    const paused = await tenants.create({ name: 'Paused', plan: 'pro', origins: [] }, admin);
    await tenants.update(paused.tenantId, { status: 'suspended' }, admin);
    // Three "processes" in the same month as onboarding: nothing more to grant.
    const processes = [0, 1, 2].map(() => new IncludedCredits({ models: database.models, plans, ledger, now }));
    expect(await Promise.all(processes.map((p) => p.grantMonth()))).toEqual([0, 0, 0]);

    clock = new Date('2026-12-01T00:30:00Z');
    const granted = await Promise.all(processes.map((p) => p.grantMonth()));
    // Both active tenants got December's grant exactly once between the racing runs.
    expect(granted.reduce((a, b) => a + b, 0)).toBe(2);
    expect(await processes[0]!.grantMonth()).toBe(0);

    const basicGrants = await grantsOf(basic.tenantId);
    expect(basicGrants.map((entry) => [entry.key, entry.amount])).toEqual([
      ['grant:monthly:2026-11', 500],
      ['grant:monthly:2026-12', 500],
    ]);
    expect(basicGrants.at(-1)!.balance).toBe(1000);
    expect((await grantsOf(free.tenantId)).map((entry) => entry.amount)).toEqual([10, 10]);
    // Suspended: November's onboarding grant only.
    expect((await grantsOf(paused.tenantId)).map((entry) => entry.key)).toEqual(['grant:monthly:2026-11']);

    // Reactivated later in December, it gets December's grant on the next run.
    await tenants.update(paused.tenantId, { status: 'active' }, admin);
    expect(await processes[1]!.grantMonth()).toBe(1);
    expect((await grantsOf(paused.tenantId)).map((entry) => entry.key)).toEqual([
      'grant:monthly:2026-11',
      'grant:monthly:2026-12',
    ]);
  });

  it("leaves a month alone whose grant was made before the plan's credits changed", async () => {
    clock = new Date('2027-01-03T08:00:00Z');
    const shop = await tenants.create({ name: 'Changer', plan: 'basic', origins: [] }, admin);
    await runAsSystem('test: edit plan', () => plans.update('basic', { monthlyCredits: 800 }));
    const included = new IncludedCredits({ models: database.models, plans, ledger, now });
    // The earlier test's tenants get January here; this one had it at onboarding, at 500.
    await included.grantMonth();
    expect((await grantsOf(shop.tenantId)).map((entry) => entry.amount)).toEqual([500]);
    clock = new Date('2027-02-01T00:00:00Z');
    await included.grantMonth();
    expect((await grantsOf(shop.tenantId)).map((entry) => entry.amount)).toEqual([500, 800]);
  });
});

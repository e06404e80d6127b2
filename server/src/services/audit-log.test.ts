import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, freshDatabaseUri } from '@atelier/testing';
import { connectDatabase, type Database } from '../db/connect.js';
import { TenantScopeError, runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import { AuditLog } from './audit-log.js';

let uri: string;
let database: Database;
let audit: AuditLog;

beforeAll(async () => {
  uri = freshDatabaseUri();
  database = await connectDatabase(uri);
  // A clock a second on at each entry: entries of one millisecond would be ordered by their random ids.
  let clock = Date.parse('2026-11-01T00:00:00Z');
  audit = new AuditLog({ models: database.models, now: () => new Date((clock += 1000)) });
});

afterAll(async () => {
  await database.close();
  await dropDatabase(uri);
});

describe('AuditLog', () => {
  it("keeps each tenant's entries to itself, newest first", async () => {
    await runWithTenant('ten_a', () =>
      audit.record('key.created', { actor: { kind: 'admin' }, target: { kind: 'key', id: 'key_1' } }),
    );
    await runWithTenant('ten_a', () =>
      audit.record('config.changed', { actor: { kind: 'key', id: 'key_1' }, details: { fields: ['branding'] } }),
    );
    await runWithTenant('ten_b', () => audit.record('key.revoked', { actor: { kind: 'admin' } }));

    const a = (await runWithTenant('ten_a', () => audit.list({ limit: 10 }))).data;
    expect(a.map((event) => event.action)).toEqual(['config.changed', 'key.created']);
    expect(a[0]).toMatchObject({ actor: { kind: 'key', id: 'key_1' }, details: { fields: ['branding'] } });
    const stored = await runWithTenant('ten_a', () => database.models.AuditEvent.find().lean());
    expect(stored.map((event) => [event._id, event.tenantId]).sort()).toEqual(a.map((event) => [event.id, 'ten_a']).sort());
    expect((await runWithTenant('ten_b', () => audit.list({ limit: 10 }))).data.map((event) => event.action)).toEqual([
      'key.revoked',
    ]);
  });

  it('is append-only: no update anywhere, no delete outside a system scope', async () => {
    const { AuditEvent } = database.models;
    const event = await runWithTenant('ten_c', () => audit.record('tenant.created', { actor: { kind: 'cli' } }));
    await expect(
      runWithTenant('ten_c', () => AuditEvent.updateOne({ _id: event._id }, { $set: { action: 'key.revoked' } })),
    ).rejects.toBeInstanceOf(TenantScopeError);
    await expect(runWithTenant('ten_c', () => AuditEvent.deleteOne({ _id: event._id }))).rejects.toBeInstanceOf(TenantScopeError);
    await expect(
      runAsSystem('test: rewrite history', () => AuditEvent.updateMany({}, { $set: { details: {} } })),
    ).rejects.toBeInstanceOf(TenantScopeError);
    expect(await runWithTenant('ten_c', () => AuditEvent.countDocuments())).toBe(1);
    await runAsSystem('test: delete a tenant', () => AuditEvent.deleteMany({ tenantId: 'ten_c' }));
    expect(await runWithTenant('ten_c', () => AuditEvent.countDocuments())).toBe(0);
  });

  it('refuses to record without a tenant', async () => {
    await expect(audit.record('key.created', { actor: { kind: 'admin' } })).rejects.toBeInstanceOf(TenantScopeError);
  });
});

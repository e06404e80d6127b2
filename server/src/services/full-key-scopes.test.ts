import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_SCOPES, type KeyScope } from '@atelier/protocol';
import { dropDatabase, freshDatabaseUri } from '@atelier/testing';
import { connectDatabase, type Database } from '../db/connect.js';
import { runWithTenant } from '../tenancy/tenant-context.js';
import { AuditLog } from './audit-log.js';
import { extendFullKeys } from './full-key-scopes.js';
import { KeyService } from './key-service.js';

let uri: string;
let database: Database;
let keys: KeyService;

beforeAll(async () => {
  uri = freshDatabaseUri();
  database = await connectDatabase(uri);
  keys = new KeyService({ models: database.models, audit: new AuditLog({ models: database.models }) });
});

afterAll(async () => {
  await database.close();
  await dropDatabase(uri);
});

const BEFORE_AUDIT = KEY_SCOPES.filter((scope) => scope !== 'audit:read');

/** A tenant's first secret key, stored as one issued before `audit:read` existed, and one with fewer scopes. */
async function keysIssuedEarlier(tenantId: string): Promise<{ full: string; narrow: string }> {
  const { ApiKey } = database.models;
  await keys.issue(tenantId, 'test', 'default');
  return runWithTenant(tenantId, async () => {
    const full = (await ApiKey.findOne({ kind: 'secret' }).lean())!._id;
    await ApiKey.updateOne({ _id: full }, { $set: { scopes: BEFORE_AUDIT } });
    const narrow = (
      await ApiKey.create({ _id: `key_narrow${tenantId.slice(4, 14)}`, kind: 'secret', mode: 'test', hash: tenantId, hint: 'x' })
    )._id;
    await ApiKey.updateOne({ _id: narrow }, { $set: { scopes: ['generations:read', 'config:read'] } });
    return { full, narrow };
  });
}

const scopesOf = (tenantId: string, id: string) =>
  runWithTenant(tenantId, async () => (await database.models.ApiKey.findById(id).lean())!.scopes as KeyScope[]);

describe('extendFullKeys', () => {
  it('gives keys issued with every scope of their day the scopes added since, and no other key anything', async () => {
    const a = await keysIssuedEarlier('ten_aaaaaaaaaaaaaaaaaaaa');
    const b = await keysIssuedEarlier('ten_bbbbbbbbbbbbbbbbbbbb');
    expect(await scopesOf('ten_aaaaaaaaaaaaaaaaaaaa', a.full)).not.toContain('audit:read');

    expect(await extendFullKeys(database.models)).toBe(2);
    for (const [tenantId, issued] of [
      ['ten_aaaaaaaaaaaaaaaaaaaa', a],
      ['ten_bbbbbbbbbbbbbbbbbbbb', b],
    ] as const) {
      expect((await scopesOf(tenantId, issued.full)).sort()).toEqual([...KEY_SCOPES].sort());
      expect(await scopesOf(tenantId, issued.narrow)).toEqual(['generations:read', 'config:read']);
    }
    // Again: nothing left to give.
    expect(await extendFullKeys(database.models)).toBe(0);
  });
});

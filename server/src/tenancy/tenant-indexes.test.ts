import { afterAll, describe, expect, it } from 'vitest';
import mongoose from 'mongoose';
import { createModels } from '../models/index.js';
import { tenantPlugin } from './tenant-plugin.js';

// Models bind to a connection; reading their schemas needs no database.
const connection = mongoose.createConnection();
const models = Object.entries(createModels(connection));

afterAll(() => connection.close());

/**
 * Unique indexes that are global on purpose, with the reason. Anything else unique on a
 * tenant-owned model must lead with tenantId, or two tenants could block each other's
 * inserts (and a duplicate-key error would tell one that the other's value exists).
 */
const GLOBAL_UNIQUE: Record<string, string> = {
  'ApiKey hash': "a key's hash is what identifies its tenant: authentication looks it up before any tenant is known",
};

const tenantOwned = models.filter(([, model]) => model.schema.pathType('tenantId') === 'real');

describe('tenant-owned models', () => {
  it('are the models that carry tenantId, and every one of them runs the tenant plugin', () => {
    expect(tenantOwned.map(([name]) => name)).toEqual(
      expect.arrayContaining(['ApiKey', 'Generation', 'CreditEntry', 'TenantConfig']),
    );
    for (const [name, model] of tenantOwned) {
      const plugins = (model.schema as unknown as { plugins: { fn: unknown }[] }).plugins.map((plugin) => plugin.fn);
      expect(plugins, name).toContain(tenantPlugin);
    }
  });

  it('have unique indexes that lead with tenantId, but for the ones global on purpose', () => {
    const offending: string[] = [];
    for (const [name, model] of tenantOwned) {
      for (const [fields, options] of model.schema.indexes()) {
        if (!options?.unique) continue;
        const keys = Object.keys(fields);
        if (keys[0] === 'tenantId' && keys.length > 1) continue;
        const label = `${name} ${keys.join(',')}`;
        if (!(label in GLOBAL_UNIQUE)) offending.push(label);
      }
    }
    expect(offending).toEqual([]);
  });

  it('lists no global unique index that is not there any more', () => {
    const present = tenantOwned.flatMap(([name, model]) =>
      model.schema
        .indexes()
        .filter(([, options]) => options?.unique)
        .map(([fields]) => `${name} ${Object.keys(fields).join(',')}`),
    );
    for (const label of Object.keys(GLOBAL_UNIQUE)) expect(present).toContain(label);
  });
});

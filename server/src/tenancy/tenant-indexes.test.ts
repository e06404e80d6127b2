import { afterAll, describe, expect, it } from 'vitest';
import mongoose, { type Schema } from 'mongoose';
import { createShopifyModels } from '@atelier/plugin-shopify';
import { createModels } from '../models/index.js';
import { tenantPlugin } from './tenant-plugin.js';

// Models bind to a connection; reading their schemas needs no database. The Shopify app's
// collections live on the server's connection beside the platform's, and are judged alike.
const connection = mongoose.createConnection();
const models: [string, { schema: Schema }][] = [
  ...Object.entries(createModels(connection)),
  ...Object.entries(createShopifyModels(connection)).map(([name, model]): [string, { schema: Schema }] => [
    `Shopify${name}`,
    model,
  ]),
];

afterAll(() => connection.close());

/**
 * Unique indexes that are global on purpose, with the reason. Anything else unique on a
 * tenant-owned model must lead with tenantId, or two tenants could block each other's
 * inserts (and a duplicate-key error would tell one that the other's value exists).
 */
const GLOBAL_UNIQUE: Record<string, string> = {
  'ApiKey hash': "a key's hash is what identifies its tenant: authentication looks it up before any tenant is known",
  'ShopifyShop tenantId': 'one shop per tenant: the shop record is found by its tenant (the tenant deletion does)',
  'ShopifyUsageCharge jobId': "one job is charged once; a job's id is the platform's, unique across tenants",
};

/**
 * The Shopify app's models that carry tenantId without running the tenant plugin, with
 * the reason. The app's code is scoped by hand, by shop (its webhooks, outboxes and admin
 * find the shop first); the platform's tenant deletion erases them through the app
 * (tenant-deletion.ts `INTEGRATIONS`, plugin-shopify's shop-erasure.ts).
 */
const SCOPED_BY_SHOP: Record<string, string> = {
  ShopifyShop: "maps a shop's domain to its tenant, looked up before the tenant is known (like Tenant); left a tombstone",
  ShopifyResult: 'scoped by shop; erased with its tenant',
  ShopifySubscription: 'scoped by shop; erased with its tenant',
  ShopifyUsageCharge: 'scoped by shop (the usage outbox drains every shop); erased with its tenant',
};

const tenantOwned = models.filter(([, model]) => model.schema.pathType('tenantId') === 'real');

describe('tenant-owned models', () => {
  it('are the models that carry tenantId, and every one of them runs the tenant plugin, but for the ones scoped by shop', () => {
    expect(tenantOwned.map(([name]) => name)).toEqual(
      expect.arrayContaining(['ApiKey', 'Generation', 'CreditEntry', 'TenantConfig', ...Object.keys(SCOPED_BY_SHOP)]),
    );
    for (const [name, model] of tenantOwned) {
      const plugins = (model.schema as unknown as { plugins: { fn: unknown }[] }).plugins.map((plugin) => plugin.fn);
      expect(plugins.includes(tenantPlugin), name).toBe(!(name in SCOPED_BY_SHOP));
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

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShopifyModels, type ShopifyModels } from '@atelier/plugin-shopify';
import { dropDatabase, freshDatabaseUri, startShopifyTestApp } from '@atelier/testing';
import { connectDatabase, type Database } from '../db/connect.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/atelier.js', import.meta.url));

let uri: string;
let dataDir: string;
let database: Database;
let shopify: ShopifyModels;

/** The real `atelier` command (the built CLI) against a real database, without the Shopify app configured unless `env` does. */
async function atelier(
  args: string[],
  env: Record<string, string> = { MONGODB_URI: uri, ATELIER_DATA_DIR: dataDir },
): Promise<string> {
  const { stdout } = await run(process.execPath, [bin, ...args], { env: { ...process.env, ...env, VITEST: '' } });
  return stdout;
}

/** A tenant the CLI creates, with what the Shopify app keeps of an installed shop: its record, session, result, subscription and usage charge. */
async function shopTenant(shop: string): Promise<string> {
  const { tenantId } = JSON.parse(await atelier(['tenants', 'create', '--name', shop, '--plan', 'free', '--json'])) as {
    tenantId: string;
  };
  const subscriptionId = `gid://shopify/AppSubscription/${shop}`;
  await shopify.Shop.create({
    _id: shop,
    tenantId,
    status: 'installed',
    name: shop,
    email: `owner@${shop}`,
    installedAt: new Date(),
  });
  await shopify.Session.create({ _id: `offline_${shop}`, shop, isOnline: false, sealedAccessToken: 'sealed' });
  await shopify.Result.create({ _id: `img_${shop}`, shop, tenantId, generationId: `gen_${shop}` });
  await shopify.Subscription.create({
    _id: subscriptionId,
    shop,
    tenantId,
    plan: 'basic',
    name: 'Basic',
    status: 'ACTIVE',
    test: true,
    replacementBehavior: 'STANDARD',
    usageLineItemId: `${subscriptionId}/usage`,
    priceCents: 1900,
    centsPerCredit: 5,
    cappedCents: 5000,
    currencyCode: 'USD',
  });
  await shopify.UsageCharge.create({
    _id: `${subscriptionId}:1:1`,
    subscriptionId,
    cycle: 1,
    seq: 1,
    shop,
    tenantId,
    jobId: `gen_${shop}`,
    credits: 2,
    cents: 10,
    totalCents: 10,
  });
  return tenantId;
}

const held = async (shop: string) => ({
  sessions: await shopify.Session.countDocuments({ shop }),
  results: await shopify.Result.countDocuments({ shop }),
  subscriptions: await shopify.Subscription.countDocuments({ shop }),
  usageCharges: await shopify.UsageCharge.countDocuments({ shop }),
});

beforeAll(async () => {
  uri = freshDatabaseUri();
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-cli-'));
  database = await connectDatabase(uri);
  shopify = createShopifyModels(database.connection);
});

afterAll(async () => {
  await database.close();
  await dropDatabase(uri);
  await rm(dataDir, { recursive: true, force: true });
});

describe('npx atelier tenants delete, for a Shopify shop', () => {
  it("removes what the Shopify app keeps of the tenant, leaves the shop a tombstone, and keeps another shop's", async () => {
    const tenantId = await shopTenant('cli-deleted.myshopify.com');
    await shopTenant('cli-bystander.myshopify.com');
    const one = { sessions: 1, results: 1, subscriptions: 1, usageCharges: 1 };
    expect(await held('cli-deleted.myshopify.com')).toEqual(one);

    const deleted = JSON.parse(await atelier(['tenants', 'delete', tenantId, '--yes', '--json'])) as {
      documents: Record<string, number>;
      warnings: string[];
    };
    // The Shopify app is not configured here: nothing could cancel the shop's subscription at
    // Shopify, and the operator is told which one stays active.
    expect(deleted.warnings).toEqual([
      'Shopify subscription gid://shopify/AppSubscription/cli-deleted.myshopify.com of cli-deleted.myshopify.com was left active (the Shopify app is not configured where the deletion ran): the merchant is billed until they uninstall the app.',
    ]);
    expect(deleted.documents).toMatchObject({
      shopify_sessions: 1,
      shopify_results: 1,
      shopify_subscriptions: 1,
      shopify_usage_charges: 1,
    });
    expect(await held('cli-deleted.myshopify.com')).toEqual({ sessions: 0, results: 0, subscriptions: 0, usageCharges: 0 });
    expect(await shopify.Shop.findById('cli-deleted.myshopify.com').lean()).toMatchObject({
      tenantId,
      status: 'redacted',
      name: null,
      email: null,
    });
    expect(await held('cli-bystander.myshopify.com')).toEqual(one);
    expect(await shopify.Shop.findById('cli-bystander.myshopify.com').lean()).toMatchObject({ status: 'installed' });
  });
});

describe('npx atelier tenants delete, with the Shopify app configured as the server has it', () => {
  it("cancels the shop's subscription at Shopify before erasing the app's data, and leaves another shop's alone", async () => {
    const app = await startShopifyTestApp();
    try {
      const tenantId = await app.install('cli-subscribed.myshopify.com');
      await app.install('cli-subscribed-bystander.myshopify.com');
      for (const shop of ['cli-subscribed.myshopify.com', 'cli-subscribed-bystander.myshopify.com'])
        await app.subscribe(shop, 'basic');
      const atShopify = (shop: string) =>
        app.shopify.billing.subscriptions.filter((subscription) => subscription.shop === shop).map(({ status }) => status);

      const output = await atelier(['tenants', 'delete', tenantId, '--yes'], {
        ...app.env,
        MONGODB_URI: app.server.mongodbUri,
        ATELIER_DATA_DIR: app.server.dataDir,
      });
      expect(output).toMatch(
        new RegExp(`^Deleted tenant ${tenantId}: \\d+ documents and \\d+ files removed; its id stays as a tombstone\\.\\n$`),
      );
      expect(atShopify('cli-subscribed.myshopify.com')).toEqual(['CANCELLED']);
      expect(atShopify('cli-subscribed-bystander.myshopify.com')).toEqual(['ACTIVE']);
      const models = app.server.shopify!.models;
      expect(await models.Subscription.countDocuments({ shop: 'cli-subscribed.myshopify.com' })).toBe(0);
      expect(await models.Session.countDocuments({ shop: 'cli-subscribed.myshopify.com' })).toBe(0);
    } finally {
      await app.stop();
    }
  });
});

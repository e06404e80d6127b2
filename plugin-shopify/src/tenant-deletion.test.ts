import mongoose, { type Model } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminRequest, startShopifyTestApp, type ShopifyTestApp } from '@atelier/testing';
import { claimCharge } from './billing/usage-charges.js';

let app: ShopifyTestApp;
const SHOP = 'deleted-by-operator.myshopify.com';
const BYSTANDER = 'deletion-bystander.myshopify.com';
const tenants: Record<string, string> = {};
const models = () => app.server.shopify!.models;

/**
 * Gives the shop what the app keeps of a shop in use: an approved Basic subscription, a
 * usage charge on it with its send claim, a result the merchant approved, and a customer's
 * pending data export (its offline session is there since the install).
 */
async function useShop(shop: string): Promise<void> {
  const subscription = (await models()
    .Subscription.findById(await app.subscribe(shop, 'basic'))
    .lean())!;
  // Every webhook the approval made Shopify send is worked off (its payload dropped) before anything is counted.
  await vi.waitFor(async () =>
    expect(await models().WebhookEvent.countDocuments({ shop, status: 'done' })).toBe(
      app.shopify.billing.deliveries.filter((delivery) => delivery.shop === shop).length,
    ),
  );
  const claim = await claimCharge(models(), subscription, { jobId: `gen_${shop}`, credits: 3, at: new Date() });
  if (claim.kind !== 'claimed') throw new Error(`no usage charge claimed: ${claim.kind}`);
  await models().UsageSendClaim.create({ _id: `${claim.charge._id}:1:0`, at: new Date() });
  await models().Result.create({
    _id: `img_${shop}`,
    shop,
    tenantId: tenants[shop],
    generationId: `gen_${shop}`,
    status: 'approved',
    consentAt: new Date(),
  });
  await models().DataExport.create({
    _id: `export_${shop}`,
    shop,
    customerId: '7001',
    eventId: `evt_${shop}`,
    requestedAt: new Date(),
    generations: 1,
  });
}

/**
 * What each of the app's collections holds of a shop's tenant: documents carrying its
 * `tenantId` or its shop's domain, the send claims of its subscriptions (by id), and
 * webhook events that still carry a payload. The shop record is counted apart.
 */
async function heldOf(shop: string): Promise<Record<string, number>> {
  const tenantId = tenants[shop]!;
  const subscriptionIds = (await models().Subscription.find({ shop }).select({ _id: 1 }).lean()).map(({ _id }) => _id);
  const held: Record<string, number> = {};
  for (const model of Object.values(models()) as unknown as Model<unknown>[]) {
    const name = model.collection.collectionName;
    // The shop record is judged apart; a spent OAuth nonce is an id and a time.
    if (model === (models().Shop as unknown) || model === (models().OAuthStateUse as unknown)) continue;
    if (model === (models().WebhookEvent as unknown)) {
      held[name] = await models().WebhookEvent.countDocuments({ shop, payload: mongoose.trusted({ $ne: null }) });
    } else if (model === (models().UsageSendClaim as unknown)) {
      held[name] = await models().UsageSendClaim.countDocuments({
        _id: mongoose.trusted({ $regex: `^(${subscriptionIds.map(escapeRegExp).join('|') || '$^'}):` }),
      });
    } else {
      const keys = ['tenantId', 'shop'].filter((path) => model.schema.path(path));
      expect(keys.length, `${name} names neither a tenant nor a shop`).toBeGreaterThan(0);
      held[name] = await model.countDocuments({ $or: keys.map((key) => ({ [key]: key === 'tenantId' ? tenantId : shop })) });
    }
  }
  return held;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

beforeAll(async () => {
  app = await startShopifyTestApp();
  for (const shop of [SHOP, BYSTANDER]) {
    tenants[shop] = await app.install(shop, { name: `Goods of ${shop}` });
    await useShop(shop);
  }
});

afterAll(async () => {
  await app?.stop();
});

describe("an operator's deletion of a shop's tenant", () => {
  it("cancels the shop's Shopify subscription, removes what the Shopify app holds of the tenant, leaves the shop a tombstone, and keeps the other shop's", async () => {
    const before = await heldOf(SHOP);
    for (const collection of ['shopify_results', 'shopify_subscriptions', 'shopify_usage_charges', 'shopify_sessions']) {
      expect(before[collection], collection).toBeGreaterThan(0);
    }
    const bystander = await heldOf(BYSTANDER);
    const bystanderShop = await models().Shop.findById(BYSTANDER).lean();

    const shopifyStatus = (shop: string) =>
      app.shopify.billing.subscriptions.filter((subscription) => subscription.shop === shop).map(({ status }) => status);
    expect(shopifyStatus(SHOP)).toEqual(['ACTIVE']);

    // Shopify will not cancel the subscription: the deletion stops before erasing anything of
    // the app's (the shop's token is still needed to cancel), and says to run it again.
    app.shopify.failNext('appSubscriptionCancel', 'userErrors');
    const stopped = await adminRequest(app.server.url, 'DELETE', `/admin/v1/tenants/${tenants[SHOP]}`);
    expect(stopped.status).toBe(503);
    expect(((await stopped.json()) as { detail: string }).detail).toMatch(
      new RegExp(
        `^The deletion stopped: Shopify did not cancel ${SHOP}'s subscription gid://shopify/AppSubscription/\\d+: .+ Run it again to finish it\\.$`,
      ),
    );
    expect(await heldOf(SHOP)).toEqual(before);
    expect(shopifyStatus(SHOP)).toEqual(['ACTIVE']);

    const response = await adminRequest(app.server.url, 'DELETE', `/admin/v1/tenants/${tenants[SHOP]}`);
    expect(response.status).toBe(200);
    const { documents, warnings } = (await response.json()) as { documents: Record<string, number>; warnings: string[] };
    // The merchant is no longer billed for the deleted tenant; the other shop still is.
    expect(shopifyStatus(SHOP)).toEqual(['CANCELLED']);
    expect(shopifyStatus(BYSTANDER)).toEqual(['ACTIVE']);
    expect(warnings).toEqual([]);
    expect(documents).toMatchObject({
      shopify_results: 1,
      shopify_subscriptions: 1,
      shopify_usage_charges: 1,
      shopify_usage_send_claims: 1,
      shopify_sessions: before.shopify_sessions,
      shopify_data_exports: 1,
    });

    expect(await heldOf(SHOP)).toEqual(Object.fromEntries(Object.keys(before).map((name) => [name, 0])));
    expect(await models().Shop.findById(SHOP).lean()).toMatchObject({
      tenantId: tenants[SHOP],
      status: 'redacted',
      publishableKey: null,
      name: null,
      email: null,
      primaryDomain: null,
    });

    expect(await heldOf(BYSTANDER)).toEqual(bystander);
    expect(await models().Shop.findById(BYSTANDER).lean()).toEqual(bystanderShop);
  });

  it('goes on when Shopify no longer knows the app on the shop (uninstalled, its webhook not yet in): nothing is left to cancel', async () => {
    const shop = 'uninstalled-unseen.myshopify.com';
    const tenantId = await app.install(shop);
    await app.subscribe(shop, 'basic');
    // Shopify revokes the app's token and cancels its subscriptions; the app has not heard yet.
    app.shopify.uninstall(shop);
    expect(await models().Shop.findById(shop).lean()).toMatchObject({ status: 'installed' });

    const response = await adminRequest(app.server.url, 'DELETE', `/admin/v1/tenants/${tenantId}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { warnings: string[] }).warnings).toEqual([]);
    expect(await models().Subscription.countDocuments({ shop })).toBe(0);
    expect(await models().Session.countDocuments({ shop })).toBe(0);
  });

  it('installs the shop again as a new tenant', async () => {
    const tenantId = await app.install(SHOP, { name: `Goods of ${SHOP}` });
    expect(tenantId).not.toBe(tenants[SHOP]);
    expect(await models().Shop.findById(SHOP).lean()).toMatchObject({ tenantId, status: 'installed' });
  });
});

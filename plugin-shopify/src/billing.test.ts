import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAsSystem, runWithTenant } from '@atelier/server';
import { adminRequest, expectProblem, shopperGenerates, startShopifyTestApp, type ShopifyTestApp } from '@atelier/testing';
import { claimCharge } from './billing/usage-charges.js';

let app: ShopifyTestApp;
const SHOP = 'billing.myshopify.com';
const OTHER = 'billing-bystander.myshopify.com';
const tenants: Record<string, string> = {};

const token = (shop = SHOP) => app.shopify.signer.sessionToken({ shop });
const billingApi = (path: string, init: { method?: string; body?: string; shop?: string } = {}) =>
  fetch(`${app.server.url}/shopify/api/billing${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${token(init.shop)}`, 'Content-Type': 'application/json' },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
const summary = async (shop = SHOP) => (await (await billingApi('', { shop })).json()) as Record<string, unknown>;
const subscribe = async (plan: string, shop = SHOP) => {
  const response = await billingApi('/subscribe', { method: 'POST', body: JSON.stringify({ plan }), shop });
  expect(response.status).toBe(200);
  return ((await response.json()) as { confirmationUrl: string }).confirmationUrl;
};
const tenantOf = (shop: string) =>
  runAsSystem('test: tenant', () => app.server.database.models.Tenant.findById(tenants[shop]).lean());
const balance = (shop: string) => runWithTenant(tenants[shop]!, () => app.server.services.ledger.balance());
const charges = () => app.server.shopify!.models.UsageCharge.find({ shop: SHOP }).sort({ seq: 1 }).lean();

/** A storefront shopper's generation through the app proxy and the widget socket: accepted, or the socket's error. */
const generate = () =>
  shopperGenerates({
    serverUrl: app.server.url,
    signer: app.shopify.signer,
    shop: SHOP,
    customerId: '501',
    params: { prompt: 'a linen apron', performance: 'speed' },
  });

beforeAll(async () => {
  app = await startShopifyTestApp();
  // The operator runs plans without included credits here, so that every credit a job
  // needs is bought as usage (the plans' other limits stay as they are).
  for (const plan of ['free', 'basic', 'pro']) {
    expect((await adminRequest(app.server.url, 'PUT', `/admin/v1/plans/${plan}`, { monthlyCredits: 0 })).status).toBe(200);
  }
  for (const shop of [SHOP, OTHER]) {
    app.shopify.addShop(shop);
    const response = await fetch(`${app.server.url}/shopify/api/shop`, { headers: { Authorization: `Bearer ${token(shop)}` } });
    tenants[shop] = ((await response.json()) as { tenantId: string }).tenantId;
  }
});

afterAll(async () => {
  await app?.stop();
});

describe('plans as app subscriptions', () => {
  it('starts on the free plan with no subscription', async () => {
    expect(await summary()).toEqual({
      plan: 'free',
      status: 'NONE',
      cappedAmount: null,
      usedAmount: 0,
      periodEnd: null,
      capReached: false,
      currencyCode: 'USD',
    });
  });

  it('refuses a job beyond the free credits, saying the merchant can choose a plan', async () => {
    const answer = await generate();
    expect(answer).toMatchObject({
      code: 'insufficient_credits',
      message: expect.stringMatching(/choose a paid plan/),
      reason: 'plan_credits_used',
    });
    expect(await charges()).toEqual([]);
  });

  it('asks Shopify for a subscription with a recurring and a capped usage line item, a test charge on a development store', async () => {
    const confirmationUrl = await subscribe('basic');
    expect(confirmationUrl).toMatch(/^https:\/\/billing\.myshopify\.com\/admin\/charges\//);
    const [created] = app.shopify.billing.subscriptions.filter((s) => s.shop === SHOP);
    expect(created).toMatchObject({
      name: 'Atelier Basic',
      status: 'PENDING',
      test: true,
      replacementBehavior: 'APPLY_IMMEDIATELY',
      returnUrl: `${app.server.url}/shopify/billing/return?shop=${SHOP}`,
    });
    expect(created!.lineItems.map((item) => [item.kind, item.cents])).toEqual([
      ['recurring', 1900],
      ['usage', 5000],
    ]);
    expect(await summary()).toMatchObject({ plan: 'free', status: 'PENDING' });

    // The merchant approves; Shopify tells the app by webhook and sends the merchant back.
    const back = await app.shopify.billing.approve(confirmationUrl);
    expect(back).toMatch(new RegExp(`^${app.server.url}/shopify/billing/return\\?shop=${SHOP}&charge_id=\\d+$`));
    expect(app.shopify.billing.deliveries.at(-1)).toMatchObject({ topic: 'app_subscriptions/update', status: 200 });
    const returned = await fetch(back, { redirect: 'manual' });
    expect(returned.status).toBe(302);
    expect(returned.headers.get('location')).toBe(`https://${SHOP}/admin/apps/${app.shopify.signer.apiKey}`);
    await vi.waitFor(async () =>
      expect(await summary()).toEqual({
        plan: 'basic',
        status: 'ACTIVE',
        cappedAmount: 50,
        usedAmount: 0,
        // Shopify's own billing period, as currentAppInstallation reports it.
        periodEnd: created!.currentPeriodEnd,
        capReached: false,
        currencyCode: 'USD',
      }),
    );
    // The plan follows once the webhook's processing (or the read-back) has applied the status.
    await vi.waitFor(async () => expect((await tenantOf(SHOP))?.plan).toBe('basic'));
  });

  it('buys the credits a job lacks as a usage record keyed by the ledger entry that holds them', async () => {
    const answer = await generate();
    expect(answer).toHaveProperty('id');
    const [charge] = await charges();
    expect(charge).toMatchObject({ jobId: (answer as { id: string }).id, credits: 1, cents: 5, totalCents: 5 });
    await vi.waitFor(async () => expect((await charges())[0]?.status).toBe('sent'));
    const entry = await runWithTenant(tenants[SHOP]!, () =>
      app.server.database.models.CreditEntry.findOne({ key: `grant:shopify-usage:${charge!._id}` }).lean(),
    );
    expect(entry).toMatchObject({ amount: 1 });
    const entryId = `${tenants[SHOP]}:${entry!.seq}`;
    expect(app.shopify.billing.usageRecords).toEqual([
      expect.objectContaining({ shop: SHOP, cents: 5, idempotencyKey: entryId, id: (await charges())[0]!.usageRecordId }),
    ]);
    // The credit bought is reserved by the job: nothing is left over.
    expect(await balance(SHOP)).toEqual({ balance: 1, reserved: 1, available: 0 });
    expect(await summary()).toMatchObject({ usedAmount: 0.05, capReached: false });
  });

  it('never passes the cap: the job that would is refused before it runs, and the admin says the cap is reached', async () => {
    const { UsageCharge, UsageSendClaim } = app.server.shopify!.models;
    const [first] = await charges();
    // Earlier usage this cycle, up to 10 cents under the cap (as if many jobs had gone before).
    await UsageCharge.create({
      ...first,
      _id: `${first!.subscriptionId}:${first!.cycle}:2`,
      seq: 2,
      jobId: 'gen_earlier-usage',
      credits: 998,
      cents: 4990,
      totalCents: 4995,
      entryId: 'earlier-usage-entry',
      status: 'pending',
      attempts: 0,
      usageRecordId: null,
      sentAt: null,
    });
    await app.server.shopify!.outbox.kick();
    expect(app.shopify.billing.usageRecords.map((r) => r.cents)).toEqual([5, 4990]);

    expect(await generate()).toHaveProperty('id');
    await vi.waitFor(async () => expect((await charges()).map((c) => c.status)).toEqual(['sent', 'sent', 'sent']));
    expect(await summary()).toMatchObject({ usedAmount: 50, cappedAmount: 50, capReached: true });

    const jobsBefore = await runWithTenant(tenants[SHOP]!, () => app.server.database.models.Generation.countDocuments());
    const claimsBefore = await UsageSendClaim.countDocuments();
    const refused = await generate();
    expect(refused).toMatchObject({
      code: 'insufficient_credits',
      message: expect.stringMatching(/usage cap of \$50\.00/),
      reason: 'usage_cap_reached',
    });
    expect(await runWithTenant(tenants[SHOP]!, () => app.server.database.models.Generation.countDocuments())).toBe(jobsBefore);
    expect(await charges()).toHaveLength(3);
    expect(await UsageSendClaim.countDocuments()).toBe(claimsBefore);
    expect(app.shopify.billing.usageRecords.reduce((sum, r) => sum + r.cents, 0)).toBe(5000);
  });

  it('sends a usage record once per ledger entry, however often the send is repeated', async () => {
    const { UsageCharge } = app.server.shopify!.models;
    const [first] = await charges();
    // A crash after Shopify recorded it and before the charge was marked sent.
    await UsageCharge.updateOne({ _id: first!._id }, { $set: { status: 'pending', usageRecordId: null } });
    await app.server.shopify!.outbox.kick();
    expect((await UsageCharge.findById(first!._id).lean())?.status).toBe('sent');
    expect(app.shopify.billing.usageRecords).toHaveLength(3);
    expect((await UsageCharge.findById(first!._id).lean())?.usageRecordId).toBe(app.shopify.billing.usageRecords[0]!.id);
  });
});

describe('usage charges claimed at once', () => {
  it('never pass the cap however many jobs claim at the same moment, and charge a job once', async () => {
    const { Subscription } = app.server.shopify!.models;
    const subscription = (
      await Subscription.create({
        _id: 'gid://shopify/AppSubscription/race',
        shop: 'race.myshopify.com',
        tenantId: 'ten_race',
        plan: 'basic',
        name: 'Atelier Basic',
        status: 'ACTIVE',
        test: true,
        replacementBehavior: 'APPLY_IMMEDIATELY',
        usageLineItemId: 'gid://shopify/AppSubscriptionLineItem/race?v=1&index=1',
        priceCents: 1900,
        centsPerCredit: 5,
        cappedCents: 20,
        currencyCode: 'USD',
        activatedAt: new Date(),
      })
    ).toObject();
    const at = new Date();
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        claimCharge(app.server.shopify!.models, subscription, { jobId: `gen_race${i}`, credits: 1, at }),
      ),
    );
    expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(4);
    expect(claims.filter((c) => c.kind === 'over-cap')).toHaveLength(6);
    const stored = await app.server
      .shopify!.models.UsageCharge.find({ subscriptionId: subscription._id })
      .sort({ seq: 1 })
      .lean();
    expect(stored.map((c) => [c.seq, c.totalCents])).toEqual([
      [1, 5],
      [2, 10],
      [3, 15],
      [4, 20],
    ]);
    const again = await claimCharge(app.server.shopify!.models, subscription, { jobId: stored[0]!.jobId, credits: 1, at });
    expect(again).toMatchObject({ kind: 'charged-before', charge: { _id: stored[0]!._id } });
    // Never sent: the shop is not installed (the outbox leaves them pending, then failed, for an operator).
    await app.server.shopify!.models.UsageCharge.deleteMany({ subscriptionId: subscription._id });
  });
});

describe('usage records across failures and restarts', () => {
  it('tries a record Shopify failed again, and sends at start-up a charge a crash left unsent', async () => {
    // Back under the cap: a new cycle on Shopify's side, and an upgrade on ours.
    await app.shopify.billing.endCycle(SHOP);
    const back = await app.shopify.billing.approve(await subscribe('pro'));
    expect((await fetch(back, { redirect: 'manual' })).status).toBe(302);
    await vi.waitFor(async () => expect(await summary()).toMatchObject({ plan: 'pro', status: 'ACTIVE', usedAmount: 0 }));
    const [pro] = app.shopify.billing.subscriptions.filter((s) => s.shop === SHOP && s.status === 'ACTIVE');
    expect(pro).toMatchObject({ name: 'Atelier Pro', replacementBehavior: 'APPLY_IMMEDIATELY' });
    expect(app.shopify.billing.subscriptions.filter((s) => s.shop === SHOP).map((s) => s.status)).toEqual([
      'CANCELLED',
      'ACTIVE',
    ]);

    app.shopify.billing.failUsageRecords(1);
    const answer = await generate();
    expect(answer).toHaveProperty('id');
    const failed = (await app.server.shopify!.models.UsageCharge.findOne({ jobId: (answer as { id: string }).id }).lean())!;
    await vi.waitFor(async () =>
      expect(await app.server.shopify!.models.UsageCharge.findById(failed._id).lean()).toMatchObject({
        status: 'pending',
        attempts: 1,
        error: expect.stringMatching(/something went wrong/) as unknown,
      }),
    );
    const recordsBefore = app.shopify.billing.usageRecords.length;

    // The server stops; meanwhile a charge is claimed that no one granted or sent (a crash right after the claim).
    await app.restart(async (uri) => {
      const connection = await mongoose.createConnection(uri).asPromise();
      try {
        await connection.collection('shopify_usage_charges').insertOne({
          _id: `${failed.subscriptionId}:${failed.cycle}:${failed.seq + 1}` as never,
          subscriptionId: failed.subscriptionId,
          cycle: failed.cycle,
          seq: failed.seq + 1,
          shop: SHOP,
          tenantId: tenants[SHOP],
          jobId: 'gen_claimed-before-the-crash',
          credits: 2,
          cents: 8,
          totalCents: failed.totalCents + 8,
          entryId: null,
          status: 'pending',
          attempts: 0,
          usageRecordId: null,
          error: null,
          createdAt: new Date(),
          sentAt: null,
        });
      } finally {
        await connection.close();
      }
    });
    await vi.waitFor(async () =>
      expect(
        (await app.server.shopify!.models.UsageCharge.find({ subscriptionId: pro!.id }).lean()).map((c) => c.status),
      ).toEqual(['sent', 'sent']),
    );
    const added = app.shopify.billing.usageRecords.slice(recordsBefore);
    expect(added.map((r) => r.cents).sort((a, b) => a - b)).toEqual([4, 8]);
    // The crashed claim's credits reached the ledger once, under the entry its record is keyed by.
    const crashed = (await app.server.shopify!.models.UsageCharge.findOne({ jobId: 'gen_claimed-before-the-crash' }).lean())!;
    expect(added.find((r) => r.cents === 8)?.idempotencyKey).toBe(crashed.entryId);
    const grants = await runWithTenant(tenants[SHOP]!, () =>
      app.server.database.models.CreditEntry.find({ key: `grant:shopify-usage:${crashed._id}` }).lean(),
    );
    expect(grants.map((g) => `${tenants[SHOP]}:${g.seq}`)).toEqual([crashed.entryId]);
  });
});

describe('changing and ending a plan', () => {
  it('downgrades at the end of the cycle already paid for', async () => {
    const back = await app.shopify.billing.approve(await subscribe('basic'));
    expect((await fetch(back, { redirect: 'manual' })).status).toBe(302);
    const basic = app.shopify.billing.subscriptions.at(-1)!;
    expect(basic).toMatchObject({ status: 'ACCEPTED', replacementBehavior: 'APPLY_ON_NEXT_BILLING_CYCLE' });
    expect(await summary()).toMatchObject({ plan: 'pro', status: 'ACTIVE' });
    await app.shopify.billing.endCycle(SHOP);
    await vi.waitFor(async () => expect(await summary()).toMatchObject({ plan: 'basic', status: 'ACTIVE' }));
    await vi.waitFor(async () => expect((await tenantOf(SHOP))?.plan).toBe('basic'));
  });

  it('keeps the plan when the merchant declines a change', async () => {
    const declinedBefore = app.shopify.billing.deliveries.filter(
      (d) => (d.payload as { app_subscription: { status: string } }).app_subscription.status === 'DECLINED',
    ).length;
    await app.shopify.billing.approve(await subscribe('enterprise'), 'decline');
    await vi.waitFor(async () =>
      expect(
        await app.server.shopify!.models.Subscription.findById(app.shopify.billing.subscriptions.at(-1)!.id).lean(),
      ).toMatchObject({ status: 'DECLINED' }),
    );
    expect(
      app.shopify.billing.deliveries.filter(
        (d) => (d.payload as { app_subscription: { status: string } }).app_subscription.status === 'DECLINED',
      ),
    ).toHaveLength(declinedBefore + 1);
    expect(await summary()).toMatchObject({ plan: 'basic', status: 'ACTIVE' });
  });

  it("ignores an update about a subscription that is not the shop's", async () => {
    const [own] = app.shopify.billing.subscriptions.filter((s) => s.shop === SHOP && s.status === 'ACTIVE');
    const signed = app.shopify.signer.webhook({
      topic: 'app_subscriptions/update',
      shop: OTHER,
      eventId: 'foreign-subscription',
      payload: { app_subscription: { admin_graphql_api_id: own!.id, status: 'CANCELLED', updated_at: new Date().toISOString() } },
    });
    const response = await fetch(`${app.server.url}/shopify/webhooks`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    expect(response.status).toBe(200);
    await vi.waitFor(async () =>
      expect(await app.server.shopify!.models.WebhookEvent.findById('foreign-subscription').lean()).toMatchObject({
        status: 'done',
        outcome: 'not a subscription of this shop',
      }),
    );
    expect(await summary()).toMatchObject({ plan: 'basic', status: 'ACTIVE' });
    expect((await tenantOf(OTHER))?.plan).toBe('free');
  });

  it('cancels back to the free plan', async () => {
    const response = await billingApi('/cancel', { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ plan: 'free', status: 'NONE' });
    expect(app.shopify.billing.subscriptions.filter((s) => s.shop === SHOP && s.status === 'ACTIVE')).toEqual([]);
    expect((await tenantOf(SHOP))?.plan).toBe('free');
    // Credits bought earlier and not used (the crashed claim's) stay with the tenant; no new charge is made.
    const chargesBefore = (await charges()).length;
    expect(await generate()).toHaveProperty('id');
    expect(await charges()).toHaveLength(chargesBefore);
    await expectProblem(await billingApi('/cancel', { method: 'POST', body: '{}' }), 409, 'conflict');
  });

  it('refuses a plan that is not for sale, unknown fields and a missing session token, asking Shopify nothing', async () => {
    const before = app.shopify.billing.subscriptions.length;
    for (const body of ['{"plan":"free"}', '{"plan":"gold"}', '{}', '{"plan":"pro","coupon":"x"}', '[]']) {
      const problem = await expectProblem(await billingApi('/subscribe', { method: 'POST', body }), 400, 'invalid_request');
      expect(problem.detail, body).toMatch(/plan: must be one of basic, pro, enterprise|coupon: unknown field|JSON object/);
    }
    const anonymous = await fetch(`${app.server.url}/shopify/api/billing/subscribe`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"plan":"pro"}',
    });
    await expectProblem(anonymous, 401, 'unauthorized');
    expect(app.shopify.billing.subscriptions.length).toBe(before);
  });

  it('ends the subscriptions when the app is uninstalled (Shopify sends no more updates about them)', async () => {
    await app.shopify.billing.approve(await subscribe('pro', OTHER));
    await vi.waitFor(async () => expect(await summary(OTHER)).toMatchObject({ plan: 'pro', status: 'ACTIVE' }));
    app.shopify.uninstall(OTHER);
    const signed = app.shopify.signer.webhook({
      topic: 'app/uninstalled',
      shop: OTHER,
      eventId: 'billing-uninstalled',
      payload: { id: 2, myshopify_domain: OTHER },
    });
    const response = await fetch(`${app.server.url}/shopify/webhooks`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    expect(response.status).toBe(200);
    await vi.waitFor(async () =>
      expect((await app.server.shopify!.models.WebhookEvent.findById('billing-uninstalled').lean())?.outcome).toMatch(
        /1 subscriptions ended/,
      ),
    );
    expect(await app.server.shopify!.models.Subscription.find({ shop: OTHER, status: 'ACTIVE' }).lean()).toEqual([]);
    expect(await tenantOf(OTHER)).toMatchObject({ status: 'suspended', plan: 'free' });
  });

  it('leaves a tenant that is not a shop refused as before', async () => {
    const plain = await app.server.createTenant({ name: 'Plain', plan: 'free' });
    const response = await app.server.api(plain.secretKey, '/v1/generations', { body: { prompt: 'a chair' } });
    const problem = await expectProblem(response, 402, 'insufficient_credits');
    expect(problem.detail).toMatch(/^This generation costs 1 credit\(s\); 0 available\.$/);
  });
});

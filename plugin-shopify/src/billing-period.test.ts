import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAsSystem, runWithTenant } from '@atelier/server';
import { startShopifyTestApp, type ShopifyTestApp } from '@atelier/testing';
import { claimCharge } from './billing/usage-charges.js';

const DAY_MS = 86_400_000;

let app: ShopifyTestApp;
/** The server's and Shopify's clock, moved forward by the tests (never back). */
let offset = 0;
const clock = () => new Date(Date.now() + offset);
const moveTo = (at: number) => {
  offset += Math.max(0, at - clock().getTime());
};

const tenants: Record<string, string> = {};
const token = (shop: string) => app.shopify.signer.sessionToken({ shop });
const billingApi = (shop: string, path = '', method = 'GET') =>
  fetch(`${app.server.url}/shopify/api/billing${path}`, {
    method,
    headers: { Authorization: `Bearer ${token(shop)}`, 'Content-Type': 'application/json' },
    ...(method === 'POST' ? { body: path === '/cancel' ? '{}' : JSON.stringify({ plan: 'basic' }) } : {}),
  });
const summary = async (shop: string) => (await (await billingApi(shop)).json()) as Record<string, unknown>;
const subscribeBasic = async (shop: string) =>
  ((await (await billingApi(shop, '/subscribe', 'POST')).json()) as { confirmationUrl: string }).confirmationUrl;
const fakeSubscription = (shop: string) => app.shopify.billing.subscriptions.filter((s) => s.shop === shop).at(-1)!;
const ourSubscription = (id: string) => app.server.shopify!.models.Subscription.findById(id).lean();
const tenantPlan = async (shop: string) =>
  (await runAsSystem('test: tenant', () => app.server.database.models.Tenant.findById(tenants[shop]).lean()))?.plan;
/** The tenant's grants of included credits, oldest first: `[key, amount]`. */
const includedGrants = (shop: string) =>
  runWithTenant(tenants[shop]!, async () =>
    (await app.server.database.models.CreditEntry.find({ kind: 'grant' }).sort({ seq: 1 }).lean())
      .filter((entry) => /^grant:(monthly|shopify-period):/.test(entry.key))
      .map((entry) => [entry.key, entry.amount]),
  );
const webhooksDone = async (shop: string) => app.server.shopify!.models.WebhookEvent.countDocuments({ shop, status: 'done' });
/** Waits until the app has worked off every webhook the fake delivered about the shop. */
const settled = (shop: string) =>
  vi.waitFor(async () =>
    expect(await webhooksDone(shop)).toBe(app.shopify.billing.deliveries.filter((d) => d.shop === shop).length),
  );

async function install(shop: string): Promise<void> {
  app.shopify.addShop(shop);
  const response = await fetch(`${app.server.url}/shopify/api/shop`, { headers: { Authorization: `Bearer ${token(shop)}` } });
  tenants[shop] = ((await response.json()) as { tenantId: string }).tenantId;
}

/** Subscribes the shop to Basic and approves it; the merchant comes back through the return route. */
async function activateBasic(shop: string): Promise<string> {
  const back = await app.shopify.billing.approve(await subscribeBasic(shop));
  expect((await fetch(back, { redirect: 'manual' })).status).toBe(302);
  await vi.waitFor(async () => expect(await summary(shop)).toMatchObject({ plan: 'basic', status: 'ACTIVE' }));
  await settled(shop);
  return back;
}

beforeAll(async () => {
  // The 20th of a month at noon (UTC): Shopify's first period then ends in the next calendar month.
  const start = new Date();
  const twentieth = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + (start.getUTCDate() >= 20 ? 1 : 0), 20, 12);
  moveTo(twentieth);
  app = await startShopifyTestApp({ server: { now: clock } });
  app.shopify.billing.now = () => clock().getTime();
});

afterAll(async () => {
  await app?.stop();
});

describe("Shopify's billing period", () => {
  it("resets the cap and grants the plan's credits at Shopify's period end, not 30 days from when the app learnt of it", async () => {
    const SHOP = 'period.myshopify.com';
    await install(SHOP);
    // The merchant approves, but neither the webhook nor the return reaches the app for two days.
    app.shopify.webhookUrl = undefined;
    const back = await app.shopify.billing.approve(await subscribeBasic(SHOP));
    const approvedAt = clock().getTime();
    moveTo(approvedAt + 2 * DAY_MS);
    app.shopify.webhookUrl = `${app.server.url}/shopify/webhooks`;
    expect((await fetch(back, { redirect: 'manual' })).status).toBe(302);

    const shopify = fakeSubscription(SHOP);
    const firstEnd = shopify.currentPeriodEnd!;
    expect(Date.parse(firstEnd)).toBeGreaterThanOrEqual(approvedAt + 30 * DAY_MS - 1000);
    expect(Date.parse(firstEnd)).toBeLessThanOrEqual(approvedAt + 30 * DAY_MS + 1000);
    expect(await summary(SHOP)).toMatchObject({ plan: 'basic', status: 'ACTIVE', periodEnd: firstEnd, usedAmount: 0 });
    expect(await includedGrants(SHOP)).toEqual([
      [expect.stringMatching(/^grant:monthly:/), 10],
      [`grant:shopify-period:${shopify.id}:${firstEnd}`, 500],
    ]);

    // The cap is used up in this period.
    const record = (await ourSubscription(shopify.id))!;
    const fill = await claimCharge(app.server.shopify!.models, record, { jobId: 'gen_fill-the-cap', credits: 1000, at: clock() });
    expect(fill.kind).toBe('claimed');
    expect(await summary(SHOP)).toMatchObject({ usedAmount: 50, capReached: true });

    // An hour past Shopify's period end (and 28 days after the app learnt of the subscription) Shopify renews it.
    moveTo(Date.parse(firstEnd) + 3_600_000);
    await app.shopify.billing.endCycle(SHOP);
    const secondEnd = fakeSubscription(SHOP).currentPeriodEnd!;
    expect(Date.parse(secondEnd) - Date.parse(firstEnd)).toBe(30 * DAY_MS);
    expect(await summary(SHOP)).toMatchObject({ usedAmount: 0, capReached: false, periodEnd: secondEnd });
    // A job that finds the new period without its credits has them granted and tried again;
    // the hourly grant then finds them there, however often it runs.
    const cover = await app.server.shopify!.billing.cover({
      tenantId: tenants[SHOP]!,
      jobId: 'gen_new-period',
      required: 1,
      available: 0,
    });
    expect(cover).toEqual({ covered: true });
    await app.server.services.includedCredits.grantMonth();
    await app.server.services.includedCredits.grantMonth();
    expect(await includedGrants(SHOP)).toEqual([
      [expect.stringMatching(/^grant:monthly:/), 10],
      [`grant:shopify-period:${shopify.id}:${firstEnd}`, 500],
      [`grant:shopify-period:${shopify.id}:${secondEnd}`, 500],
    ]);
  });

  it('grants one period once when the activation and the calendar grant race, and not again when the month turns', async () => {
    const SHOP = 'grant-race.myshopify.com';
    await install(SHOP);
    const confirmationUrl = await subscribeBasic(SHOP);
    const back = await app.shopify.billing.approve(confirmationUrl);
    // The return route, the webhook (delivered by the approval) and two servers' hourly runs at once.
    const [returned] = await Promise.all([
      fetch(back, { redirect: 'manual' }),
      app.server.services.includedCredits.grantMonth(),
      app.server.services.includedCredits.grantMonth(),
    ]);
    expect(returned.status).toBe(302);
    await settled(SHOP);
    await app.server.services.includedCredits.grantMonth();
    const shopify = fakeSubscription(SHOP);
    const basicGrant = [`grant:shopify-period:${shopify.id}:${shopify.currentPeriodEnd}`, 500];
    // Free's calendar grant may land too (a run before the approval); Basic's credits come once, for the Shopify period.
    const paid = async () =>
      (await includedGrants(SHOP)).filter(([key, amount]) => amount !== 10 || !String(key).startsWith('grant:monthly:'));
    expect(await paid()).toEqual([basicGrant]);

    // A new calendar month inside the same Shopify period: the calendar grant is not the shop's.
    const now = clock();
    const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1, 1);
    expect(nextMonth).toBeLessThan(Date.parse(shopify.currentPeriodEnd!));
    moveTo(nextMonth);
    await Promise.all([app.server.services.includedCredits.grantMonth(), app.server.services.includedCredits.grantMonth()]);
    expect(await paid()).toEqual([basicGrant]);
  });
});

describe('subscription statuses arriving out of order', () => {
  it('keeps a cancellation that landed while an earlier read-back was under way', async () => {
    const SHOP = 'stale-read.myshopify.com';
    await install(SHOP);
    const back = await activateBasic(SHOP);
    const { id } = fakeSubscription(SHOP);

    // The merchant reloads the return page; Shopify's answer to the app's read is slow.
    const release = app.shopify.billing.holdInstallationReads();
    const readsBefore = app.shopify.requests.filter((r) => r.detail.includes('currentAppInstallation')).length;
    const returning = fetch(back, { redirect: 'manual' });
    await vi.waitFor(() =>
      expect(app.shopify.requests.filter((r) => r.detail.includes('currentAppInstallation')).length).toBe(readsBefore + 1),
    );
    // Meanwhile the subscription is cancelled (Shopify's webhook about it is delivered too).
    expect((await billingApi(SHOP, '/cancel', 'POST')).status).toBe(200);
    await vi.waitFor(() => expect(app.shopify.billing.deliveries.at(-1)).toMatchObject({ shop: SHOP, status: 200 }));
    await settled(SHOP);
    // The read, taken before the cancellation, arrives last: it says ACTIVE.
    release();
    expect((await returning).status).toBe(302);

    expect(await ourSubscription(id)).toMatchObject({ status: 'CANCELLED' });
    expect(await summary(SHOP)).toMatchObject({ plan: 'free', status: 'NONE' });
    expect(await tenantPlan(SHOP)).toBe('free');
  });

  for (const order of ['as-sent', 'reversed'] as const) {
    it(`ends on the newest status when the webhooks arrive ${order === 'as-sent' ? 'in order' : 'in reverse order'}`, async () => {
      const SHOP = `webhook-order-${order}.myshopify.com`;
      await install(SHOP);
      app.shopify.billing.holdWebhooks();
      await activateBasic(SHOP);
      const { id } = fakeSubscription(SHOP);
      expect((await billingApi(SHOP, '/cancel', 'POST')).status).toBe(200);
      // ACTIVE then CANCELLED, as Shopify sent them, delivered in the order under test.
      await app.shopify.billing.deliverHeld(order);
      expect(app.shopify.billing.deliveries.filter((d) => d.shop === SHOP)).toHaveLength(2);
      await settled(SHOP);
      expect(await ourSubscription(id)).toMatchObject({ status: 'CANCELLED' });
      expect(await tenantPlan(SHOP)).toBe('free');
      expect(await summary(SHOP)).toMatchObject({ plan: 'free', status: 'NONE' });
    });
  }
});

import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAsSystem, runWithTenant } from '@atelier/server';
import { shopperJob, startShopifyTestApp, type ShopifyTestApp, type WebhookInput } from '@atelier/testing';

let app: ShopifyTestApp;
const SHOP = 'hooks.myshopify.com';
const OTHER = 'bystander.myshopify.com';
const tenants: Record<string, string> = {};

async function install(shop: string): Promise<string> {
  app.shopify.addShop(shop, { name: `Shop ${shop}` });
  const token = app.shopify.signer.sessionToken({ shop });
  const response = await fetch(`${app.server.url}/shopify/api/shop`, { headers: { Authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`install: ${response.status}`);
  return ((await response.json()) as { tenantId: string }).tenantId;
}

beforeAll(async () => {
  app = await startShopifyTestApp();
  tenants[SHOP] = await install(SHOP);
  tenants[OTHER] = await install(OTHER);
});

afterAll(async () => {
  await app?.stop();
});

const post = (headers: Record<string, string>, body: string) =>
  fetch(`${app.server.url}/shopify/webhooks`, { method: 'POST', headers, body });

const deliver = (input: Partial<WebhookInput> & { topic: string; payload: unknown }) => {
  const signed = app.shopify.signer.webhook({ shop: SHOP, ...input });
  return post(signed.headers, signed.body);
};

const event = (id: string) => app.server.shopify!.models.WebhookEvent.findById(id).lean();
const processed = (id: string) => vi.waitFor(async () => expect((await event(id))?.status).toBe('done'));
/** A generation by a storefront shopper of SHOP (a customer, or a guest for ''), through the proxy and the widget socket. */
const generateAs = (customerId: string) =>
  shopperJob({
    serverUrl: app.server.url,
    signer: app.shopify.signer,
    shop: SHOP,
    customerId,
    params: { prompt: 'a ceramic vase', performance: 'speed' },
  });

const tenantOf = (shop: string) =>
  runAsSystem('test: tenant', () => app.server.database.models.Tenant.findById(tenants[shop]).lean());

describe('webhooks that must be refused', () => {
  it('refuses a bad HMAC, a missing one, a body signed for another app and a body naming another shop, storing nothing', async () => {
    const uninstall = { topic: 'app/uninstalled', payload: { id: 1, myshopify_domain: SHOP } };
    const good = app.shopify.signer.webhook({ shop: SHOP, ...uninstall });
    const { 'X-Shopify-Hmac-Sha256': _hmac, ...unsigned } = good.headers;
    const foreign = app.shopify.signer.webhook({
      shop: OTHER,
      topic: 'app/uninstalled',
      payload: { id: 1, myshopify_domain: SHOP },
    });
    const attempts: [string, Response][] = [
      ['body changed after signing', await post(good.headers, good.body.replace('"id":1', '"id":2'))],
      ['no hmac', await post(unsigned, good.body)],
      ['another secret', await deliver({ ...uninstall, secret: 'someone-elses-secret' })],
      ['hmac of an empty body', await post({ ...good.headers, 'X-Shopify-Hmac-Sha256': '' }, good.body)],
    ];
    for (const [name, response] of attempts) expect(response.status, name).toBe(401);
    // Signed, but about SHOP while the header says OTHER: the header is not covered by the HMAC.
    expect((await post(foreign.headers, foreign.body)).status).toBe(400);

    expect(await app.server.shopify!.models.WebhookEvent.countDocuments({})).toBe(0);
    expect((await tenantOf(SHOP))?.status).toBe('active');
    expect((await tenantOf(OTHER))?.status).toBe('active');
  });

  it('refuses a topic the app does not subscribe to, and a shop that is not a shop domain', async () => {
    expect((await deliver({ topic: 'orders/create', payload: { id: 1 } })).status).toBe(400);
    for (const shop of ['evil.com', 'x.myshopify.com.evil.com', 'x.myshopify.com/@evil']) {
      const response = await deliver({ shop, topic: 'shop/redact', payload: { shop_id: 1, shop_domain: shop } });
      expect(response.status, shop).toBe(400);
    }
    expect(await app.server.shopify!.models.WebhookEvent.countDocuments({})).toBe(0);
  });
});

describe('webhooks repeated or out of order', () => {
  it('applies a shop/update once, and skips an older one that arrives late', async () => {
    const now = Date.now();
    const newer = await deliver({
      topic: 'shop/update',
      eventId: 'upd-new',
      triggeredAt: new Date(now),
      payload: {
        myshopify_domain: SHOP,
        name: 'Hooks & Co',
        email: 'hi@hooks.example',
        currency: 'USD',
        domain: 'hooks.example',
      },
    });
    expect(newer.status).toBe(200);
    await processed('upd-new');
    const older = await deliver({
      topic: 'shop/update',
      eventId: 'upd-old',
      triggeredAt: new Date(now - 60_000),
      payload: { myshopify_domain: SHOP, name: 'Hooks (old name)' },
    });
    expect(older.status).toBe(200);
    await processed('upd-old');
    expect((await event('upd-old'))?.outcome).toContain('stale');
    expect(await app.server.shopify!.models.Shop.findById(SHOP).lean()).toMatchObject({
      name: 'Hooks & Co',
      currencyCode: 'USD',
    });
    expect(await tenantOf(SHOP)).toMatchObject({ name: 'Hooks & Co', origins: [`https://${SHOP}`, 'https://hooks.example'] });
  });

  it('ignores an app/uninstalled from before the latest install', async () => {
    const response = await deliver({
      topic: 'app/uninstalled',
      eventId: 'uninstall-old',
      triggeredAt: new Date(Date.now() - 3_600_000),
      payload: { id: 1, myshopify_domain: SHOP },
    });
    expect(response.status).toBe(200);
    await processed('uninstall-old');
    expect((await event('uninstall-old'))?.outcome).toContain('stale');
    expect((await tenantOf(SHOP))?.status).toBe('active');
    expect(await app.server.shopify!.models.Session.countDocuments({ shop: SHOP })).toBe(1);
  });
});

describe('customer compliance webhooks', () => {
  it("lists a customer's generations on customers/data_request and deletes them on customers/redact, leaving other shoppers' alone", async () => {
    const { Generation } = app.server.database.models;
    const tenantId = tenants[SHOP]!;
    const mine = [await generateAs('42'), await generateAs('42')];
    const guests = await generateAs('');
    const customer = { id: 42, email: 'pat@example.com', phone: null };
    expect(
      (
        await deliver({
          topic: 'customers/data_request',
          eventId: 'dr-1',
          payload: { shop_id: 1, shop_domain: SHOP, customer, data_request: { id: 9 } },
        })
      ).status,
    ).toBe(200);
    await processed('dr-1');
    expect((await event('dr-1'))?.outcome).toBe('export ready for the merchant: 2 generation(s)');
    // What the merchant downloads is covered by data-request.test.ts; here, that it is recorded.
    expect(await app.server.shopify!.models.DataExport.find({ shop: SHOP }).lean()).toMatchObject([
      { customerId: '42', requestId: '9', generations: mine.length },
    ]);

    expect(
      (
        await deliver({
          topic: 'customers/redact',
          eventId: 'cr-1',
          payload: { shop_id: 1, shop_domain: SHOP, customer, orders_to_redact: [] },
        })
      ).status,
    ).toBe(200);
    await processed('cr-1');
    const left = await runWithTenant(tenantId, () => Generation.find({}).select({ _id: 1 }).lean());
    expect(left.map((g) => g._id)).toEqual([guests]);
    expect(await app.server.shopify!.models.DataExport.countDocuments({ shop: SHOP })).toBe(0);
    // The tenant's audit log says what went (counts), on whose request, and nothing of the customer.
    const audit = await runWithTenant(tenantId, () =>
      app.server.database.models.AuditEvent.find({ action: 'data.deleted' }).lean(),
    );
    expect(audit).toEqual([
      expect.objectContaining({
        actor: { kind: 'shopify' },
        details: { reason: 'customers/redact', request: 'cr-1', generations: mine.length, images: 0 },
      }),
    ]);
    expect(JSON.stringify(audit)).not.toMatch(/pat@example\.com|"42"|ceramic/);
    // Processed events keep no personal data.
    expect((await event('cr-1'))?.payload).toBeNull();
  });
});

describe('webhooks across a restart', () => {
  it('processes at start-up an event that was written down but not processed before the process stopped', async () => {
    // What a crash between the acknowledgement and the processing leaves behind, written
    // while no server runs (so that none processes it before the restart).
    await app.restart(async (uri) => {
      const connection = await mongoose.createConnection(uri).asPromise();
      try {
        await connection.collection('shopify_webhook_events').insertOne({
          _id: 'left-pending' as never,
          webhookId: 'wh-left-pending',
          topic: 'app/uninstalled',
          shop: OTHER,
          apiVersion: '2025-10',
          triggeredAt: new Date(),
          payload: { id: 2, myshopify_domain: OTHER },
          status: 'pending',
          attempts: 0,
          outcome: null,
          receivedAt: new Date(),
          processedAt: null,
        });
      } finally {
        await connection.close();
      }
    });
    await processed('left-pending');
    expect((await tenantOf(OTHER))?.status).toBe('suspended');
  });
});

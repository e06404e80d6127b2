import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REALTIME_PATH, REALTIME_PROTOCOL_VERSION, socketUrl, type ServerMessage } from '@atelier/protocol';
import { serverMessageSchema } from '@atelier/protocol/schemas';
import { runAsSystem, runWithTenant } from '@atelier/server';
import { SocketProbe, startShopifyTestApp, type ShopifyTestApp } from '@atelier/testing';

let app: ShopifyTestApp;
const SHOP = 'lifecycle.myshopify.com';
let tenantId: string;

beforeAll(async () => {
  app = await startShopifyTestApp();
  app.shopify.addShop(SHOP, { name: 'Lifecycle Goods' });
});

afterAll(async () => {
  await app?.stop();
});

interface ProxySession {
  token: string;
  shopperId: string;
  publishableKey: string;
  customer: boolean;
}

const proxy = (query: URLSearchParams) => fetch(`${app.server.url}/shopify/proxy/session?${query.toString()}`);

async function webhook(topic: string, payload: unknown, eventId?: string): Promise<Response> {
  const signed = app.shopify.signer.webhook({ topic, shop: SHOP, payload, ...(eventId ? { eventId } : {}) });
  return fetch(`${app.server.url}/shopify/webhooks`, { method: 'POST', headers: signed.headers, body: signed.body });
}

const tenant = () => runAsSystem('test: read tenant', () => app.server.database.models.Tenant.findById(tenantId).lean());

describe('a shop from install to redaction', () => {
  it('installs through token exchange', async () => {
    const token = app.shopify.signer.sessionToken({ shop: SHOP });
    const response = await fetch(`${app.server.url}/shopify/api/shop`, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    ({ tenantId } = (await response.json()) as { tenantId: string });
    expect(await tenant()).toMatchObject({ status: 'active', name: 'Lifecycle Goods' });
  });

  it("mints a shopper session through the app proxy with the shop's guest and customer quotas", async () => {
    const guest = await proxy(app.shopify.signer.proxyQuery({ shop: SHOP }));
    expect(guest.status).toBe(200);
    expect(guest.headers.get('cache-control')).toBe('no-store');
    const guestSession = (await guest.json()) as ProxySession;
    expect(guestSession.customer).toBe(false);
    const guestCheck = await app.server.services.shopperSessions.verify(guestSession.token, tenantId);
    expect(guestCheck).toMatchObject({ ok: true, claims: { tenantId, quota: { generationsPerDay: 3 } } });

    const customer = await proxy(
      app.shopify.signer.proxyQuery({ shop: SHOP, loggedInCustomerId: '7001', extra: { ids: ['1', '2'] } }),
    );
    expect(customer.status).toBe(200);
    const customerSession = (await customer.json()) as ProxySession;
    const customerCheck = await app.server.services.shopperSessions.verify(customerSession.token, tenantId);
    expect(customerCheck).toMatchObject({
      ok: true,
      claims: { shopperId: 'shopify-customer:7001', quota: { generationsPerDay: 10 } },
    });
  });

  it('on app/uninstalled suspends the tenant, stops its queued work, hands its credits back and drops its token', async () => {
    // A shopper's job waits in the queue (no runner is connected).
    const session = (await (
      await proxy(app.shopify.signer.proxyQuery({ shop: SHOP, loggedInCustomerId: '7001' }))
    ).json()) as ProxySession;
    const widget = await SocketProbe.open<ServerMessage>(
      socketUrl(app.server.url, REALTIME_PATH, { key: session.publishableKey, session: session.token }),
      { Origin: `https://${SHOP}` },
      serverMessageSchema,
    );
    widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
    await widget.receive('welcome');
    widget.send({ type: 'generate', ref: 'r1', params: { prompt: 'a linen tote bag', performance: 'speed' } });
    const { id: jobId } = await widget.receive('accepted');
    await widget.close();
    const balance = () => runWithTenant(tenantId, () => app.server.services.ledger.balance());
    expect((await balance()).reserved).toBeGreaterThan(0);

    app.shopify.uninstall(SHOP);
    const response = await webhook(
      'app/uninstalled',
      { id: 1, name: 'Lifecycle Goods', myshopify_domain: SHOP },
      'evt-uninstall-1',
    );
    expect(response.status).toBe(200);

    await vi.waitFor(async () => expect((await tenant())?.status).toBe('suspended'));
    await vi.waitFor(async () => {
      const event = await app.server.shopify!.models.WebhookEvent.findById('evt-uninstall-1').lean();
      expect(event).toMatchObject({ status: 'done', attempts: 1, payload: null });
    });
    const job = await runAsSystem('test: read job', () => app.server.database.models.Generation.findById(jobId).lean());
    expect(job?.status).toBe('canceled');
    expect((await balance()).reserved).toBe(0);
    expect(await app.server.shopify!.models.Session.countDocuments({ shop: SHOP })).toBe(0);
    expect(await app.server.shopify!.models.Shop.findById(SHOP).lean()).toMatchObject({ status: 'uninstalled' });

    // The storefront gets no new sessions for an uninstalled shop.
    expect((await proxy(app.shopify.signer.proxyQuery({ shop: SHOP }))).status).toBe(404);
  });

  it('acknowledges a redelivered event without doing it twice', async () => {
    const response = await webhook(
      'app/uninstalled',
      { id: 1, name: 'Lifecycle Goods', myshopify_domain: SHOP },
      'evt-uninstall-1',
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, duplicate: true });
    expect(await app.server.shopify!.models.WebhookEvent.countDocuments({ shop: SHOP })).toBe(1);
    expect(await app.server.shopify!.models.WebhookEvent.findById('evt-uninstall-1').lean()).toMatchObject({ attempts: 1 });
  });

  it('on shop/redact deletes everything of the shop', async () => {
    const response = await webhook('shop/redact', { shop_id: 1, shop_domain: SHOP }, 'evt-redact-1');
    expect(response.status).toBe(200);
    await vi.waitFor(async () => expect((await tenant())?.status).toBe('deleted'));
    await vi.waitFor(async () =>
      expect(await app.server.shopify!.models.WebhookEvent.findById('evt-redact-1').lean()).toMatchObject({ status: 'done' }),
    );

    const { models } = app.server.database;
    const left = await runAsSystem('test: what is left of the tenant', async () => ({
      generations: await models.Generation.countDocuments({ tenantId }),
      keys: await models.ApiKey.countDocuments({ tenantId }),
      credits: await models.CreditEntry.countDocuments({ tenantId }),
      audit: await models.AuditEvent.countDocuments({ tenantId }),
    }));
    expect(left).toEqual({ generations: 0, keys: 0, credits: 0, audit: 0 });
    expect(await app.server.shopify!.models.Shop.findById(SHOP).lean()).toMatchObject({
      status: 'redacted',
      name: null,
      email: null,
      publishableKey: null,
    });
    expect(
      await app.server.shopify!.models.WebhookEvent.countDocuments({ shop: SHOP, payload: mongoose.trusted({ $ne: null }) }),
    ).toBe(0);
  });

  it('installs again after redaction as a new tenant', async () => {
    const token = app.shopify.signer.sessionToken({ shop: SHOP });
    const response = await fetch(`${app.server.url}/shopify/api/shop`, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { tenantId: string; status: string };
    expect(body.status).toBe('installed');
    expect(body.tenantId).not.toBe(tenantId);
  });
});

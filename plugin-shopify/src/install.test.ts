import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAsSystem } from '@atelier/server';
import { startShopifyTestApp, type ShopifyTestApp } from '@atelier/testing';

let app: ShopifyTestApp;
const SHOP = 'install-test.myshopify.com';

beforeAll(async () => {
  app = await startShopifyTestApp();
  app.shopify.addShop(SHOP, { name: 'Install Test', primaryDomain: { url: 'https://install.example', host: 'install.example' } });
});

afterAll(async () => {
  await app?.stop();
});

const admin = (token: string) => fetch(`${app.server.url}/shopify/api/shop`, { headers: { Authorization: `Bearer ${token}` } });

describe('managed installation (token exchange)', () => {
  it("makes the shop's tenant on the embedded admin's first request, with its offline token sealed at rest", async () => {
    const response = await admin(app.shopify.signer.sessionToken({ shop: SHOP }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { shop: string; tenantId: string; status: string; name: string };
    expect(body).toMatchObject({ shop: SHOP, status: 'installed', name: 'Install Test' });

    // Shopify was asked for an offline token by token exchange, then for the shop, then the
    // storefront's values were stored as app-data metafields on the app's installation.
    expect(app.shopify.requests.map((r) => `${r.path} ${r.status} ${r.detail}`)).toEqual([
      '/admin/oauth/access_token 200 token-exchange',
      '/admin/api/2025-10/graphql.json 200 graphql: shop',
      '/admin/api/2025-10/graphql.json 200 graphql: currentAppInstallation',
      '/admin/api/2025-10/graphql.json 200 graphql: metafieldsSet',
    ]);
    const { publishableKey } = (await app.server.shopify!.models.Shop.findById(SHOP).lean())!;
    expect(publishableKey).toMatch(/^pk_/);
    expect(app.shopify.billing.metafieldsOf(SHOP)).toEqual({
      'atelier.publishable_key': publishableKey,
      'atelier.server': app.server.url,
    });
    expect(app.shopify.billing.metafieldOwners(SHOP)).toEqual([app.shopify.billing.installationId(SHOP)]);
    const [issued] = app.shopify.tokensOf(SHOP);

    const { Tenant } = app.server.database.models;
    const tenant = await runAsSystem('test: read tenant', () => Tenant.findById(body.tenantId).lean());
    expect(tenant).toMatchObject({
      name: 'Install Test',
      status: 'active',
      origins: [`https://${SHOP}`, 'https://install.example'],
    });

    const { Session, Shop } = app.server.shopify!.models;
    const stored = await Session.findById(`offline_${SHOP}`).lean();
    expect(stored?.sealedAccessToken).toMatch(/^v1\./);
    const raw = JSON.stringify(await app.server.database.connection.db!.collection('shopify_sessions').find({}).toArray());
    expect(raw).not.toContain(issued);
    // The sealed token opens to the one Shopify issued.
    expect((await app.server.shopify!.sessions.loadSession(`offline_${SHOP}`))?.accessToken).toBe(issued);
    expect(await Shop.findById(SHOP).lean()).toMatchObject({
      tenantId: body.tenantId,
      status: 'installed',
      email: `owner@install-test.example`,
    });
  });

  it('does not exchange again while the shop is installed', async () => {
    const before = app.shopify.requests.length;
    const response = await admin(app.shopify.signer.sessionToken({ shop: SHOP }));
    expect(response.status).toBe(200);
    expect(app.shopify.requests.length).toBe(before);
  });

  it('writes the metafields again on a reinstall (uninstalling took them away with the installation)', async () => {
    const first = app.shopify.billing.installationId(SHOP);
    app.shopify.uninstall(SHOP);
    expect(app.shopify.billing.metafieldsOf(SHOP)).toEqual({});
    const signed = app.shopify.signer.webhook({
      topic: 'app/uninstalled',
      shop: SHOP,
      eventId: 'reinstall-uninstalled',
      payload: { id: 1, myshopify_domain: SHOP },
    });
    expect(
      (await fetch(`${app.server.url}/shopify/webhooks`, { method: 'POST', headers: signed.headers, body: signed.body })).status,
    ).toBe(200);
    const { Shop, WebhookEvent } = app.server.shopify!.models;
    await vi.waitFor(async () => expect((await WebhookEvent.findById('reinstall-uninstalled').lean())?.status).toBe('done'));
    expect((await Shop.findById(SHOP).lean())?.status).toBe('uninstalled');

    expect((await admin(app.shopify.signer.sessionToken({ shop: SHOP }))).status).toBe(200);
    const { publishableKey } = (await Shop.findById(SHOP).lean())!;
    expect(app.shopify.billing.metafieldsOf(SHOP)).toEqual({
      'atelier.publishable_key': publishableKey,
      'atelier.server': app.server.url,
    });
    const owners = app.shopify.billing.metafieldOwners(SHOP);
    expect(owners).toEqual([app.shopify.billing.installationId(SHOP)]);
    expect(owners).not.toEqual([first]);
  });

  it("makes one tenant when a new shop's first requests race", async () => {
    const shop = 'racing.myshopify.com';
    app.shopify.addShop(shop, { name: 'Racing Shop' });
    const responses = await Promise.all([1, 2, 3].map(() => admin(app.shopify.signer.sessionToken({ shop }))));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { tenantId: string }[];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(bodies.map((b) => b.tenantId)).size).toBe(1);
    const { Tenant } = app.server.database.models;
    const live = await runAsSystem('test: tenants', () => Tenant.find({ name: 'Racing Shop', status: 'active' }).lean());
    expect(live.map((t) => t._id)).toEqual([bodies[0]!.tenantId]);
  });

  it('refuses a session token for another app, signed with another secret, expired, or naming no shop', async () => {
    const { signer } = app.shopify;
    const other = 'other-shop.myshopify.com';
    app.shopify.addShop(other);
    const now = Math.floor(Date.now() / 1000);
    const forged = [
      signer.sessionToken({ shop: other, aud: 'someone-elses-app' }),
      signer.sessionToken({ shop: other, secret: 'not-the-app-secret-at-all' }),
      signer.sessionToken({ shop: other, iat: now - 600, exp: now - 300 }),
      signer.sessionToken({ shop: other, dest: 'https://evil.com' }),
      signer.sessionToken({ shop: other, dest: `https://${other}.evil.com` }),
      signer.sessionToken({ shop: other, dest: `https://${other}/@evil` }),
    ];
    const before = app.shopify.requests.length;
    for (const token of forged) {
      const response = await admin(token);
      expect(response.status, token).toBe(401);
      expect(response.headers.get('x-shopify-retry-invalid-session-request')).toBe('1');
    }
    expect(app.shopify.requests.length).toBe(before);

    // Within the library's 10 s clock tolerance, but expired for Shopify: the exchange is refused.
    const lateResponse = await admin(signer.sessionToken({ shop: other, iat: now - 65, exp: now - 5 }));
    expect(lateResponse.status).toBe(401);
    expect(lateResponse.headers.get('x-shopify-retry-invalid-session-request')).toBe('1');
    expect(app.shopify.requests.at(-1)).toMatchObject({ path: '/admin/oauth/access_token', status: 400 });
    expect(await app.server.shopify!.models.Shop.findById(other).lean()).toBeNull();
    expect(await app.server.shopify!.models.Session.countDocuments({ shop: other })).toBe(0);
  });
});

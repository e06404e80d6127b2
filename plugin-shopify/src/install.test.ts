import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAsSystem, runWithTenant } from '@atelier/server';
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

describe('the storefront metafields when Shopify does not take them at the install', () => {
  const expected = async (shop: string) => ({
    'atelier.publishable_key': (await app.server.shopify!.models.Shop.findById(shop).lean())!.publishableKey,
    'atelier.server': app.server.url,
  });
  const pending = async (shop: string) => (await app.server.shopify!.models.Shop.findById(shop).lean())?.metafieldsPending;

  it.each([
    ['refused with userErrors', 'userErrors', 'metafields-refused.myshopify.com'],
    ['throttled', 'throttled', 'metafields-throttled.myshopify.com'],
  ] as const)(
    'installs anyway when the write is %s, and writes them on the merchant’s next visit to the admin page',
    async (_, how, shop) => {
      app.shopify.addShop(shop);
      app.shopify.failNext('metafieldsSet', how);
      expect((await admin(app.shopify.signer.sessionToken({ shop }))).status).toBe(200);
      expect(app.shopify.requests.filter((r) => r.shop === shop).map((r) => r.detail)).toContain(
        `graphql: metafieldsSet ${how === 'throttled' ? 'THROTTLED' : how}`,
      );
      expect(app.shopify.billing.metafieldsOf(shop)).toEqual({});
      expect(await pending(shop)).toBe(true);

      expect((await admin(app.shopify.signer.sessionToken({ shop }))).status).toBe(200);
      expect(app.shopify.billing.metafieldsOf(shop)).toEqual(await expected(shop));
      expect(await pending(shop)).toBe(false);
      // Written once more, then never again while they hold.
      const writes = () => app.shopify.requests.filter((r) => r.shop === shop && r.detail.startsWith('graphql: metafieldsSet'));
      expect(writes()).toHaveLength(2);
      expect((await admin(app.shopify.signer.sessionToken({ shop }))).status).toBe(200);
      expect(writes()).toHaveLength(2);
    },
  );

  it('writes them after a restart without anyone asking: the pending mark is in the database', async () => {
    const shop = 'metafields-lost.myshopify.com';
    app.shopify.addShop(shop);
    app.shopify.failNext('metafieldsSet', 'internal');
    expect((await admin(app.shopify.signer.sessionToken({ shop }))).status).toBe(200);
    expect(app.shopify.billing.metafieldsOf(shop)).toEqual({});
    expect(await pending(shop)).toBe(true);

    await app.restart();
    await vi.waitFor(async () => expect(app.shopify.billing.metafieldsOf(shop)).toEqual(await expected(shop)), {
      timeout: 15_000,
    });
    await vi.waitFor(async () => expect(await pending(shop)).toBe(false));
  });
});

describe("the tenant's product photo hosts", () => {
  const hosts = async (tenantId: string) => {
    const { TenantConfig } = app.server.database.models;
    const head = await runAsSystem('test: read config', () => TenantConfig.findOne({ tenantId }).sort({ rev: -1 }).lean());
    return head?.config.productImageHosts;
  };

  it("lets the shop's tenant start from Shopify's CDN, and keeps the merchant's own hosts on a reinstall", async () => {
    const shop = 'photo-hosts.myshopify.com';
    app.shopify.addShop(shop);
    const response = await admin(app.shopify.signer.sessionToken({ shop }));
    const { tenantId } = (await response.json()) as { tenantId: string };
    expect(await hosts(tenantId)).toEqual(['cdn.shopify.com']);

    // The merchant lists a host of their own (through the platform's configuration), then reinstalls.
    const { TenantConfig } = app.server.database.models;
    const head = (await runAsSystem('test: read config', () => TenantConfig.findOne({ tenantId }).sort({ rev: -1 }).lean()))!;
    await runWithTenant(tenantId, () =>
      TenantConfig.create({
        _id: `cfg_test${head.rev + 1}`,
        rev: head.rev + 1,
        config: { ...head.config, productImageHosts: ['images.lamps.example'] },
        changed: ['productImageHosts'],
        actor: { kind: 'system', id: 'test' },
        at: new Date(),
      }),
    );
    app.shopify.uninstall(shop);
    const signed = app.shopify.signer.webhook({
      topic: 'app/uninstalled',
      shop,
      eventId: 'photo-hosts-uninstalled',
      payload: { id: 2, myshopify_domain: shop },
    });
    await fetch(`${app.server.url}/shopify/webhooks`, { method: 'POST', headers: signed.headers, body: signed.body });
    const { WebhookEvent } = app.server.shopify!.models;
    await vi.waitFor(async () => expect((await WebhookEvent.findById('photo-hosts-uninstalled').lean())?.status).toBe('done'));
    expect((await admin(app.shopify.signer.sessionToken({ shop }))).status).toBe(200);
    expect(await hosts(tenantId)).toEqual(['images.lamps.example', 'cdn.shopify.com']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  completeJob,
  connectRunner,
  openWidgetSocket,
  pngBytes,
  startShopifyTestApp,
  type ShopifyTestApp,
} from '@atelier/testing';

let app: ShopifyTestApp;
const SHOP = 'admin-page.myshopify.com';
const OTHER = 'other-admin.myshopify.com';

const api = (path: string, init: { method?: string; body?: unknown; shop?: string } = {}) =>
  fetch(`${app.server.url}/shopify/api/${path}`, {
    method: init.method ?? 'GET',
    headers: {
      Authorization: `Bearer ${app.shopify.signer.sessionToken({ shop: init.shop ?? SHOP })}`,
      ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });

const proxy = (path: string, init: RequestInit = {}, customer?: string) =>
  fetch(
    `${app.server.url}/shopify/proxy/${path}?${app.shopify.signer.proxyQuery({ shop: SHOP, ...(customer ? { loggedInCustomerId: customer } : {}) }).toString()}`,
    init,
  );

beforeAll(async () => {
  app = await startShopifyTestApp();
  app.shopify.addShop(SHOP, { name: 'Admin Page Goods' });
  app.shopify.addShop(OTHER);
  for (const shop of [SHOP, OTHER]) {
    const response = await api('shop', { shop });
    if (response.status !== 200) throw new Error(`install ${shop}: ${response.status}`);
  }
});

afterAll(async () => {
  await app?.stop();
});

describe('the embedded admin page', () => {
  it('is served with App Bridge first and a strict policy that lets only the shop admin frame it', async () => {
    const response = await fetch(`${app.server.url}/shopify?shop=${SHOP}&embedded=1`);
    expect(response.status).toBe(200);
    const html = await response.text();
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((match) => match[1]);
    expect(scripts[0]).toBe(' src="https://cdn.shopify.com/shopifycloud/app-bridge.js"');
    expect(html).not.toMatch(/<script[^>]*>[^<]/);
    expect(html).toContain('<meta name="shopify-api-key" content="atelier-test-client-id">');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self' https://cdn.shopify.com;");
    expect(csp).toContain(`frame-ancestors https://admin.shopify.com https://${SHOP} ${app.shopify.origin};`);
    expect(csp).not.toContain('unsafe-inline');

    const hostile = await fetch(`${app.server.url}/shopify?shop=evil.example`);
    expect(hostile.headers.get('content-security-policy')).not.toContain('evil.example');
    const script = await fetch(`${app.server.url}/shopify/admin/admin-app.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('answers the API only with a session token, and the shop is the one the token names', async () => {
    const bare = await fetch(`${app.server.url}/shopify/api/settings`);
    expect(bare.status).toBe(401);
    const forged = await fetch(`${app.server.url}/shopify/api/settings`, {
      headers: { Authorization: `Bearer ${app.shopify.signer.sessionToken({ shop: SHOP, secret: 'x'.repeat(32) })}` },
    });
    expect(forged.status).toBe(401);
    const shop = (await (await api('shop')).json()) as { shop: string; themeEditorUrl: string };
    expect(shop.shop).toBe(SHOP);
    expect(shop.themeEditorUrl).toBe(
      `https://${SHOP}/admin/themes/current/editor?context=apps&activateAppId=atelier-test-client-id/app-embed`,
    );
  });
});

describe('theme settings, styles and presets', () => {
  it("saves the look into the tenant's configuration, validated as PUT /v1/config validates it", async () => {
    const saved = await api('settings', {
      method: 'PUT',
      body: {
        branding: {
          colors: { accent: '#aa3300' },
          fontFamily: 'Georgia, serif',
          radius: 12,
          strings: { en: { generate: 'Make it' } },
        },
      },
    });
    expect(saved.status).toBe(200);
    expect(await saved.json()).toMatchObject({
      branding: {
        colors: { accent: '#aa3300' },
        fontFamily: 'Georgia, serif',
        radius: 12,
        strings: { en: { generate: 'Make it' } },
      },
    });

    const bad = await api('settings', { method: 'PUT', body: { branding: { colors: { accent: 'red' } } } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toContain('branding.colors.accent');
    const malformed = await fetch(`${app.server.url}/shopify/api/settings`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${app.shopify.signer.sessionToken({ shop: SHOP })}`, 'Content-Type': 'application/json' },
      body: '{"branding": ',
    });
    expect(malformed.status).toBe(400);
    const oversized = await api('settings', { method: 'PUT', body: { branding: { fontFamily: 'x'.repeat(110_000) } } });
    expect(oversized.status).toBe(413);
    const elsewhere = await api('settings', { method: 'PUT', body: { retentionDays: 1 } });
    expect(elsewhere.status).toBe(400);
    expect(((await elsewhere.json()) as { detail: string }).detail).toMatch(/^retentionDays: unknown field/);

    // Neither refusal changed anything, and the other shop's tenant was never touched.
    const now = (await (await api('settings')).json()) as { branding: { colors: { accent: string } } };
    expect(now.branding.colors.accent).toBe('#aa3300');
    const other = (await (await api('settings', { shop: OTHER })).json()) as { branding: { colors: object } };
    expect(other.branding.colors).toEqual({});
  });

  it('offers styles and presets to shoppers, and a preset outside the plan is refused naming it', async () => {
    const saved = await api('settings', {
      method: 'PUT',
      body: { styles: { allowed: ['Studio White'] }, presets: { allowed: ['speed', 'lightning'], default: 'lightning' } },
    });
    expect(saved.status).toBe(200);
    const body = (await saved.json()) as { styles: { allowed: string[] }; presets: unknown; catalogue: { styles: string[] } };
    expect(body.styles.allowed).toEqual(['Studio White']);
    expect(body.presets).toEqual({ allowed: ['speed', 'lightning'], default: 'lightning' });
    expect(body.catalogue.styles).toContain('Studio White');

    const unknown = await api('settings', { method: 'PUT', body: { styles: { allowed: ['Nope'] } } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { detail: string }).detail).toContain('styles.allowed.0');
  });
});

describe('shopper quotas', () => {
  it('sets guests and customers apart, and the app proxy mints sessions with them', async () => {
    expect((await api('quotas', { method: 'PUT', body: { guestPerDay: -1, customerPerDay: 5 } })).status).toBe(400);
    expect((await api('quotas', { method: 'PUT', body: { guestPerDay: 1.5, customerPerDay: 5 } })).status).toBe(400);
    const saved = await api('quotas', { method: 'PUT', body: { guestPerDay: 2, customerPerDay: 25 } });
    expect(await saved.json()).toEqual({ quotas: { guestPerDay: 2, customerPerDay: 25 } });

    const claims = async (customer?: string) => {
      const { token } = (await (await proxy('session', {}, customer)).json()) as { token: string };
      return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { quota: unknown };
    };
    expect((await claims()).quota).toEqual({ generationsPerDay: 2 });
    expect((await claims('77')).quota).toEqual({ generationsPerDay: 25 });
  });
});

describe('plan, credits and usage', () => {
  it('shows the plan, the credits and 30 days of usage', async () => {
    const response = await api('account');
    expect(response.status).toBe(200);
    const account = (await response.json()) as { plan: string; balance: { available: number }; usage: { days: unknown[] } };
    expect(account.plan).toBe('free');
    expect(account.balance.available).toBeGreaterThan(0);
    expect(account.usage.days).toHaveLength(30);
  });
});

describe("shoppers' results", () => {
  let imageId: string;
  let sessionToken: string;
  let productId: string;

  it('lists a picture a shopper made through a proxy session', async () => {
    ({ token: sessionToken } = (await (await proxy('session')).json()) as { token: string });
    const { Shop } = app.server.shopify!.models;
    const record = (await Shop.findById(SHOP).lean())!;
    const runner = await connectRunner(app.server.url, await app.server.createRunnerToken());
    const widget = await openWidgetSocket(app.server.url, record.publishableKey!, `https://${SHOP}`);
    try {
      widget.send({ type: 'hello', v: 1, shopper: sessionToken });
      await widget.receive('welcome');
      widget.send({ type: 'generate', ref: 'r1', params: { prompt: 'a teapot on a linen cloth' } });
      const accepted = await widget.receive('accepted', (message) => message.ref === 'r1');
      runner.send({ type: 'ready' });
      const job = await runner.receive('job', (message) => message.jobId === accepted.id);
      completeJob(runner, job, [await pngBytes(10, 200, 30)]);
      const completed = await widget.receive('completed', (message) => message.id === accepted.id);
      imageId = completed.images[0]!.id;
    } finally {
      await Promise.all([widget.close(), runner.close()]);
    }
    const { data } = (await (await api('results')).json()) as {
      data: { imageId: string; prompt: string; status: string; consent: boolean }[];
    };
    expect(data).toEqual([
      expect.objectContaining({ imageId, prompt: 'a teapot on a linen cloth', status: 'new', consent: false }),
    ]);
    // Another shop sees none of it, and cannot act on it.
    expect(((await (await api('results', { shop: OTHER })).json()) as { data: unknown[] }).data).toEqual([]);
    expect((await api(`results/${imageId}/approve`, { method: 'POST', shop: OTHER })).status).toBe(404);
  });

  it('records consent only from the shopper who made the picture, picking it on the storefront', async () => {
    const pick = (token: string, id = imageId) =>
      proxy('picks', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ imageId: id, sessionToken: token }),
      });
    // Another guest: another address, so another shopper (guests at one address are one shopper).
    const { token: stranger } = (await (await proxy('session', { headers: { 'X-Forwarded-For': '198.51.100.77' } })).json()) as {
      token: string;
    };
    expect((await pick(stranger)).status).toBe(404);
    const { token: customer } = (await (await proxy('session', {}, '9001')).json()) as { token: string };
    expect((await pick(customer)).status).toBe(404);
    expect((await pick('not-a-token')).status).toBe(404);
    const unsigned = await fetch(`${app.server.url}/shopify/proxy/picks?shop=${SHOP}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ imageId, sessionToken }),
    });
    expect(unsigned.status).toBe(401);
    expect(await app.server.shopify!.models.Result.countDocuments()).toBe(0);

    expect((await pick(sessionToken)).status).toBe(204);
    const { data } = (await (await api('results')).json()) as { data: { consent: boolean }[] };
    expect(data[0]!.consent).toBe(true);
  });

  it('adds an approved, consented picture to a product as media, which Shopify fetches', async () => {
    productId = app.shopify.addProduct(SHOP, 'Linen teapot').id;
    const products = (await (await api('products')).json()) as { data: { id: string; title: string }[] };
    expect(products.data).toEqual([{ id: productId, title: 'Linen teapot' }]);

    const early = await api(`results/${imageId}/media`, { method: 'POST', body: { productId } });
    expect(early.status).toBe(409);
    expect((await api(`results/${imageId}/approve`, { method: 'POST' })).status).toBe(200);
    const bad = await api(`results/${imageId}/media`, { method: 'POST', body: { productId: 'gid://shopify/Product/999999' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toContain('Product does not exist');

    const created = await api(`results/${imageId}/media`, { method: 'POST', body: { productId } });
    expect(created.status).toBe(201);
    const { mediaId } = (await created.json()) as { mediaId: string };
    const [media] = app.shopify.productsOf(SHOP)[0]!.media;
    expect(media).toMatchObject({ id: mediaId, alt: 'a teapot on a linen cloth' });
    await expect.poll(() => media!.status).toBe('READY');
    expect(media!.fetched?.contentType).toBe('image/png');
    expect(app.shopify.requests.filter((r) => r.detail.startsWith('graphql: productCreateMedia'))).toHaveLength(2);

    const { data } = (await (await api('results')).json()) as { data: { media: unknown[] }[] };
    expect(data[0]!.media).toEqual([{ productId, mediaId }]);
  });

  it('hides a picture from the list', async () => {
    expect((await api(`results/${imageId}/hide`, { method: 'POST' })).status).toBe(200);
    expect(((await (await api('results')).json()) as { data: unknown[] }).data).toEqual([]);
    expect((await api('results/nope!/hide', { method: 'POST' })).status).toBe(400);
  });
});

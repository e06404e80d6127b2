import { createRequire } from 'node:module';
import { expect, test, type Page } from '@playwright/test';
import mongoose from 'mongoose';
import type { DemoStack } from '@atelier/demo';
import { applicationDatabaseUri } from '@atelier/server';
import type { TenantBody } from '@atelier/protocol';
import { type FakeShopify, TEST_SHOPIFY_API_KEY } from '@atelier/testing';
import { renderProductPage, type SampleProduct } from './storefront-page.js';
import { startShopifyStack, type ShopifyStack } from './shopify-stack.js';
import type { ThemeHost } from './theme-host.js';

/**
 * A shop's whole life with the app, on real parts in Chromium: the fake Shopify's admin
 * frames the app's embedded page (App Bridge's stand-in hands it session tokens the fake
 * signs), which installs the shop by token exchange; the merchant saves a look; the
 * storefront page is rendered from the theme extension's blocks and served with an app
 * proxy that signs as Shopify does; a shopper generates against the real server and a
 * real runner, and picks the picture (cart line, and consent through the proxy); the
 * merchant approves it and adds it to a product; then the app is uninstalled and the
 * shop redacted, and the shop's data is gone.
 */
const SHOP = 'lifecycle-e2e.myshopify.com';
/** axe-core from the npm registry, injected into the page under test. */
const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let world: ShopifyStack;
let stack: DemoStack;
let host: ThemeHost;
let shopify: FakeShopify;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  world = await startShopifyStack(SHOP, 'Lifecycle Lamps');
  ({ stack, host, shopify } = world);
  const server = stack.manifest.server;
  // No included credits on Free and Basic: the shopper's picture is billed as usage.
  for (const plan of ['free', 'basic']) {
    const response = await fetch(`${server}/admin/v1/plans/${plan}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${stack.manifest.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ monthlyCredits: 0 }),
    });
    expect(response.status).toBe(200);
  }
});

test.afterAll(async () => {
  await world?.stop();
});

const PRODUCT: SampleProduct = {
  id: 8_200_000_001,
  title: 'Arc desk lamp',
  handle: 'arc-desk-lamp',
  featured_image: { filename: 'arc-lamp.png', version: 1_700_000_000, width: 1, height: 1 },
  selected_or_first_available_variant: { id: 45_000_000_001, title: 'Oak' },
};

async function tenants(status?: string): Promise<TenantBody[]> {
  const query = status ? `?status=${status}` : '';
  const response = await fetch(`${stack.manifest.server}/admin/v1/tenants${query}`, {
    headers: { authorization: `Bearer ${stack.manifest.adminToken}` },
  });
  return ((await response.json()) as { data: TenantBody[] }).data;
}

async function webhook(topic: string, payload: unknown): Promise<number> {
  const signed = shopify.signer.webhook({ topic, shop: SHOP, payload });
  const response = await fetch(`${stack.manifest.server}/shopify/webhooks`, {
    method: 'POST',
    headers: signed.headers,
    body: signed.body,
  });
  return response.status;
}

/** What the app answers the embedded admin, with a session token as App Bridge's. */
async function adminApi(path: string): Promise<Response> {
  return fetch(`${stack.manifest.server}/shopify/api/${path}`, {
    headers: { Authorization: `Bearer ${shopify.signer.sessionToken({ shop: SHOP })}` },
  });
}

/** Uncaught errors and logged ones; refused requests (the 404 of billing, a 400 on purpose) are the assertions' business. */
function trackErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  return errors;
}

test('a shop from install to redaction: admin page, storefront, shopper, product media, uninstall, shop/redact', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const product = shopify.addProduct(SHOP, 'Arc desk lamp');
  const errors = trackErrors(page);

  // Install: the merchant opens the app in the admin; its first API call exchanges the token.
  await page.goto(shopify.adminUrl(SHOP));
  const app = page.frameLocator('#app');
  await expect(app.getByRole('status').first()).toHaveText(`Connected to ${SHOP}.`);
  expect(shopify.requests.map((request) => request.detail)).toContain('token-exchange');
  const shop = (await (await adminApi('shop')).json()) as { tenantId: string; publishableKey: string; themeEditorUrl: string };
  expect((await tenants()).find((tenant) => tenant.tenantId === shop.tenantId)).toMatchObject({
    name: 'Lifecycle Lamps',
    status: 'active',
  });

  // The theme editor opens in the admin's top window, with the app embed switched on.
  await app.getByRole('button', { name: 'Turn it on in the theme editor' }).click();
  await expect(page.getByRole('list', { name: 'Top-level navigations' })).toHaveText(
    `https://${SHOP}/admin/themes/current/editor?context=apps&activateAppId=${TEST_SHOPIFY_API_KEY}/app-embed`,
  );

  // The merchant moves to Basic through Shopify's confirmation page. (The operator gave Free
  // and Basic no included credits before the install, so the shopper's picture below is
  // paid for as usage within the subscription's cap.)
  expect(await (await adminApi('billing')).json()).toMatchObject({ plan: 'free', capReached: false });
  await app.getByRole('button', { name: 'Switch to basic' }).click();
  const opened = page.getByRole('list', { name: 'Top-level navigations' }).locator('li');
  await expect(opened).toHaveCount(2);
  const confirmationUrl = (await opened.last().textContent())!;
  expect((await fetch(await shopify.billing.approve(confirmationUrl), { redirect: 'manual' })).status).toBe(302);
  await expect
    .poll(async () => (await (await adminApi('billing')).json()) as Record<string, unknown>)
    .toMatchObject({ plan: 'basic', status: 'ACTIVE', usedAmount: 0, capReached: false });

  // The look, with the live preview of the real widget, saved into the tenant's configuration.
  const look = app.locator('#look-form');
  await look.getByLabel('Accent colour').fill('#aa3300');
  await look.getByLabel('Corner radius (px)').fill('14');
  await look.getByLabel('Generate button').fill('Make my picture');
  const preview = app.locator('atelier-studio#preview');
  await expect
    .poll(() => preview.evaluate((element) => getComputedStyle(element).getPropertyValue('--atelier-accent').trim()))
    .toBe('#aa3300');
  await look.getByLabel('Font').fill('x; } body { display: none');
  await look.getByRole('button', { name: 'Save the look' }).click();
  await expect(look.getByRole('status')).toHaveText(/branding\.fontFamily/);
  await look.getByLabel('Font').fill('Georgia, serif');
  await look.getByRole('button', { name: 'Save the look' }).click();
  await expect(look.getByRole('status')).toHaveText('Saved.');
  await expect(page.getByRole('list', { name: 'Toasts' })).toContainText('Saved');

  const quotas = app.locator('#quota-form');
  await quotas.getByLabel('Guests').fill('4');
  await quotas.getByRole('button', { name: 'Save the limits' }).click();
  await expect(quotas.getByRole('status')).toHaveText('Saved.');

  // The storefront: the product page rendered from the blocks, with what the install stored
  // for the blocks (the shop's publishable key and the server).
  const html = await renderProductPage({
    shopHost: host.host,
    assetHost: host.host,
    product: PRODUCT,
    request: { origin: host.origin, locale: { iso_code: 'en' } },
    app: { publishable_key: shop.publishableKey, server: stack.manifest.server },
    productBlock: {},
    appEmbed: null,
  });
  const storefront = await page.context().newPage();
  const storefrontErrors = trackErrors(storefront);
  await storefront.goto(host.page(`/products/${PRODUCT.handle}`, html));
  const studio = storefront.locator('atelier-studio[mode="inline"]');
  // The shopper's session came through the app proxy, signed, with the shop's guest quota.
  await expect.poll(() => host.proxied).toContain('GET /apps/atelier/session 200');
  const sessionToken = (await studio.getAttribute('session-token'))!;
  const claims = JSON.parse(Buffer.from(sessionToken.split('.')[1]!, 'base64url').toString('utf8')) as { quota: unknown };
  expect(claims.quota).toEqual({ generationsPerDay: 4 });

  // The saved look reached the storefront's studio.
  const generate = studio.locator('[part~="generate"]');
  await expect(generate).toHaveText('Make my picture');
  await studio.locator('[part~="prompt"]').fill('the arc desk lamp on a walnut desk, morning light');
  await generate.click();
  const result = studio.locator('img[part~="result"]').first();
  await expect(result).toBeVisible({ timeout: 120_000 });
  const src = await result.getAttribute('src');

  // The shopper picks it: onto the cart line, and (their consent) reported through the proxy.
  await result.click();
  await expect.poll(() => host.cartAdds).toHaveLength(1);
  expect(host.cartAdds[0]).toMatchObject({ items: [{ id: PRODUCT.selected_or_first_available_variant.id, quantity: 1 }] });
  await expect.poll(() => host.proxied).toContain('POST /apps/atelier/picks 204');

  // The picture's credits went beyond the plan's: one usage record, keyed by the ledger entry.
  await expect.poll(() => shopify.billing.usageRecords.filter((record) => record.shop === SHOP)).toHaveLength(1);
  const [usage] = shopify.billing.usageRecords;
  expect(usage!.cents).toBeGreaterThan(0);
  expect(usage!.idempotencyKey).toMatch(new RegExp(`^${shop.tenantId}:`));
  const billed = (await (await adminApi('billing')).json()) as { usedAmount: number; capReached: boolean };
  expect(billed.usedAmount).toBeGreaterThan(0);
  expect(billed.capReached).toBe(false);

  // The merchant sees the picture, approves it and adds it to the product.
  await page.reload();
  await expect(app.getByRole('status').first()).toHaveText(`Connected to ${SHOP}.`);
  // The generation is in the usage chart, out of the plan's credits.
  await expect(app.locator('#usage-caption')).toHaveText(/last 30 days: [1-9][0-9]* in all$/);
  await expect(app.locator('#usage-chart rect title').last()).toHaveText(/: [1-9][0-9]* credits, 1 picture$/);
  const item = app.locator('#results li').first();
  await expect(item.locator('.result-state')).toHaveText('Not reviewed · picked by the shopper');
  await item.getByRole('button', { name: /^Approve the picture/ }).click();
  await expect(item.locator('.result-state')).toHaveText('Approved · picked by the shopper');
  await expect(item.getByLabel('Product')).toHaveValue(product.id);
  await item.getByRole('button', { name: 'Add to the product' }).click();
  await expect(item.locator('.result-state')).toHaveText('Approved · picked by the shopper · on 1 product(s)');
  await expect.poll(() => product.media.map((media) => media.status)).toEqual(['READY']);

  // Uninstall: Shopify revokes the token and tells the app; the tenant is suspended.
  shopify.uninstall(SHOP);
  expect(await webhook('app/uninstalled', { id: 1, name: 'Lifecycle Lamps', myshopify_domain: SHOP })).toBe(200);
  await expect.poll(async () => (await tenants()).find((tenant) => tenant.tenantId === shop.tenantId)?.status).toBe('suspended');

  // shop/redact, 48 hours later: the tenant and everything of it is gone.
  expect(await webhook('shop/redact', { shop_id: 1, shop_domain: SHOP })).toBe(200);
  await expect
    .poll(async () => (await tenants('deleted')).find((tenant) => tenant.tenantId === shop.tenantId)?.status)
    .toBe('deleted');
  const database = await mongoose.createConnection(applicationDatabaseUri(stack.database)).asPromise();
  try {
    const events = database.collection<{ topic: string; shop: string; status: string }>('shopify_webhook_events');
    await expect.poll(async () => (await events.findOne({ topic: 'shop/redact', shop: SHOP }))?.status).toBe('done');
    // What still names the tenant: only the shop's tombstone (domain, tenant id, dates).
    const left: Record<string, number> = {};
    for (const { name } of await database.db!.listCollections().toArray()) {
      const count = await database.collection(name).countDocuments({ tenantId: shop.tenantId });
      if (count > 0) left[name] = count;
    }
    expect(left).toEqual({ shopify_shops: 1 });
    expect(await database.collection('shopify_results').countDocuments({ shop: SHOP })).toBe(0);
    expect(await database.collection('shopify_shops').findOne({ _id: SHOP as never })).toMatchObject({
      status: 'redacted',
      name: null,
      publishableKey: null,
    });
  } finally {
    await database.close();
  }
  expect((await fetch(src!)).status).toBe(404);
  expect(errors).toEqual([]);
  expect(storefrontErrors).toEqual([]);
});

test('the embedded admin page has nothing axe objects to, and its preview is the real widget in the saved look', async ({
  browser,
}) => {
  const shop = 'axe-e2e.myshopify.com';
  shopify.addShop(shop, { name: 'Axe Goods' });
  // axe is injected as a script, which the page's own policy (rightly) refuses.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  const errors = trackErrors(page);
  await page.goto(shopify.adminUrl(shop));
  const app = page.frameLocator('#app');
  await expect(app.getByRole('status').first()).toHaveText(`Connected to ${shop}.`);

  // The preview is <atelier-studio> itself (its shadow DOM rendered), in the look being edited.
  const look = app.locator('#look-form');
  await look.getByLabel('Accent colour').fill('#aa3300');
  const generate = app.locator('atelier-studio#preview [part~="generate"]');
  await expect(generate).toBeVisible();
  await expect.poll(() => generate.evaluate((button) => getComputedStyle(button).backgroundColor)).toBe('rgb(170, 51, 0)');

  const frame = page.frames().find((candidate) => candidate.url().startsWith(`${stack.manifest.server}/shopify?`))!;
  await frame.addScriptTag({ path: AXE_SCRIPT });
  const violations = await frame.evaluate(async () => {
    const { axe } = window as unknown as {
      axe: { run(context: Document, options: object): Promise<{ violations: { id: string; nodes: { target: unknown[] }[] }[] }> };
    };
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => `${violation.id}: ${JSON.stringify(violation.nodes.map((node) => node.target))}`);
  });
  expect(violations).toEqual([]);
  expect(errors).toEqual([]);
  await context.close();
});

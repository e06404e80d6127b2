import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startDemoStack, type DemoStack } from '@atelier/demo';
import type { CreatedTenantBody } from '@atelier/protocol';
import { renderProductPage, type SampleProduct } from './storefront-page.js';
import { startThemeHost, type ThemeHost } from './theme-host.js';

/**
 * The theme app extension on a storefront, end to end on real parts: the product page
 * rendered from the extension's blocks (liquidjs, Shopify's filters), served from its
 * own origin together with the extension's assets as Shopify's CDN would serve them;
 * Debian's Chromium loads it; the asset brings in the server's loader, which brings the
 * studio; a shopper generates against the real server and a real runner, and picks the
 * result, which goes in the cart through the storefront's cart endpoint.
 */
let stack: DemoStack;
let dataDir: string;
let host: ThemeHost;
let tenant: CreatedTenantBody;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-theme-e2e-'));
  host = await startThemeHost();
  stack = await startDemoStack({ dataDir, port: 0, storefrontPort: 0, engine: 'ferretdb' });
  // A shop of its own, whose storefront origin is the one serving the rendered page.
  const created = await fetch(`${stack.manifest.server}/admin/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.manifest.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Theme extension shop', plan: 'pro', origins: [host.origin] }),
  });
  expect(created.status).toBe(201);
  tenant = (await created.json()) as CreatedTenantBody;
});

test.afterAll(async () => {
  await stack?.stop();
  await host?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const PRODUCT: SampleProduct = {
  id: 8_123_456_789,
  title: `Arc "Desk" Lamp <b>oak</b>`,
  handle: 'arc-desk-lamp',
  featured_image: { filename: 'arc-lamp.png', version: 1_700_000_000, width: 1, height: 1 },
  selected_or_first_available_variant: { id: 44_001_002_003, title: 'Oak' },
};

test('a shopper on a product page rendered from the blocks generates a picture through the extension', async ({ page }) => {
  const html = await renderProductPage({
    shopHost: host.host,
    assetHost: host.host,
    product: PRODUCT,
    request: { origin: host.origin, locale: { iso_code: 'en' } },
    app: { publishable_key: tenant.publishableKey, server: stack.manifest.server },
    productBlock: { accent_color: '#1d4ed8' },
    appEmbed: null,
  });
  const url = host.page(`/products/${PRODUCT.handle}`, html);
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));

  await page.goto(url);
  const studio = page.locator('atelier-studio[mode="inline"]');
  const prompt = studio.locator('[part~="prompt"]');
  await expect(prompt).toBeVisible();

  // The chain a Shopify storefront runs: the extension's asset from the CDN, then the
  // server's own loader, then the studio file that loader names.
  const asset = requested.find((request) => /\/extensions\/[\w-]+\/[\w.-]+\/assets\/atelier-loader\.js$/.test(request));
  expect(asset?.startsWith(host.origin)).toBe(true);
  expect(requested).toContain(`${stack.manifest.server}/widget.js`);
  expect(requested.some((request) => /^http:\/\/127\.0\.0\.1:\d+\/atelier-studio\.[0-9a-f]{10}\.js$/.test(request))).toBe(true);

  // What Liquid passed in arrived as the element's properties, the hostile title intact.
  await expect(studio).toHaveJSProperty('productTitle', PRODUCT.title);
  await expect(studio).toHaveJSProperty('productImage', `//${host.host}/cdn/shop/files/arc-lamp.png?v=1700000000&width=1024`);
  await expect(studio.locator('img[src*="/cdn/shop/files/arc-lamp.png"]')).toBeVisible();
  expect(await studio.evaluate((element) => getComputedStyle(element).getPropertyValue('--atelier-accent').trim())).toBe(
    '#1d4ed8',
  );

  await prompt.fill('the arc desk lamp on a walnut desk, morning light');
  await studio.locator('[part~="generate"]').click();
  const result = studio.locator('img[part~="result"]').first();
  await expect(result).toBeVisible({ timeout: 90_000 });
  const decoded = await result.evaluate(async (img: HTMLImageElement) => {
    await img.decode();
    return { width: img.naturalWidth, src: img.src };
  });
  expect(decoded.width).toBeGreaterThan(1);
  expect(decoded.src.startsWith(stack.manifest.server)).toBe(true);
  await expect(studio.locator('[part~="error"]')).toBeHidden();

  // The shopper picks another option (the theme updates its product form), then the picture:
  // that variant goes in the cart with the picture on its line.
  await page.locator('form[action="/cart/add"] [name="id"]').evaluate((input: HTMLInputElement) => (input.value = '44001002004'));
  await result.click();
  await expect
    .poll(() => host.cartAdds)
    .toEqual([
      {
        items: [
          { id: 44_001_002_004, quantity: 1, properties: { 'Your picture': decoded.src, _atelier_image_id: expect.any(String) } },
        ],
      },
    ]);
  expect(pageErrors).toEqual([]);
});

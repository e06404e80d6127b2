import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import type { DemoStack } from '@atelier/demo';
import { STUDIO_PATH } from '@atelier/protocol';
import type { FakeShopify } from '@atelier/testing';
import { renderProductPage, type SampleProduct } from './storefront-page.js';
import { startShopifyStack, type ShopifyStack } from './shopify-stack.js';
import type { ThemeHost } from './theme-host.js';

/**
 * A shop's storefront and admin preview after a real install, in Chromium against the real
 * server and runner: the product page is rendered from the blocks with the metafields the
 * install wrote at the fake Shopify (nothing typed into the blocks), the studio keeps its
 * reserved room (no layout shift), and where WebSockets are blocked the studio works over
 * the HTTP stream with the session the app proxy minted, and the pick reaches the app
 * through the proxy. The admin page's preview connects and shows the saved texts.
 *
 * What goes through Shopify's app proxy: only `/apps/atelier/session` and
 * `/apps/atelier/picks`, short requests Shopify documents it forwards (method, body and
 * signed query; cookies stripped). The studio's realtime traffic (WebSocket, or the
 * Server-Sent Events stream and its POSTs) goes to the server's own origin with the
 * minted session: Shopify does not document WebSockets or streamed answers through the proxy.
 */
const SHOP = 'storefront-proxy.myshopify.com';

let world: ShopifyStack;
let stack: DemoStack;
let host: ThemeHost;
let shopify: FakeShopify;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  world = await startShopifyStack(SHOP, 'Proxy Lamps');
  ({ stack, host, shopify } = world);
  const server = stack.manifest.server;
  // Installed as the embedded admin's first request installs it (token exchange).
  const installed = await fetch(`${server}/shopify/api/shop`, {
    headers: { Authorization: `Bearer ${shopify.signer.sessionToken({ shop: SHOP })}` },
  });
  expect(installed.status).toBe(200);
});

test.afterAll(async () => {
  await world?.stop();
});

const PRODUCT: SampleProduct = {
  id: 8_300_000_001,
  title: 'Arc desk lamp',
  handle: 'arc-desk-lamp',
  featured_image: { filename: 'arc-lamp.png', version: 1_700_000_000, width: 1, height: 1 },
  selected_or_first_available_variant: { id: 46_000_000_001, title: 'Oak' },
};

function trackErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  return errors;
}

/** Every layout-shift entry of the page, from the first one on. */
async function watchLayoutShifts(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const shifts: { value: number; sources: string[] }[] = [];
    const plain = (entry: PerformanceEntry) => {
      const { value, sources } = entry as PerformanceEntry & {
        value: number;
        sources: { node: Node | null; previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly }[];
      };
      return {
        value,
        sources: sources.map(({ node, previousRect: a, currentRect: b }) => `${node?.nodeName ?? '?'} ${a.height} → ${b.height}`),
      };
    };
    const observer = new PerformanceObserver((list) => shifts.push(...list.getEntries().map(plain)));
    observer.observe({ type: 'layout-shift', buffered: true });
    Object.assign(window, { layoutShifts: () => [...shifts, ...observer.takeRecords().map(plain)] });
  });
}

const studioHeight = (page: Page) =>
  page.evaluate(() => document.querySelector('atelier-studio')!.getBoundingClientRect().height);

test('the admin preview connects as the storefront does and shows the texts just saved', async ({ page }) => {
  const errors = trackErrors(page);
  await page.goto(shopify.adminUrl(SHOP));
  const app = page.frameLocator('#app');
  await expect(app.getByRole('status').first()).toHaveText(`Connected to ${SHOP}.`);
  const look = app.locator('#look-form');
  await look.getByLabel('Generate button').fill('Picture my lamp');
  await look.getByRole('button', { name: 'Save the look' }).click();
  await expect(look.getByRole('status')).toHaveText('Saved.');
  // The tenant's saved text, as the server's welcome brought it to the preview.
  await expect(app.locator('atelier-studio#preview [part~="generate"]')).toHaveText('Picture my lamp');
  expect(errors).toEqual([]);
});

test('the product page from the blocks: its studio moves nothing, and with WebSockets blocked it generates and the pick reaches the app', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  // What the install wrote for the blocks, read back from Shopify (the fake): the truth the Liquid reads.
  const stored = shopify.billing.metafieldsOf(SHOP);
  expect(stored['atelier.server']).toBe(stack.manifest.server);
  const html = await renderProductPage({
    shopHost: host.host,
    assetHost: host.host,
    product: PRODUCT,
    request: { origin: host.origin, locale: { iso_code: 'en' } },
    app: { publishable_key: stored['atelier.publishable_key'], server: stored['atelier.server'] },
    productBlock: {},
    appEmbed: null,
  });

  const context = await browser.newContext({ viewport: { width: 1280, height: 2400 } });
  await watchLayoutShifts(context);
  // The studio's script waits until the page has painted its reserved room.
  let reserved: number | undefined;
  await context.route(
    (url) => STUDIO_PATH.test(url.pathname),
    async (route) => {
      const top = route.request().frame().page();
      await expect.poll(() => top.evaluate(() => performance.getEntriesByType('paint').length)).toBeGreaterThan(0);
      reserved ??= await studioHeight(top);
      await route.continue();
    },
  );
  // A network that kills every WebSocket before the server could say anything.
  let blocked = 0;
  await context.routeWebSocket(/\/v1\/realtime/, (socket) => {
    blocked += 1;
    void socket.close();
  });
  const page = await context.newPage();
  const errors = trackErrors(page);
  const streams: string[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith('/v1/realtime/stream')) streams.push(`${request.method()} ${url.origin} ${url.pathname}`);
  });

  await page.goto(host.page(`/products/${PRODUCT.handle}`, html));
  const studio = page.locator('atelier-studio[mode="inline"]');
  await expect(studio.locator('[part~="styles"]')).toBeVisible({ timeout: 60_000 });
  await page.waitForLoadState('networkidle');
  const idle = await studioHeight(page);
  expect(reserved).toBeDefined();
  expect(reserved).toBeCloseTo(idle, 0);
  const shifts = await page.evaluate(async () => {
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    return (window as unknown as { layoutShifts: () => unknown[] }).layoutShifts();
  });
  expect(shifts).toEqual([]);

  // The shopper's session came through the app proxy; the realtime traffic went to the server
  // itself, over the HTTP stream, with that session.
  expect(host.proxied).toContain('GET /apps/atelier/session 200');
  expect(await studio.getAttribute('session-token')).toMatch(/^ey/);
  await studio.locator('[part~="prompt"]').fill('the arc desk lamp on a walnut desk, morning light');
  await studio.locator('[part~="generate"]').click();
  const result = studio.locator('img[part~="result"]').first();
  await expect(result).toBeVisible({ timeout: 150_000 });
  expect(blocked).toBeGreaterThanOrEqual(2);
  expect(streams).toContain(`GET ${stack.manifest.server} /v1/realtime/stream`);
  expect(
    streams.filter((line) => line.startsWith(`POST ${stack.manifest.server} /v1/realtime/stream/`)).length,
  ).toBeGreaterThanOrEqual(2);

  // The pick: the cart line on the storefront, and the consent POSTed (with its body) through the proxy.
  await result.click();
  await expect.poll(() => host.cartAdds).toHaveLength(1);
  await expect.poll(() => host.proxied).toContain('POST /apps/atelier/picks 204');
  const results = await fetch(`${stack.manifest.server}/shopify/api/results`, {
    headers: { Authorization: `Bearer ${shopify.signer.sessionToken({ shop: SHOP })}` },
  });
  const { data } = (await results.json()) as { data: { consent: boolean; shopperId: string | null }[] };
  expect(data).toEqual([expect.objectContaining({ consent: true, shopperId: expect.stringMatching(/^shopify-guest:/) })]);
  expect(errors).toEqual([]);
  await context.close();
});

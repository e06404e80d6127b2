import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { DEMO_TENANTS, imagePath, productPath, startDemoStack, type DemoManifest, type DemoStack } from '@atelier/demo';
import type { ServerMessage, TenantConfig, WidgetConfig } from '@atelier/protocol';
import { generationIds, productPage, studio } from './storefront-helpers.js';

/**
 * The demo's two shops (issue 9, "The demo storefronts"), each on its own origin with its
 * own tenant: a catalogue with the launcher, product pages with the studio inline, and a
 * studio page in iframe mode, in the shop's language and with the styles its tenant set
 * up through the REST API.
 */
let stack: DemoStack;
let dataDir: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-shops-'));
  stack = await startDemoStack({ dataDir, port: 0, storefrontPort: 0, engine: 'ferretdb' });
});

test.afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const shop = (index: number) => ({ index, spec: DEMO_TENANTS[index]! });
const english = shop(0);
const german = shop(1);

/** The `welcome` the page's widget socket receives (its tenant's name and styles). */
function welcomeOf(page: Page): Promise<WidgetConfig> {
  return new Promise((resolve) => {
    page.on('websocket', (socket) =>
      socket.on('framereceived', ({ payload }) => {
        const message = JSON.parse(String(payload)) as ServerMessage;
        if (message.type === 'welcome') resolve(message.config);
      }),
    );
  });
}

test('the manifest lists both storefronts, each allowed only for its own tenant', () => {
  const { storefronts, tenants } = stack.manifest;
  expect(tenants.map((t) => t.name)).toEqual(DEMO_TENANTS.map((spec) => spec.name));
  expect(storefronts).toHaveLength(DEMO_TENANTS.length);
  expect(new Set(storefronts.map((url) => new URL(url).origin)).size).toBe(storefronts.length);
  tenants.forEach((tenant, i) => expect(tenant.origin).toBe(new URL(storefronts[i]!).origin));
  expect(new Set(tenants.map((t) => t.publishableKey)).size).toBe(tenants.length);
});

for (const { index, spec } of [english, german]) {
  test(`${spec.name}: every catalogue link opens its product page with the studio inline beside the photo`, async ({ page }) => {
    const home = stack.manifest.storefronts[index]!;
    const origin = new URL(home).origin;
    await page.goto(home);
    await expect(page.locator('html')).toHaveAttribute('lang', spec.locale);
    await expect(page.locator('.brand')).toHaveText(spec.name);
    // The catalogue has no studio of its own: the floating launcher, in the shop's language.
    await expect(page.locator('atelier-studio')).toHaveCount(1);
    await expect(page.locator('atelier-studio')).toHaveAttribute('mode', 'launcher');
    await expect(page.locator('atelier-studio')).toHaveAttribute('locale', spec.locale);
    const cards = page.locator('.catalogue a');
    await expect(cards).toHaveCount(spec.products.length);

    for (const [n, product] of spec.products.entries()) {
      await page.goto(home);
      await cards.nth(n).click();
      await expect(page).toHaveURL(`${origin}${productPath(product)}`);
      await expect(page.locator('h1')).toHaveText(product.title);
      const inline = page.locator('atelier-studio');
      await expect(inline).toHaveCount(1);
      await expect(inline).toHaveAttribute('mode', 'inline');
      await expect(inline).toHaveAttribute('locale', spec.locale);
      await expect(inline).toHaveAttribute('product-title', product.title);
      await expect(inline).toHaveAttribute('product-image', `${origin}${imagePath(product)}`);
      await expect(inline).toHaveAttribute('publishable-key', stack.manifest.tenants[index]!.publishableKey);
      // The photo loads, on the page and in the studio's picture area.
      await expect
        .poll(() => page.locator('.gallery img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
        .toBeGreaterThan(0);
      await expect(page.locator(`atelier-studio img[src="${origin}${imagePath(product)}"]`)).toBeVisible();
    }

    // The studio page uses iframe mode, and has no launcher.
    await page.locator('nav a[href="/studio"]').click();
    await expect(page).toHaveURL(`${origin}/studio`);
    await expect(page.locator('atelier-studio')).toHaveCount(1);
    await expect(page.locator('atelier-studio')).toHaveAttribute('mode', 'iframe');
    await expect(page.locator('atelier-studio:defined')).toHaveCount(1);

    // Unknown pages, and the other shop's photos, are not served.
    const other = DEMO_TENANTS[1 - index]!.products[0]!;
    expect((await fetch(`${origin}/products/nothing-here`)).status).toBe(404);
    expect((await fetch(`${origin}${imagePath(other)}`)).status).toBe(404);
  });
}

test("each shop's studio speaks for its own tenant: its name, language and styles", async ({ page }) => {
  // The configuration was set through the REST API with each tenant's secret key.
  for (const { index, spec } of [english, german]) {
    const response = await fetch(`${stack.manifest.server}/v1/config`, {
      headers: { Authorization: `Bearer ${stack.manifest.tenants[index]!.secretKey}` },
    });
    expect(response.status).toBe(200);
    const config = (await response.json()) as TenantConfig;
    expect(config.styles.allowed).toEqual(spec.config.styles?.allowed);
    expect(config.branding.colors.accent).toBe(spec.config.branding?.colors?.accent);
  }

  const welcome = welcomeOf(page);
  await page.goto(productPage(stack, german.index));
  await expect(page.locator('html')).toHaveAttribute('lang', 'de');
  await expect(page.locator('atelier-studio')).toHaveAttribute('locale', 'de');
  const config = await welcome;
  expect(config.tenantName).toBe('Faden & Form');
  expect(config.styles).toEqual(german.spec.config.styles?.allowed);
  expect(config.defaultStyles).toEqual(['Laufsteg Berlin']);
  const chip = (name: string) => page.locator(`atelier-studio [part~="styles"] input[value="${name}"]`);
  await expect(chip('Laufsteg Berlin')).toBeChecked();
  await expect(chip('Evening Glow')).toHaveCount(0);

  const englishWelcome = welcomeOf(page);
  await page.goto(productPage(stack, english.index));
  expect((await englishWelcome).tenantName).toBe('Lumen & Oak');
  await expect(chip('Evening Glow')).toBeChecked();
  await expect(chip('Laufsteg Berlin')).toHaveCount(0);
});

test('the inline studio has its room before its script runs, and the widget adds no styles to the page', async ({ page }) => {
  const pageStyle = () =>
    page.evaluate(() => ({
      sheets: document.styleSheets.length,
      adopted: document.adoptedStyleSheets.length,
      h1: getComputedStyle(document.querySelector('h1')!).font,
      body: ['margin', 'font-family', 'color', 'background-color'].map((name) =>
        getComputedStyle(document.body).getPropertyValue(name),
      ),
    }));
  // Without the widget's script the element stays undefined: the page's CSS holds its room.
  await page.route('**/widget.js', (route) => route.abort());
  await page.goto(productPage(stack, german.index));
  const held = await page.locator('atelier-studio').evaluate((element) => ({
    defined: element.matches(':defined'),
    width: element.getBoundingClientRect().width,
    height: element.getBoundingClientRect().height,
  }));
  expect(held.defined).toBe(false);
  expect(held.height).toBeGreaterThan(held.width + 300);
  const without = await pageStyle();

  await page.unroute('**/widget.js');
  await page.goto(productPage(stack, german.index));
  await expect(studio(page).prompt).toBeVisible();
  expect(await pageStyle()).toEqual(without);
});

test("the catalogue's launcher opens the studio in a dialog, and the picture is made for that shop's tenant", async ({
  page,
}) => {
  const ui = studio(page);
  const tenant = stack.manifest.tenants[german.index]!;
  await page.goto(stack.manifest.storefronts[german.index]!);
  const launcher = page.locator('atelier-studio [part~="launcher"]');
  const dialog = page.locator('atelier-studio [part~="dialog"]');
  await expect(ui.prompt).toBeHidden();
  await launcher.click();
  await expect(dialog).toBeVisible();
  await expect(ui.prompt).toBeFocused();
  await page.evaluate(() => {
    document.addEventListener('atelier-complete', (event) => {
      (window as unknown as { completed: string }).completed = (event as CustomEvent<{ jobId: string }>).detail.jobId;
    });
  });
  await ui.prompt.fill('the wool coat on a hanger by a tall window');
  await ui.generate.click();
  await expect(ui.results.first()).toBeVisible({ timeout: 60_000 });
  const src = await ui.results.first().getAttribute('src');
  expect(new URL(src!).pathname).toMatch(new RegExp(`^/v1/files/${tenant.tenantId}/img_`));
  const jobId = await page.evaluate(() => (window as unknown as { completed: string }).completed);
  expect(await generationIds(stack, tenant)).toContain(jobId);
  expect(await generationIds(stack, stack.manifest.tenants[english.index]!)).not.toContain(jobId);

  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(launcher).toBeFocused();
});

test('demo.json lists both shops, and running the demo again on the same data reuses both tenants and their setup', async () => {
  test.setTimeout(240_000);
  const before = stack.manifest;
  const written = JSON.parse(await readFile(join(dataDir, 'demo.json'), 'utf8')) as DemoManifest;
  expect(written).toEqual(before);
  expect(Object.keys(written).sort()).toEqual(['adminToken', 'server', 'storefronts', 'tenants']);

  await stack.stop();
  stack = await startDemoStack({ dataDir, port: 0, storefrontPort: 0, engine: 'ferretdb', runner: false });
  const after = stack.manifest;
  expect(after.tenants.map(({ tenantId, secretKey, publishableKey }) => ({ tenantId, secretKey, publishableKey }))).toEqual(
    before.tenants.map(({ tenantId, secretKey, publishableKey }) => ({ tenantId, secretKey, publishableKey })),
  );
  // New ports, so new origins: each tenant now allows its storefront's new one.
  after.tenants.forEach((tenant, i) => expect(tenant.origin).toBe(new URL(after.storefronts[i]!).origin));
  const config = (await (
    await fetch(`${after.server}/v1/config`, { headers: { Authorization: `Bearer ${after.tenants[german.index]!.secretKey}` } })
  ).json()) as TenantConfig;
  expect(config.styles.default).toEqual(['Laufsteg Berlin']);
  expect(config.branding.strings).toEqual(german.spec.config.branding?.strings);
});

import type { WidgetConfig } from '@atelier/protocol';
import { expect, test, type Locator } from '@playwright/test';
import { CONFIG, KEY, branding, computed, part, scriptSockets, studioPage, useStaticSite } from './helpers.js';

/** The tenant's logo, density and right-to-left pages (scripted socket; the real round trip is the demo suite's). */
const files = useStaticSite();

const LOGO = 'https://logo.example/atelier-test-logo.svg';
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#0f766e"/></svg>';

const OPTIONS: WidgetConfig = {
  ...CONFIG,
  tenantName: 'Lumen & Oak',
  styles: ['Studio White', 'Loft Interior'],
  performances: ['speed', 'quality'],
  aspectRatios: ['1024x1024', '896x1152'],
  maxImages: 4,
};

const box = (locator: Locator) => locator.evaluate((element) => element.getBoundingClientRect().toJSON() as DOMRect);

test("shows the tenant's logo in the header, named by the tenant, in a row as tall as without it", async ({ page }) => {
  await page.route(LOGO, (route) => route.fulfill({ contentType: 'image/svg+xml', body: LOGO_SVG }));
  const header = () => box(page.locator('atelier-studio .studio__header'));
  const promptTop = async () => (await box(part(page, 'prompt'))).top;

  const plain = await scriptSockets(page, { ...OPTIONS, branding: branding({}) });
  await page.goto(files.site.page('/no-logo', studioPage(`publishable-key="${KEY}"`)));
  await expect.poll(() => plain[0]?.received.length).toBe(1);
  await expect(part(page, 'styles')).toBeVisible();
  await expect(part(page, 'logo')).toHaveCount(0);
  const without = { header: await header(), prompt: await promptTop() };

  await page.unrouteAll();
  await page.route(LOGO, (route) => route.fulfill({ contentType: 'image/svg+xml', body: LOGO_SVG }));
  const branded = await scriptSockets(page, { ...OPTIONS, branding: branding({ logoUrl: LOGO }) });
  await page.goto(files.site.page('/logo', studioPage(`publishable-key="${KEY}"`)));
  await expect.poll(() => branded[0]?.received.length).toBe(1);
  const logo = part(page, 'logo');
  await expect(logo).toHaveAttribute('alt', 'Lumen & Oak');
  await expect.poll(() => logo.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBe(120);
  // Fitted into the header (two label lines tall), which is as tall as without a logo.
  expect((await box(logo)).height).toBeCloseTo(without.header.height, 1);
  expect((await header()).height).toBe(without.header.height);
  expect(await promptTop()).toBe(without.prompt);
});

for (const [name, logoUrl] of [
  ['a plain-http URL', 'http://tracker.example/logo.png'],
  ['a javascript: URL', 'javascript:alert(1)'],
  ['a data: URL', 'data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"/>'],
] as const) {
  test(`does not show a logo at ${name}`, async ({ page }) => {
    const sockets = await scriptSockets(page, {
      ...OPTIONS,
      branding: branding({ logoUrl, strings: { en: { generate: 'Go' } } }),
    });
    await page.goto(files.site.page(`/unsafe-logo-${name.length}`, studioPage(`publishable-key="${KEY}"`)));
    await expect.poll(() => sockets[0]?.received.length).toBe(1);
    // Welcome was applied (the tenant's words are in), and no logo came with it.
    await expect(part(page, 'generate')).toHaveText('Go');
    await expect(part(page, 'logo')).toHaveCount(0);
  });
}

test("the tenant's density tightens the spacing, and the page's --atelier-density wins over it", async ({ page }) => {
  const sockets = await scriptSockets(page, { ...OPTIONS, branding: branding({ density: 'compact' }) });
  await page.goto(files.site.page('/density', studioPage(`publishable-key="${KEY}"`)));
  await expect.poll(() => sockets[0]?.received.length).toBe(1);
  const base = part(page, 'base');
  // Comfortable is 1rem of padding; compact three quarters of it.
  await expect.poll(() => computed(base, 'padding-top')).toBe('12px');
  expect(await computed(base, 'row-gap')).toBe('9px');
  await page.addStyleTag({ content: 'atelier-studio { --atelier-density: 1; }' });
  await expect.poll(() => computed(base, 'padding-top')).toBe('16px');
  expect(await computed(base, 'row-gap')).toBe('12px');
});

test('right to left: the studio mirrors under an ancestor with dir="rtl"', async ({ page }) => {
  const sockets = await scriptSockets(page, OPTIONS);
  await page.goto(
    files.site.page(
      '/rtl',
      studioPage(`publishable-key="${KEY}"`)
        .replace('<atelier-studio', '<div dir="rtl" style="width: 480px"><atelier-studio')
        .replace('</atelier-studio>', '</atelier-studio></div>'),
    ),
  );
  await expect.poll(() => sockets[0]?.received.length).toBe(1);
  await expect(part(page, 'styles')).toBeVisible();
  const base = await box(part(page, 'base'));
  const generate = await box(part(page, 'generate'));
  const label = await box(page.locator('atelier-studio .studio__label'));
  const firstChip = await box(page.locator('atelier-studio .studio__choice').first());
  const lastChip = await box(page.locator('atelier-studio .studio__choice').last());
  // The start edge is the right one: Generate, the label and the first chip sit against it.
  const inset = base.right - generate.right;
  expect(inset).toBeGreaterThan(0);
  expect(inset).toBeLessThan(base.width / 4);
  expect(base.right - label.right).toBeCloseTo(inset, 0);
  expect(firstChip.left).toBeGreaterThan(lastChip.left);
  // The progress bar fills from the right: its transform's origin is its right edge.
  const bar = page.locator('atelier-studio .studio__progress-bar');
  const origin = await computed(bar, 'transform-origin');
  expect(Number.parseFloat(origin)).toBeCloseTo((await box(part(page, 'progress'))).width, 0);
});

import type { WidgetConfig } from '@atelier/protocol';
import { expect, test, type Locator } from '@playwright/test';
import { CONFIG, KEY, branding, computed, part, scriptSockets, studioPage, useStaticSite } from './helpers.js';

const files = useStaticSite();

/** A homeware shop: warm accent, cream card, a serif, small corners, its own words. */
const HOME: WidgetConfig = {
  ...CONFIG,
  tenantName: 'Homeware',
  branding: branding({
    colors: { accent: '#b5651d', accentContrast: '#ffffff', background: '#fdf8f3', text: '#2b1d12' },
    fontFamily: "Georgia, 'Times New Roman', serif",
    radius: 4,
    strings: { en: { generate: 'Create my scene' }, DE: { generate: 'Meine Szene erstellen' } },
  }),
};

/** A fashion shop: teal accent, square corners, German words of its own. */
const FASHION: WidgetConfig = {
  ...CONFIG,
  tenantName: 'Fashion',
  branding: branding({ colors: { accent: '#0f766e' }, radius: 0, strings: { de: { generate: 'Look erstellen' } } }),
};

test("applies the tenant's theme from welcome below the page's own --atelier-* properties", async ({ page }) => {
  const sockets = await scriptSockets(page, HOME);
  await page.goto(files.site.page('/tenant-theme', studioPage(`publishable-key="${KEY}"`)));
  const base = part(page, 'base');
  const generate = part(page, 'generate');
  await expect.poll(() => sockets[0]?.received.length).toBe(1);

  await expect.poll(() => computed(generate, 'background-color')).toBe('rgb(181, 101, 29)');
  expect(await computed(base, 'background-color')).toBe('rgb(253, 248, 243)');
  expect(await computed(base, 'color')).toBe('rgb(43, 29, 18)');
  expect(await computed(base, 'border-top-left-radius')).toBe('4px');
  expect(await computed(page.locator('atelier-studio'), 'font-family')).toBe('Georgia, "Times New Roman", serif');
  // Tokens the tenant left alone keep the widget's defaults.
  expect(await computed(part(page, 'progress'), 'background-color')).toBe('rgb(244, 244, 245)');
  // White on this accent is 4.33:1: the widget picks black whatever the tenant set, so no
  // tenant theme can make the button unreadable.
  // (Chromium writes a relative colour's result in color() syntax.)
  expect(await computed(generate, 'color')).toMatch(/^(rgb\(0, 0, 0\)|color\(srgb 0 0 0\))$/);
  // The tenant's words, for this tenant.
  await expect(generate).toHaveText('Create my scene');

  // Not a style attribute (a strict CSP forbids them): nothing on the element or inside.
  expect(await page.locator('atelier-studio').getAttribute('style')).toBeNull();
  expect(await page.locator('atelier-studio').evaluate((host) => host.shadowRoot!.querySelectorAll('style').length)).toBe(0);

  // The page's CSS wins: on an ancestor (even :root) and on the element itself.
  await page.addStyleTag({ content: ':root { --atelier-background: rgb(1, 2, 3); }' });
  await expect.poll(() => computed(base, 'background-color')).toBe('rgb(1, 2, 3)');
  await page.addStyleTag({ content: 'atelier-studio { --atelier-accent: rgb(200, 0, 100); --atelier-radius: 9px; }' });
  await expect.poll(() => computed(generate, 'background-color')).toBe('rgb(200, 0, 100)');
  expect(await computed(base, 'border-top-left-radius')).toBe('9px');
  expect(await computed(base, 'color')).toBe('rgb(43, 29, 18)');
});

test("keeps the tenant's accent in the dark theme, but not its light palette", async ({ page }) => {
  await scriptSockets(page, HOME);
  await page.goto(files.site.page('/tenant-dark', studioPage(`publishable-key="${KEY}" theme="dark"`)));
  await expect.poll(() => computed(part(page, 'generate'), 'background-color')).toBe('rgb(181, 101, 29)');
  expect(await computed(part(page, 'base'), 'background-color')).toBe('rgb(24, 24, 27)');
  expect(await computed(part(page, 'base'), 'color')).toBe('rgb(250, 250, 250)');
  expect(await computed(part(page, 'base'), 'border-top-left-radius')).toBe('4px');
});

test('speaks German with locale="de": words, numbers and durations', async ({ page }) => {
  const sockets = await scriptSockets(page);
  await page.goto(
    files.site.page('/locale-de', studioPage(`publishable-key="${KEY}" locale="de" product-title="Nussbaumlampe"`)),
  );
  await expect(page.getByLabel('Beschreiben Sie das gewünschte Bild')).toHaveAttribute('part', 'prompt');
  await expect(part(page, 'prompt')).toHaveAttribute(
    'placeholder',
    'z. B. Nussbaumlampe auf einer Marmorarbeitsplatte, weiches Morgenlicht',
  );
  await expect(part(page, 'generate')).toHaveText('Generieren');
  // Screen readers pronounce it as German, whatever the page's language.
  await expect(part(page, 'base')).toHaveAttribute('lang', 'de');
  await expect(part(page, 'progress')).toHaveAttribute('aria-label', 'Fortschritt der Bilderstellung');

  await expect.poll(() => sockets[0]?.received.length).toBe(1);
  const socket = sockets[0]!;
  await part(page, 'prompt').fill('eine Lampe');
  await part(page, 'generate').click();
  await expect.poll(() => socket.received[1]?.type).toBe('generate');
  const request = socket.received[1]!;
  if (request.type !== 'generate') throw new Error('expected generate');
  socket.send({ type: 'accepted', ref: request.ref, id: 'job_1', seq: 1, cost: { credits: 1 } });
  socket.send({ type: 'queued', id: 'job_1', seq: 2, position: 1200, etaSeconds: 150, runners: 2 });
  await expect(part(page, 'status')).toHaveText('In der Warteschlange – Position 1.200 (etwa 3 Minuten)');
  socket.send({ type: 'completed', id: 'job_1', seq: 3, images: [] });
  socket.send({ type: 'error', code: 'insufficient_credits', message: 'out of credits' });
  await expect(part(page, 'error')).toHaveText('Das Guthaben dieses Studios ist vorerst aufgebraucht.');
});

test("shows the tenant's own words for the locale, and ours where it has none", async ({ page }) => {
  await scriptSockets(page, HOME);
  await page.goto(files.site.page('/tenant-strings', studioPage(`publishable-key="${KEY}" locale="de-AT"`)));
  const generate = part(page, 'generate');
  // The tenant's German for de-AT (its tag matched whatever its case).
  await expect(generate).toHaveText('Meine Szene erstellen');
  const setLocale = (locale: string) =>
    page.locator('atelier-studio').evaluate((element, tag) => element.setAttribute('locale', tag), locale);
  await setLocale('fr');
  // The tenant wrote no French: our French, not the tenant's English.
  await expect(generate).toHaveText('Générer');
  await setLocale('en-GB');
  await expect(generate).toHaveText('Create my scene');
  await setLocale('ja');
  await expect(generate).toHaveText('生成する');
  await expect(page.getByLabel('作りたい画像を説明してください')).toBeVisible();
});

test('two studios of two tenants on one page keep their own theme and words, under a strict CSP', async ({ page }) => {
  const configs: Record<string, WidgetConfig> = { pk_test_home: HOME, pk_test_fashion: FASHION };
  const sockets = await scriptSockets(page, (key) => configs[key]!);
  await page.setViewportSize({ width: 1280, height: 2400 });
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(
    files.site.page(
      '/two-tenants',
      `<!doctype html><html lang="en"><head><meta charset="utf-8">
      <meta http-equiv="Content-Security-Policy" content="default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self' ws:; img-src 'self' data:">
      </head><body>
      <atelier-studio id="home" publishable-key="pk_test_home" locale="de"></atelier-studio>
      <atelier-studio id="fashion" publishable-key="pk_test_fashion" locale="de"></atelier-studio>
      <script type="module" src="/atelier-studio.js"></script>
      </body></html>`,
    ),
  );
  await expect.poll(() => sockets.length).toBe(2);
  const home = page.locator('#home');
  const fashion = page.locator('#fashion');
  const generate = (studio: Locator) => studio.locator('[part~="generate"]');
  const base = (studio: Locator) => studio.locator('[part~="base"]');
  await expect(generate(home)).toHaveText('Meine Szene erstellen');
  await expect(generate(fashion)).toHaveText('Look erstellen');
  await expect.poll(() => computed(generate(home), 'background-color')).toBe('rgb(181, 101, 29)');
  await expect.poll(() => computed(generate(fashion), 'background-color')).toBe('rgb(15, 118, 110)');
  expect(await computed(base(home), 'border-top-left-radius')).toBe('4px');
  expect(await computed(base(fashion), 'border-top-left-radius')).toBe('0px');
  expect(await computed(base(fashion), 'background-color')).toBe('rgb(255, 255, 255)');

  // Given the other tenant's key, a studio becomes that tenant's: its theme and words follow.
  await home.evaluate((element) => element.setAttribute('publishable-key', 'pk_test_fashion'));
  await expect(generate(home)).toHaveText('Look erstellen');
  await expect.poll(() => computed(generate(home), 'background-color')).toBe('rgb(15, 118, 110)');
  expect(await computed(base(home), 'background-color')).toBe('rgb(255, 255, 255)');
  expect(await computed(base(home), 'border-top-left-radius')).toBe('0px');
  expect(violations).toEqual([]);
});

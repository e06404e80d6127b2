import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { expect, test } from '@playwright/test';
import { part, studioPage } from './helpers.js';
import { BUNDLE_DIR, type StaticServer, startStaticServer } from './static-server.js';

/**
 * Gzipped size allowed for the ESM bundle (Lit included): what it weighed before the
 * wire contract moved into @atelier/protocol (14,119 B), which was not to make it any
 * heavier. Raising it should be a decision, not an accident: the widget loads on
 * every product page.
 */
const GZIP_BUDGET_BYTES = 14_119;

let site: StaticServer;

test.beforeAll(async () => {
  site = await startStaticServer();
});

test.afterAll(async () => {
  await site.close();
});

test('the ESM bundle stays within its gzip budget', async () => {
  const bundle = await readFile(new URL('atelier-studio.js', BUNDLE_DIR));
  const gzipped = gzipSync(bundle, { level: 9 }).length;
  test.info().annotations.push({ type: 'bundle-size', description: `${bundle.length} B raw, ${gzipped} B gzip` });
  expect(gzipped).toBeLessThanOrEqual(GZIP_BUDGET_BYTES);
  // Only the protocol's types and constants ship: no server code, no schemas.
  expect(bundle.toString()).not.toMatch(/mongoose|express|zod/);
});

for (const [name, script] of [
  ['ESM', '<script type="module" src="/widget.js"></script>'],
  ['IIFE', '<script src="/atelier-studio.iife.js"></script>'],
] as const) {
  test(`the ${name} bundle registers <atelier-studio>`, async ({ page }) => {
    const errors: Error[] = [];
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(site.page(`/register-${name}`, studioPage('', script)));
    await expect(part(page, 'prompt')).toBeVisible();
    expect(await page.evaluate(() => customElements.get('atelier-studio')?.name)).toBeTruthy();
    expect(errors).toEqual([]);
  });
}

test('loading the script twice and calling define() again does not throw', async ({ page }) => {
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  const scripts = `
    <script type="module" src="/atelier-studio.js"></script>
    <script type="module" src="/atelier-studio.js?copy=2"></script>
    <script src="/atelier-studio.iife.js"></script>`;
  await page.goto(site.page('/twice', studioPage('', scripts)));
  await expect(part(page, 'prompt')).toBeVisible();

  const result = await page.evaluate(async () => {
    // Loaded from the page's server, typed as the package they are built from.
    type Module = typeof import('../src/index.js');
    const load = async (url: string) => (await import(url)) as Module;
    const first = await load('/atelier-studio.js');
    const second = await load('/atelier-studio.js?copy=3');
    const iife = (window as unknown as { AtelierStudio: { define(): unknown } }).AtelierStudio;
    const registered = customElements.get('atelier-studio');
    return {
      separateCopies: first.AtelierStudio !== second.AtelierStudio,
      sameClassBack: [first.define(), first.define(), second.define(), iife.define()].every((c) => c === registered),
    };
  });
  expect(result).toEqual({ separateCopies: true, sameClassBack: true });
  expect(errors).toEqual([]);
});

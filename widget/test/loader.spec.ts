import { expect, test, type Page } from '@playwright/test';
import { STUDIO_PATH } from '@atelier/protocol';
import { part } from './helpers.js';
import { type StaticServer, startStaticServer } from './static-server.js';

/**
 * When the loader (`/widget.js`, the built bundle) fetches the studio, in a real page from
 * a real server: never before the page's load event and an idle moment after it; then
 * for a studio on screen, one the shopper presses or focuses, a launcher, or one added
 * later; never for a studio far down the page that nobody scrolls or turns to.
 */
let site: StaticServer;

test.beforeAll(async () => {
  site = await startStaticServer();
});

test.afterAll(async () => {
  await site.close();
});

const STUDIO = '<atelier-studio publishable-key="pk_test_x" server="http://127.0.0.1:9"__ATTRS__></atelier-studio>';

/** A page whose load event a slow image holds back, with studios at its top and its foot (4000 px down). */
function sitePage(name: string, { top = '', bottom = '', imageMs = 0 }: { top?: string; bottom?: string; imageMs?: number }) {
  return site.page(
    `/${name}`,
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"></head>
<body>
${top}
<img src="/slow.png?ms=${imageMs}" alt="" width="1" height="1">
<div style="height: 4000px"></div>
${bottom}
<script type="module" src="/widget.js"></script>
</body></html>`,
  );
}

const studio = (attributes = '') => STUDIO.replace('__ATTRS__', attributes);

/** The studio files the page has asked for, recorded as the browser sends them. */
function studioRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (request) => {
    if (STUDIO_PATH.test(new URL(request.url()).pathname)) seen.push(request.url());
  });
  return seen;
}

/**
 * Resolves after the loader has had its chance: an idle callback asked for after the
 * loader's own (idle callbacks run in the order they were asked for), then two frames, so
 * that an intersection observer set up then has reported too.
 */
function afterLoaderIdle(page: Page): Promise<void> {
  return page.evaluate(
    () =>
      new Promise<void>((resolve) =>
        requestIdleCallback(() => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve))), {
          timeout: 10_000,
        }),
      ),
  );
}

test('a studio in view is fetched only after the page has loaded, then without anything else happening', async ({ page }) => {
  await page.goto(sitePage('in-view', { top: studio(), imageMs: 1500 }), { waitUntil: 'load' });
  await expect(part(page, 'prompt')).toBeVisible();
  const timing = await page.evaluate((source) => {
    const pattern = new RegExp(source);
    const [navigation] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
    const entry = performance.getEntriesByType('resource').find((e) => pattern.test(new URL(e.name).pathname));
    return { requested: entry!.startTime, loadEnd: navigation!.loadEventEnd };
  }, STUDIO_PATH.source);
  // The slow image held the load event back by 1.5 s; the studio waited for it.
  expect(timing.requested).toBeGreaterThanOrEqual(timing.loadEnd);
});

test('a studio far below is not fetched after load and idle, and is once it is scrolled into view', async ({ page }) => {
  const requests = studioRequests(page);
  await page.goto(sitePage('far-below', { bottom: studio() }), { waitUntil: 'load' });
  await afterLoaderIdle(page);
  expect(requests).toEqual([]);
  expect(await page.evaluate(() => customElements.get('atelier-studio'))).toBeUndefined();

  await page.locator('atelier-studio').scrollIntoViewIfNeeded();
  await expect(part(page, 'prompt')).toBeVisible();
  expect(requests).toHaveLength(1);
});

for (const intent of ['pointerdown', 'focus'] as const) {
  test(`a studio far below is fetched when the shopper turns to it (${intent})`, async ({ page }) => {
    const requests = studioRequests(page);
    await page.goto(sitePage(`intent-${intent}`, { bottom: studio(' tabindex="-1"') }), { waitUntil: 'load' });
    await afterLoaderIdle(page);
    expect(requests).toEqual([]);
    // Neither scrolls the page: a script focusing the element, or a press on it reaching the document.
    if (intent === 'focus')
      await page.evaluate(() => document.querySelector<HTMLElement>('atelier-studio')!.focus({ preventScroll: true }));
    else await page.locator('atelier-studio').dispatchEvent('pointerdown');
    await expect.poll(() => page.evaluate(() => Boolean(customElements.get('atelier-studio')))).toBe(true);
    expect(await page.evaluate(() => scrollY)).toBe(0);
    expect(requests).toHaveLength(1);
  });
}

test('a launcher is fetched after load wherever its tag sits, and a studio added later once it is in view', async ({ page }) => {
  const requests = studioRequests(page);
  await page.goto(sitePage('launcher', { bottom: studio(' mode="launcher"') }), { waitUntil: 'load' });
  await expect(part(page, 'launcher')).toBeVisible();
  expect(requests).toHaveLength(1);

  const added = studioRequests(page);
  await page.goto(sitePage('added-later', {}), { waitUntil: 'load' });
  await afterLoaderIdle(page);
  expect(added).toEqual([]);
  await page.evaluate((html) => document.body.insertAdjacentHTML('afterbegin', html), studio());
  await expect(part(page, 'prompt')).toBeVisible();
  expect(added).toHaveLength(1);
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser, type BrowserContext, type Frame, type Page } from '@playwright/test';
import { startDemoStack, type DemoStack } from '@atelier/demo';
import { axeViolations } from '@atelier/testing/axe';
import { EMBED_SCRIPT_PATH, STUDIO_PATH } from '@atelier/protocol';
import { productPage } from './storefront-helpers.js';

/**
 * The studio on the demo's storefronts, against the real server and runner: nothing on
 * the page moves from before the widget's script runs, through welcome, to idle (inline
 * on product pages, and in iframe mode on each shop's /studio page, inside the frame as
 * well as around it); and axe finds nothing in the iframe mode's embedded studio.
 */
let stack: DemoStack;
let dataDir: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-layout-'));
  stack = await startDemoStack({ dataDir, port: 0, storefrontPort: 0, engine: 'ferretdb' });
});

test.afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Shift {
  value: number;
  hadRecentInput: boolean;
  sources: string[];
}

/**
 * Records every layout-shift entry of every document the page opens (frames included:
 * init scripts run in each), from the first one on (`buffered`).
 */
async function watchLayoutShifts(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    type Entry = PerformanceEntry & {
      value: number;
      hadRecentInput: boolean;
      sources: { node: Node | null; previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly }[];
    };
    const plain = (entry: PerformanceEntry) => {
      const { value, hadRecentInput, sources } = entry as Entry;
      return {
        value,
        hadRecentInput,
        sources: sources.map(
          ({ node, previousRect: a, currentRect: b }) =>
            `${node?.nodeName ?? '?'} ${a.x},${a.y} ${a.width}x${a.height} → ${b.x},${b.y} ${b.width}x${b.height}`,
        ),
      };
    };
    const shifts: ReturnType<typeof plain>[] = [];
    const observer = new PerformanceObserver((list) => shifts.push(...list.getEntries().map(plain)));
    observer.observe({ type: 'layout-shift', buffered: true });
    Object.assign(window, { layoutShifts: () => [...shifts, ...observer.takeRecords().map(plain)] });
  });
}

/** The shifts recorded so far in one document, after two frames have been drawn (so every entry is out). */
function shiftsIn(frame: Frame): Promise<Shift[]> {
  return frame.evaluate(async () => {
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    const { layoutShifts } = window as unknown as { layoutShifts?: () => Shift[] };
    return layoutShifts?.() ?? [];
  });
}

/** Every shift the shopper could have seen, in the page and in its frames. */
async function allShifts(page: Page): Promise<{ frame: string; shift: Shift }[]> {
  const found: { frame: string; shift: Shift }[] = [];
  for (const frame of page.frames()) {
    if (!frame.url().startsWith('http')) continue;
    for (const shift of await shiftsIn(frame)) found.push({ frame: new URL(frame.url()).pathname, shift });
  }
  return found;
}

const WIDTHS = [390, 1280] as const;
/**
 * Tall enough that the whole page is in view: a shift below the fold does not count in
 * CLS, so a short viewport would hide a reservation that is too tall or too short.
 */
const HEIGHT = 2400;

/**
 * A slow network, so that each stage reaches the screen on its own (on loopback they
 * would all land before the first paint, where nothing counts as a shift): the studio's
 * script is held until the storefront's page has painted (its `atelier-studio:not(:defined)`
 * room is on screen), and the real server's messages on
 * the widget's socket are held until `release()` (the studio's first render, before
 * welcome, is on screen).
 */
async function slowNetwork(context: BrowserContext) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let heldScripts = 0;
  let reserved: number | undefined;
  await context.route(
    (url) => STUDIO_PATH.test(url.pathname),
    async (route) => {
      // The storefront's page, also for the embed page's script (its document shows nothing before it).
      const top = route.request().frame().page().mainFrame();
      await expect.poll(() => top.evaluate(() => performance.getEntriesByType('paint').length)).toBeGreaterThan(0);
      reserved ??= await studioHeight(top);
      heldScripts += 1;
      await route.continue();
    },
  );
  await context.routeWebSocket(/\/v1\/realtime/, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((message) => server.send(message));
    server.onMessage((message) => void released.then(() => socket.send(message)));
  });
  return { release, heldScripts: () => heldScripts, reserved: () => reserved };
}

/** The height of the storefront's `<atelier-studio>`, defined or not. */
const studioHeight = (frame: Frame) =>
  frame.evaluate(() => document.querySelector('atelier-studio')!.getBoundingClientRect().height);

/** Two frames drawn in `frame`: what is on screen now has been painted. */
const painted = (frame: Frame) =>
  frame.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

for (const width of WIDTHS) {
  for (const shop of [0, 1]) {
    test(`${width} px, shop ${shop}: nothing on the product page moves from load through welcome to idle`, async ({
      browser,
    }) => {
      const context = await browser.newContext({ viewport: { width, height: HEIGHT } });
      await watchLayoutShifts(context);
      const network = await slowNetwork(context);
      const page = await context.newPage();
      await page.goto(productPage(stack, shop));
      // The first render, before welcome: the rows welcome brings are not in yet.
      await expect(page.locator('atelier-studio [part~="generate"]')).toBeVisible();
      await expect(page.locator('atelier-studio [part~="styles"]')).toHaveCount(0);
      await painted(page.mainFrame());
      const firstRender = await studioHeight(page.mainFrame());
      network.release();
      await expect(page.locator('atelier-studio [part~="styles"]')).toBeVisible();
      await expect(page.locator('atelier-studio [part~="options"]')).toBeVisible();
      await page.waitForLoadState('networkidle');
      expect(network.heldScripts()).toBe(1);
      expect(await allShifts(page)).toEqual([]);
      // The cause, measured: the page's room for the studio before its script ran, its
      // first render before welcome and its height at idle are one height (to half a pixel;
      // the storefront's footer sits at the foot of this tall window, so it could not show).
      const idle = await studioHeight(page.mainFrame());
      expect(network.reserved()).toBeCloseTo(idle, 0);
      expect(firstRender).toBeCloseTo(idle, 0);
      await context.close();
    });

    test(`${width} px, shop ${shop}: nothing on the iframe page moves, in the frame or around it, from load through welcome to idle`, async ({
      browser,
    }) => {
      const context = await browser.newContext({ viewport: { width, height: HEIGHT } });
      await watchLayoutShifts(context);
      const network = await slowNetwork(context);
      const page = await context.newPage();
      await page.goto(new URL('/studio', stack.manifest.storefronts[shop]).href);
      const frame = page.frameLocator('atelier-studio iframe');
      await expect(frame.locator('atelier-studio [part~="generate"]')).toBeVisible();
      await expect(frame.locator('atelier-studio [part~="styles"]')).toHaveCount(0);
      await painted(page.frames().find((f) => new URL(f.url()).pathname === '/embed/studio')!);
      const firstRender = await studioHeight(page.mainFrame());
      network.release();
      await expect(frame.locator('atelier-studio [part~="styles"]')).toBeVisible();
      // The frame has taken its page's own height (the bridge's resize) by now.
      await expect
        .poll(() => page.locator('atelier-studio iframe').evaluate((element: HTMLIFrameElement) => element.style.height))
        .toMatch(/^\d+px$/);
      await page.waitForLoadState('networkidle');
      // Both scripts were held (the loader's import of the studio, and the embed page's),
      // and both documents were watched.
      expect(network.heldScripts()).toBe(2);
      expect(page.frames().filter((f) => f.url().startsWith('http'))).toHaveLength(2);
      expect(await allShifts(page)).toEqual([]);
      const idle = await studioHeight(page.mainFrame());
      expect(network.reserved()).toBeCloseTo(idle, 0);
      expect(firstRender).toBeCloseTo(idle, 0);
      await context.close();
    });
  }
}

test("iframe mode: the embedded studio starts in the host element's language and theme, before the bridge says anything", async ({
  page,
}) => {
  // The bridge (the embed page's /embed.js) never runs: whatever the studio shows, it had from its address.
  await page.route(
    (url) => url.pathname === EMBED_SCRIPT_PATH,
    (route) => route.abort(),
  );
  // Shop 1: German and dark.
  await page.goto(new URL('/studio', stack.manifest.storefronts[1]).href);
  const frame = page.frameLocator('atelier-studio iframe');
  const embedded = frame.locator('atelier-studio');
  await expect(embedded.locator('[part~="generate"]')).toHaveText('Generieren');
  await expect(embedded).toHaveAttribute('theme', 'dark');
  expect(await embedded.evaluate((element) => getComputedStyle(element).colorScheme)).toBe('dark');
  expect(await frame.locator('html').getAttribute('lang')).toBe('de');
});

/**
 * A returning shopper: one picture made in a first visit (real runner), remembered in the
 * storefront's localStorage; the storage of that visit, by shop, for the return visits.
 */
const firstVisits = new Map<number, Awaited<ReturnType<BrowserContext['storageState']>>>();

async function afterOnePicture(browser: Browser, shop: number) {
  const known = firstVisits.get(shop);
  if (known) return known;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(productPage(stack, shop));
  await page.locator('atelier-studio[mode="inline"] [part~="prompt"]').fill('a ceramic vase');
  await page.locator('atelier-studio[mode="inline"] [part~="generate"]').click();
  await expect(page.locator('atelier-studio[mode="inline"] img[part~="recent"]')).toHaveCount(1, { timeout: 90_000 });
  const state = await context.storageState();
  await context.close();
  firstVisits.set(shop, state);
  return state;
}

test("a first-time shopper's first picture moves nothing: the gallery's row opens with the press", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: WIDTHS[0], height: HEIGHT } });
  await watchLayoutShifts(context);
  // The server's answers to the press are held until well past the half second in which a
  // shift counts as the shopper's own (on loopback with the tiny model they would all land
  // inside it, and a row opening with the picture would go unscored).
  let hold: Promise<void> | null = null;
  let release!: () => void;
  await context.routeWebSocket(/\/v1\/realtime/, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((message) => {
      if (typeof message === 'string' && message.includes('"generate"')) hold = new Promise((done) => (release = done));
      server.send(message);
    });
    server.onMessage((message) => void (hold ?? Promise.resolve()).then(() => socket.send(message)));
  });
  const page = await context.newPage();
  await page.goto(productPage(stack, 0));
  const inline = page.locator('atelier-studio[mode="inline"]');
  await expect(inline.locator('[part~="styles"]')).toBeVisible();
  await expect(inline.locator('[part~="gallery"]')).toHaveCount(0);
  // Something of the page's right below the studio, where a row opening late would move it
  // (the demo page's footer keeps to the bottom of this tall window and would not).
  await page.evaluate(() => document.querySelector('section.studio')!.insertAdjacentHTML('afterend', '<p>Reviews</p>'));
  await inline.locator('[part~="prompt"]').fill('a ceramic vase');
  const pressed = await page.evaluate(() => performance.now());
  await inline.locator('[part~="generate"]').click();
  // Before the server has said anything, the row is open with a tile in the making.
  await expect(inline.locator('[part~="gallery"] .studio__tile--loading')).toHaveCount(1);
  await expect.poll(() => page.evaluate(() => performance.now())).toBeGreaterThan(pressed + 1000);
  release();
  await expect(inline.locator('img[part~="recent"]')).toHaveCount(1, { timeout: 90_000 });
  await expect(inline.locator('[part~="gallery"] .studio__tile--loading')).toHaveCount(0);
  // A shift within half a second of the press is the shopper's own (layout-shift scoring leaves it out).
  expect((await allShifts(page)).filter(({ shift }) => !shift.hadRecentInput)).toEqual([]);
  firstVisits.set(0, await context.storageState());
  await context.close();
});

for (const width of WIDTHS) {
  for (const shop of [0, 1]) {
    test(`${width} px, shop ${shop}: a returning shopper's remembered pictures move nothing either`, async ({ browser }) => {
      const storageState = await afterOnePicture(browser, shop);
      const context = await browser.newContext({ viewport: { width, height: HEIGHT }, storageState });
      await watchLayoutShifts(context);
      const network = await slowNetwork(context);
      const page = await context.newPage();
      await page.goto(productPage(stack, shop));
      const inline = page.locator('atelier-studio[mode="inline"]');
      // The loader marked it from storage before the studio was defined: the page reserved the gallery too.
      await expect(inline).toHaveAttribute('has-recent', '');
      // The first render, before welcome: the remembered picture holds its place.
      await expect(inline.locator('.studio__tile--loading')).toHaveCount(1);
      await painted(page.mainFrame());
      const firstRender = await studioHeight(page.mainFrame());
      network.release();
      await expect(page.locator('atelier-studio[mode="inline"] img[part~="recent"]')).toHaveCount(1);
      await expect(inline.locator('[part~="styles"]')).toBeVisible();
      await page.waitForLoadState('networkidle');
      expect(await allShifts(page)).toEqual([]);
      const idle = await studioHeight(page.mainFrame());
      expect(network.reserved()).toBeCloseTo(idle, 0);
      expect(firstRender).toBeCloseTo(idle, 0);
      await context.close();
    });
  }
}

test("axe finds nothing in iframe mode on either shop's /studio page, idle and with options open", async ({ page }) => {
  for (const shop of [0, 1]) {
    await page.goto(new URL('/studio', stack.manifest.storefronts[shop]).href);
    const frameLocator = page.frameLocator('atelier-studio iframe');
    await expect(frameLocator.locator('atelier-studio [part~="styles"]')).toBeVisible();
    const frame = page.frames().find((f) => new URL(f.url()).pathname === '/embed/studio')!;
    expect(await axeViolations(frame), `shop ${shop}, idle`).toEqual([]);

    await frameLocator.locator('atelier-studio [part~="options"] summary').click();
    await expect(frameLocator.getByRole('group').nth(1)).toBeVisible();
    expect(await axeViolations(frame), `shop ${shop}, options open`).toEqual([]);
  }
});

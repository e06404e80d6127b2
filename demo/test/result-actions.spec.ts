import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { expect, test, type Page } from '@playwright/test';
import { startDemoStack, type DemoStack } from '@atelier/demo';
import type { ClientMessage, GenerationBody, GenerationListBody } from '@atelier/protocol';

/**
 * The shopper's actions on results (issue 9), end to end against the real server and a
 * real runner: vary, upscale, download and select a picture from the gallery; no Try again
 * after a refused description; the gallery back after a reload; a new scene around (and variations of)
 * the product photo the page names. The shop is a page of this test's own, on an origin a
 * tenant of its own allows, with a PNG product photo (the demo shops' photos are SVG).
 */
let stack: DemoStack;
let dataDir: string;
let shop: Server;
let origin: string;
const tenants: { publishableKey: string; secretKey: string }[] = [];

test.describe.configure({ mode: 'serial' });

/** The server's signed-link lifetime here (ATELIER_SIGNED_URL_TTL_S). */
const LINK_TTL_S = 20;

async function photo(): Promise<Buffer> {
  const [width, height] = [256, 256];
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= 64 && x < 192 && y >= 48 && y < 208;
      rgba.set(inside ? [40, 90 + (x % 60), 160, 255] : [0, 0, 0, 0], (y * width + x) * 4);
    }
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

test.beforeAll(async () => {
  test.setTimeout(240_000);
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-actions-'));
  stack = await startDemoStack({
    dataDir,
    port: 0,
    storefrontPort: 0,
    engine: 'ferretdb',
    // Image links that expire within a test, so that a page left open outlives them.
    serverEnv: { ATELIER_SIGNED_URL_TTL_S: String(LINK_TTL_S) },
  });
  const png = await photo();
  shop = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/photo.png') {
      response.writeHead(200, { 'Content-Type': 'image/png' }).end(png);
      return;
    }
    const key = tenants[Number(url.searchParams.get('tenant') ?? 0)]!.publishableKey;
    const server = stack.manifest.server;
    response.writeHead(200, { 'Content-Type': 'text/html' }).end(`<!doctype html><html lang="en"><body>
      <script type="module" src="${server}/widget.js"></script>
      <atelier-studio publishable-key="${key}" server="${server}" product-image="/photo.png" product-title="Blue vase"></atelier-studio>
    </body></html>`);
  });
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  for (const name of ['Actions One', 'Actions Two']) {
    const response = await fetch(`${stack.manifest.server}/admin/v1/tenants`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.manifest.adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, plan: 'pro', origins: [origin] }),
    });
    expect(response.status).toBe(201);
    tenants.push((await response.json()) as { publishableKey: string; secretKey: string });
  }
});

test.afterAll(async () => {
  await new Promise((resolve) => shop?.close(resolve));
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const part = (page: Page, name: string) => page.locator(`atelier-studio [part~="${name}"]`);
const tiles = (page: Page) => page.locator('atelier-studio img[part~="recent"]');
const action = (page: Page, tile: number, name: string) =>
  page.locator('atelier-studio .studio__tile').nth(tile).getByRole('button', { name, exact: true });

/** Every `generate` the page's sockets send, in order. */
function generatesOf(page: Page): ClientMessage[] {
  const sent: ClientMessage[] = [];
  page.on('websocket', (socket) =>
    socket.on('framesent', ({ payload }) => {
      const message = JSON.parse(String(payload)) as ClientMessage;
      if (message.type === 'generate' || message.type === 'watch') sent.push(message);
    }),
  );
  return sent;
}

async function newest(tenant = 0): Promise<GenerationBody> {
  const response = await fetch(`${stack.manifest.server}/v1/generations?limit=1`, {
    headers: { Authorization: `Bearer ${tenants[tenant]!.secretKey}` },
  });
  return ((await response.json()) as GenerationListBody).data[0]!;
}

async function loaded(page: Page, count: number): Promise<void> {
  await expect(tiles(page)).toHaveCount(count, { timeout: 90_000 });
  await expect
    .poll(() => tiles(page).evaluateAll((imgs: HTMLImageElement[]) => imgs.every((img) => img.complete && img.naturalWidth > 0)))
    .toBe(true);
}

test('vary, upscale, download and select a result; the gallery comes back after a reload, for this tenant only', async ({
  page,
}) => {
  const sent = generatesOf(page);
  await page.goto(origin);
  await part(page, 'prompt').fill('a walnut desk lamp');
  await part(page, 'generate').click();
  await loaded(page, 1);
  const first = await newest();
  expect(first.params).toMatchObject({ prompt: 'a walnut desk lamp' });

  // Keyboard: the first action takes focus with a visible ring, Enter varies the picture.
  const vary = action(page, 0, 'Vary (subtle)');
  await vary.focus();
  // Reached by the keyboard (Shift+Tab, Tab), as :focus-visible asks.
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  await expect(vary).toBeFocused();
  expect(await vary.evaluate((button) => getComputedStyle(button).outlineStyle)).toBe('solid');
  await page.keyboard.press('Enter');
  await loaded(page, 2);
  const varied = await newest();
  expect(varied.params).toEqual({ prompt: 'a walnut desk lamp', mode: 'vary-subtle', inputImageId: first.images[0]!.id });
  expect(varied.images[0]).toMatchObject({ width: first.images[0]!.width, height: first.images[0]!.height });

  // The newest picture is first; 2× is the first upscale offered.
  await action(page, 0, 'Upscale 2×').click();
  await loaded(page, 3);
  const upscaled = await newest();
  expect(upscaled.params).toMatchObject({ mode: 'upscale', upscaleFactor: 2, inputImageId: varied.images[0]!.id });
  expect(upscaled.images[0]!.width).toBe(varied.images[0]!.width * 2);

  const saving = page.waitForEvent('download');
  await page.locator('atelier-studio .studio__tile').nth(0).getByRole('link', { name: 'Download' }).click();
  const download = await saving;
  expect(download.suggestedFilename()).toBe(`a-walnut-desk-lamp-${upscaled.images[0]!.id}.${upscaled.images[0]!.format}`);
  const file = await readFile(await download.path());
  expect(await sharp(file).metadata()).toMatchObject({ width: upscaled.images[0]!.width });

  const picked = page.evaluate(
    () =>
      new Promise<string>((resolve) =>
        document
          .querySelector('atelier-studio')!
          .addEventListener('atelier-select', (event) =>
            resolve((event as CustomEvent<{ image: { id: string } }>).detail.image.id),
          ),
      ),
  );
  await action(page, 2, 'Use this picture').click();
  expect(await picked).toBe(first.images[0]!.id);
  await expect(action(page, 2, 'Use this picture')).toHaveAttribute('aria-pressed', 'true');

  // After a reload the same pictures come back, asked for again (fresh URLs), newest first.
  const ids = [upscaled, varied, first].map((job) => job.images[0]!.id);
  const before = sent.length;
  await page.reload();
  await loaded(page, 3);
  expect(await tiles(page).evaluateAll((imgs: HTMLImageElement[]) => imgs.map((img) => img.src))).toEqual(
    ids.map((id) => expect.stringContaining(id)),
  );
  expect(sent.slice(before).map((message) => message.type === 'watch' && message.id)).toEqual([upscaled.id, varied.id, first.id]);

  // A remembered id the server does not know (swept by retention, or not this shopper's) drops out.
  await page.evaluate(() => {
    const key = Object.keys(localStorage).find((name) => name.startsWith('atelier-recent:'))!;
    const list = JSON.parse(localStorage.getItem(key)!) as { id: string }[];
    localStorage.setItem(key, JSON.stringify([{ ...list[0], id: 'gen_AAAAAAAAAAAAAAAAAAAA' }, ...list]));
  });
  await page.reload();
  await loaded(page, 3);
  await expect(page.locator('atelier-studio .studio__tile')).toHaveCount(3);
  await expect.poll(() => page.evaluate(() => Object.values(localStorage).join())).not.toContain('gen_AAAAAAAAAAAAAAAAAAAA');

  // Another tenant's studio on the same browser and origin sees none of them.
  await page.goto(`${origin}/?tenant=1`);
  await expect(part(page, 'generate')).toBeVisible();
  await expect(page.locator('atelier-studio .studio__tile')).toHaveCount(0);
});

test("on a page left open past its links' life, Download still saves the picture: the links were refreshed", async ({ page }) => {
  await page.goto(origin);
  await part(page, 'prompt').fill('a copper kettle');
  await part(page, 'generate').click();
  await loaded(page, 1);
  const made = (await tiles(page).first().getAttribute('src'))!;
  const expires = Number(new URL(made).searchParams.get('expires'));
  expect(expires * 1000 - Date.now()).toBeLessThanOrEqual(LINK_TTL_S * 1000);
  // Halfway through its life the studio asks for the picture again: a new link on the tile.
  await expect.poll(() => tiles(page).first().getAttribute('src'), { timeout: LINK_TTL_S * 1000 }).not.toBe(made);
  // Past the first link's end it is refused...
  await expect.poll(() => Date.now() > (expires + 1) * 1000, { timeout: LINK_TTL_S * 1000 }).toBe(true);
  expect((await fetch(made)).status).toBe(403);
  // ...and Download, through the fresh one, saves the picture.
  const saving = page.waitForEvent('download');
  await page.locator('atelier-studio .studio__tile').nth(0).getByRole('link', { name: 'Download' }).click();
  const file = await readFile(await (await saving).path());
  expect((await sharp(file).metadata()).width).toBeGreaterThan(0);
});

test('storage that throws (private modes, sandboxed frames) breaks nothing', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(window, 'localStorage', {
      get() {
        throw new DOMException('denied', 'SecurityError');
      },
    });
  });
  await page.goto(origin);
  await part(page, 'prompt').fill('a brass candle holder');
  await part(page, 'generate').click();
  await loaded(page, 1);
  await page.reload();
  await expect(part(page, 'generate')).toBeVisible();
  await expect(page.locator('atelier-studio .studio__tile')).toHaveCount(0);
});

test('a refused description offers no "Try again" (it would be refused again) but marks the field to change', async ({
  page,
}) => {
  const secret = tenants[0]!.secretKey;
  const configure = (bannedTerms: string[]) =>
    fetch(`${stack.manifest.server}/v1/config`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ contentPolicy: { bannedTerms } }),
    });
  expect((await configure(['teapot'])).status).toBe(200);
  try {
    const sent = generatesOf(page);
    await page.goto(origin);
    await part(page, 'prompt').fill('a teapot on a shelf');
    await part(page, 'generate').click();
    await expect(part(page, 'error')).toContainText('not allowed');
    await expect(part(page, 'retry')).toHaveCount(0);
    await expect(part(page, 'prompt')).toHaveAttribute('aria-invalid', 'true');

    // What the message says to do: another description goes through.
    await part(page, 'prompt').fill('a kettle on a shelf');
    await part(page, 'generate').click();
    await expect(part(page, 'result')).toHaveCount(1, { timeout: 90_000 });
    await expect(part(page, 'prompt')).toHaveAttribute('aria-invalid', 'false');
    expect(sent.flatMap((message) => (message.type === 'generate' ? [message.params.prompt] : []))).toEqual([
      'a teapot on a shelf',
      'a kettle on a shelf',
    ]);
  } finally {
    expect((await configure([])).status).toBe(200);
  }
});

test('with a product photo the shopper picks a new scene around it or variations of it', async ({ page }) => {
  await page.goto(origin);
  await expect(part(page, 'product-mode').getByRole('radio', { name: 'Just my words' })).toBeChecked();
  await part(page, 'product-mode').getByRole('radio', { name: 'New scene' }).check();
  await part(page, 'prompt').fill('on a marble counter');
  await part(page, 'generate').click();
  await expect(part(page, 'result')).toHaveCount(1, { timeout: 90_000 });
  const scene = await newest();
  expect(scene.params).toMatchObject({ mode: 'background', inputImageUrl: `${origin}/photo.png` });
  // The product's pixels are kept exactly, at the photo's size.
  expect(scene.images[0]).toMatchObject({ width: 256, height: 256, productFidelity: 0 });

  await part(page, 'product-mode').getByRole('radio', { name: 'Variations' }).check();
  await part(page, 'generate').click();
  await expect.poll(async () => (await newest()).params.mode, { timeout: 30_000 }).toBe('vary-strong');
  await expect(part(page, 'status')).toContainText('Done', { timeout: 90_000 });
});

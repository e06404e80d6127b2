import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import sharp from 'sharp';
import { startDemoStack, type DemoStack, type DemoTenant } from '@atelier/demo';
import type { GenerationBody, ShopperSessionBody } from '@atelier/protocol';
import { generationIds, productPage, studio } from './storefront-helpers.js';

/**
 * The walking skeleton, end to end on real parts: Debian's Chromium on a storefront
 * origin → the widget → the real server over a real WebSocket → FerretDB → the real
 * runner process running the ONNX pipeline → a signed image URL.
 */
let stack: DemoStack;
let dataDir: string;
let tenant: DemoTenant;
let storefront: string;
/** The demo's own notes (not the processes' logs), e.g. that it restarted a process. */
const demoNotes: string[] = [];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-e2e-'));
  stack = await startDemoStack({
    dataDir,
    port: 0,
    storefrontPort: 0,
    engine: 'ferretdb',
    onLog: (source, line) => {
      if (source === 'demo') demoNotes.push(line);
    },
  });
  tenant = stack.manifest.tenants[0]!;
  // The first shop's first product page: its studio is inline.
  storefront = productPage(stack);
});

test.afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Records every aria-valuenow the progress bar takes, inside the widget's shadow root. */
async function recordProgress(page: Page): Promise<void> {
  // The loader imports the studio without holding the page's load event: wait until it has rendered.
  await expect(studio(page).prompt).toBeVisible();
  await page.evaluate(() => {
    const bar = document.querySelector('atelier-studio')!.shadowRoot!.querySelector('[part~="progress"]')!;
    const seen: number[] = [];
    (window as unknown as { progressSeen: number[] }).progressSeen = seen;
    new MutationObserver(() => seen.push(Number(bar.getAttribute('aria-valuenow')))).observe(bar, {
      attributes: true,
      attributeFilter: ['aria-valuenow'],
    });
  });
}

test('a shopper types a prompt, watches the progress bar fill step by step, and gets the picture', async ({ page }) => {
  const ui = studio(page);
  await page.goto(storefront);
  await recordProgress(page);
  await ui.prompt.fill('the arc desk lamp on a walnut desk, morning light');
  await ui.generate.click();

  await expect(ui.results.first()).toBeVisible({ timeout: 60_000 });
  await expect(ui.progress).toHaveAttribute('aria-valuemax', '30');
  await expect(ui.progress).toHaveAttribute('aria-valuenow', '30');
  const seen = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
  const steps = [...new Set(seen.filter((n) => n > 0))];
  expect(steps.length).toBeGreaterThanOrEqual(10);
  expect(steps).toEqual([...steps].sort((a, b) => a - b));
  expect(await ui.error.isVisible()).toBe(false);

  // The browser decoded it at the requested size (the default aspect ratio, 1024x1024)…
  const decoded = await ui.results.first().evaluate(async (img: HTMLImageElement) => {
    await img.decode();
    return { width: img.naturalWidth, height: img.naturalHeight, src: img.src };
  });
  expect(decoded).toMatchObject({ width: 1024, height: 1024 });
  expect(new URL(decoded.src).pathname).toMatch(new RegExp(`^/v1/files/${tenant.tenantId}/img_`));

  // …and its pixels vary: a real decoded image, not a flat or empty one.
  const bytes = Buffer.from(await (await fetch(decoded.src)).arrayBuffer());
  const { channels } = await sharp(bytes).stats();
  for (const channel of channels.slice(0, 3)) expect(channel.stdev).toBeGreaterThan(5);
  const { data } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += 3) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
  expect(colours.size).toBeGreaterThan(1000);
});

test('a shopper session set on session-token reaches the server: the job carries that shopper through REST', async ({ page }) => {
  const ui = studio(page);
  const rest = (path: string, body?: unknown) =>
    fetch(`${stack.manifest.server}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${tenant.secretKey}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const minted = await rest('/v1/sessions', { shopperId: 'demo-shopper-1' });
  expect(minted.status).toBe(201);
  const { token } = (await minted.json()) as ShopperSessionBody;

  await page.goto(storefront);
  await page.evaluate((sessionToken) => {
    const element = document.querySelector('atelier-studio')!;
    element.setAttribute('session-token', sessionToken);
    element.addEventListener('atelier-start', (event) => {
      (window as unknown as { jobId: string }).jobId = (event as CustomEvent<{ jobId: string }>).detail.jobId;
    });
  }, token);
  await ui.prompt.fill('the arc desk lamp beside a stack of books');
  await ui.generate.click();
  await expect(ui.results.first()).toBeVisible({ timeout: 60_000 });
  const jobId = await page.evaluate(() => (window as unknown as { jobId: string }).jobId);
  const job = (await (await rest(`/v1/generations/${jobId}`)).json()) as GenerationBody;
  expect(job).toMatchObject({ id: jobId, status: 'succeeded', shopperId: 'demo-shopper-1' });

  // A session that does not verify is refused, and the widget says so instead of generating.
  const before = (await generationIds(stack, tenant)).length;
  await page.locator('atelier-studio').evaluate((element, forged) => element.setAttribute('session-token', forged), `${token}x`);
  await expect(ui.error).toContainText('shopper session was refused', { timeout: 15_000 });
  await expect(ui.generate).toBeDisabled();
  expect((await generationIds(stack, tenant)).length).toBe(before);
});

test('an empty or 2,001-character prompt shows a clear error and creates nothing', async ({ page }) => {
  const ui = studio(page);
  await page.goto(storefront);
  await expect(ui.status).not.toHaveText(/Connecting/);
  const before = (await generationIds(stack, tenant)).length;

  await ui.prompt.fill('   ');
  await ui.generate.click();
  await expect(ui.error).toHaveText('Describe the picture you want first.');

  await ui.prompt.fill('x'.repeat(2001));
  await ui.generate.click();
  await expect(ui.error).toContainText('2,001 characters');
  expect((await generationIds(stack, tenant)).length).toBe(before);
});

test('with no runner the job waits, the widget says so, and a runner that connects picks it up', async ({ page }) => {
  const ui = studio(page);
  await stack.stopRunner();
  await page.goto(storefront);
  await ui.prompt.fill('a linen lampshade in a sunlit reading nook');
  await ui.generate.click();
  await expect(ui.status).toHaveText(/Waiting for a GPU to come online/, { timeout: 15_000 });
  await page.waitForTimeout(1000);
  await expect(ui.results).toHaveCount(0);

  await stack.startRunner();
  await expect(ui.results.first()).toBeVisible({ timeout: 60_000 });
  await expect(ui.progress).toHaveAttribute('aria-valuenow', '30');
});

test('a page on an origin the tenant did not allow is refused, and nothing is created', async ({ page }) => {
  const ui = studio(page);
  const before = (await generationIds(stack, tenant)).length;
  // Same storefront server, different origin: `localhost` is not the allowed `127.0.0.1`.
  await page.goto(storefront.replace('127.0.0.1', 'localhost'));
  await expect(ui.error).toBeVisible({ timeout: 15_000 });
  await expect(ui.error).toContainText('This studio is not available on this site');
  await expect(ui.generate).toBeDisabled();
  expect((await generationIds(stack, tenant)).length).toBe(before);
});

test('when the server goes away the widget says so and retries, then carries on when it is back', async ({ page }) => {
  const ui = studio(page);
  await page.goto(storefront);
  await expect(ui.status).not.toHaveText(/Connecting/);
  await stack.stopServer();
  await expect(ui.status).toHaveText(/Can't reach the studio — retrying in \d+ s/, { timeout: 20_000 });

  await stack.startServer();
  await ui.prompt.fill('the lamp on a marble counter, soft light');
  await ui.generate.click();
  await expect(ui.results.first()).toBeVisible({ timeout: 90_000 });
});

test('when the server process dies mid-generation the demo restarts it, the widget reconnects, and the picture still arrives', async ({
  page,
}) => {
  test.setTimeout(180_000);
  const ui = studio(page);
  await page.goto(storefront);
  await expect(ui.status).not.toHaveText(/Connecting/);
  await ui.prompt.fill('a ceramic lamp on a bedside table');
  await ui.generate.click();
  await expect.poll(async () => Number(await ui.progress.getAttribute('aria-valuenow')), { timeout: 60_000 }).toBeGreaterThan(2);

  const server = stack.process('server')!;
  const killed = server.child.pid!;
  process.kill(killed, 'SIGKILL');
  // Between retries it says it cannot reach the studio, during one that it is reconnecting.
  const trouble = /Can't reach the studio — retrying in \d+ s|Reconnecting to the studio/;
  await expect(ui.status).toHaveText(trouble, { timeout: 20_000 });
  await expect.poll(() => server.restarts, { timeout: 30_000 }).toBe(1);
  expect(server.child.pid).not.toBe(killed);
  expect(demoNotes).toContainEqual(
    expect.stringMatching(new RegExp(`^server \\(pid ${killed}\\) was killed by SIGKILL; restarting it in`)),
  );
  expect(demoNotes).toContain(`server restarted (pid ${server.child.pid})`);
  await expect(ui.status).not.toHaveText(trouble, { timeout: 60_000 });

  // The job's lease died with the server; once it expires the job runs again.
  await expect(ui.results.first()).toBeVisible({ timeout: 120_000 });
  expect(await ui.error.isVisible()).toBe(false);
});

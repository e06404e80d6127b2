import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startDemoStack, type DemoStack, type DemoTenant } from '@atelier/demo';

/**
 * Iframe mode on real parts: a storefront page (on an origin its tenant allowed) holds
 * `<atelier-studio mode="iframe">`; the studio runs in the server's embed page, talks to
 * the real server and runner, and its events reach the host page through the bridge.
 */
let stack: DemoStack;
let dataDir: string;
let tenant: DemoTenant;
const sites: Server[] = [];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-iframe-'));
  stack = await startDemoStack({ dataDir, port: 0, storefrontPort: 0, engine: 'ferretdb' });
  tenant = stack.manifest.tenants[0]!;
});

test.afterAll(async () => {
  for (const site of sites) site.close();
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/**
 * A site of its own on the loopback address, answering every path with `html`; its
 * origin. (A page Playwright fulfils itself counts as public, and Chromium keeps public
 * pages from loading scripts off loopback servers.)
 */
async function startSite(html: string): Promise<string> {
  const site = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(html);
  });
  sites.push(site);
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
}

/** Adds an origin to the tenant's allowed ones through the operator API. */
async function allow(origin: string): Promise<void> {
  const response = await fetch(`${stack.manifest.server}/admin/v1/tenants/${tenant.tenantId}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${stack.manifest.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ origins: [tenant.origin, origin] }),
  });
  expect(response.status).toBe(200);
}

function hostPage(attributes: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Iframe mode</title></head>
<body>
<script>
  window.events = [];
  for (const type of ['atelier-start', 'atelier-complete', 'atelier-error', 'atelier-select']) {
    document.addEventListener(type, (event) => window.events.push({ type, detail: event.detail, target: event.target.tagName }));
  }
</script>
<atelier-studio mode="iframe" ${attributes}></atelier-studio>
<script type="module" src="${stack.manifest.server}/widget.js"></script>
</body></html>`;
}

test('a shopper generates inside the iframe; the host element fires the same events and the frame fits its page', async ({
  page,
}) => {
  const policyErrors: string[] = [];
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) policyErrors.push(message.text());
  });
  const site = await startSite(
    hostPage(`publishable-key="${tenant.publishableKey}" server="${stack.manifest.server}" product-title="Arc Desk Lamp"`),
  );
  await allow(site);
  await page.goto(`${site}/products/arc-desk-lamp`);
  const frame = page.frameLocator('atelier-studio iframe');
  const prompt = frame.locator('atelier-studio [part~="prompt"]');
  // The host's attributes reached the embedded studio through the bridge.
  await expect(prompt).toHaveAttribute('placeholder', /Arc Desk Lamp/);
  // The frame took its page's height instead of the reserved one.
  await expect
    .poll(() => page.locator('atelier-studio iframe').evaluate((element: HTMLIFrameElement) => element.style.height))
    .toMatch(/^\d+px$/);

  await prompt.fill('the arc desk lamp on a linen tablecloth');
  await frame.locator('atelier-studio [part~="generate"]').click();
  const result = frame.locator('atelier-studio img[part~="result"]').first();
  await expect(result).toBeVisible({ timeout: 60_000 });
  await result.click();

  const events = () =>
    page.evaluate(() => (window as unknown as { events: { type: string; detail: unknown; target: string }[] }).events);
  await expect
    .poll(async () => (await events()).map((event) => event.type))
    .toEqual(['atelier-start', 'atelier-complete', 'atelier-select']);
  const [start, complete, select] = await events();
  expect(start!.target).toBe('ATELIER-STUDIO');
  expect(start!.detail).toMatchObject({
    jobId: expect.stringMatching(/^gen_/),
    prompt: 'the arc desk lamp on a linen tablecloth',
  });
  const images = (complete!.detail as { images: { url: string }[] }).images;
  expect(images[0]!.url).toMatch(new RegExp(`^${stack.manifest.server}/v1/files/${tenant.tenantId}/`));
  expect(select!.detail).toEqual({ image: images[0] });
  expect(policyErrors).toEqual([]);
});

test('a page on an origin the tenant did not allow gets a refusal in the frame and no studio', async ({ page }) => {
  const stranger = await startSite(hostPage(`publishable-key="${tenant.publishableKey}" server="${stack.manifest.server}"`));
  await page.goto(`${stranger}/products/arc-desk-lamp`);
  const frame = page.frameLocator('atelier-studio iframe');
  await expect(frame.locator('body')).toHaveText('This studio is not available on this site.');
  await expect(frame.locator('atelier-studio')).toHaveCount(0);
});

test('where WebSockets are blocked the studio falls back to the HTTP stream and the picture still arrives, once', async ({
  page,
}) => {
  // A proxy that kills every WebSocket: each one closes before the server could say anything.
  let blocked = 0;
  await page.routeWebSocket(/\/v1\/realtime/, (socket) => {
    blocked += 1;
    void socket.close();
  });
  const streams: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/v1/realtime/stream')) streams.push(`${request.method()} ${new URL(request.url()).pathname}`);
  });
  const site = await startSite(
    hostPage(`publishable-key="${tenant.publishableKey}" server="${stack.manifest.server}"`).replace('mode="iframe" ', ''),
  );
  await allow(site);
  await page.goto(`${site}/products/arc-desk-lamp`);
  const prompt = page.locator('atelier-studio [part~="prompt"]');
  await prompt.fill('the arc desk lamp on a stone windowsill');
  await page.locator('atelier-studio [part~="generate"]').click();
  await expect(page.locator('atelier-studio img[part~="result"]').first()).toBeVisible({ timeout: 90_000 });

  expect(blocked).toBeGreaterThanOrEqual(2);
  expect(streams).toContain('GET /v1/realtime/stream');
  expect(streams.filter((line) => line.startsWith('POST /v1/realtime/stream/str_')).length).toBeGreaterThanOrEqual(2);
  const events = await page.evaluate(() => (window as unknown as { events: { type: string }[] }).events.map((e) => e.type));
  expect(events).toEqual(['atelier-start', 'atelier-complete']);
});

import { expect, test } from '@playwright/test';
import { CONFIG, KEY, events, part, scriptSockets, studioPage, announcer } from './helpers.js';
import { type StaticServer, closedPort, startStaticServer } from './static-server.js';

let site: StaticServer;

test.beforeAll(async () => {
  site = await startStaticServer();
});

test.afterAll(async () => {
  await site.close();
});

test('renders its parts, accessible, and talks to the server it was loaded from', async ({ page }) => {
  const sockets = await scriptSockets(page);
  await page.goto(site.page('/parts', studioPage(`publishable-key="${KEY}" product-title="Walnut lamp"`)));

  await expect(part(page, 'base')).toBeVisible();
  await expect(page.getByLabel('Describe the picture you want')).toHaveAttribute('part', 'prompt');
  await expect(part(page, 'generate')).toHaveText('Generate');
  await expect(part(page, 'generate')).toBeEnabled();
  const progress = part(page, 'progress');
  await expect(progress).toHaveAttribute('role', 'progressbar');
  await expect(progress).toHaveAttribute('aria-valuemin', '0');
  await expect(progress).toHaveAttribute('aria-valuenow', '0');
  await expect(progress).toHaveAttribute('aria-valuemax', /\d+/);
  // The status line shows every step; only milestones are spoken (the announcer, below).
  await expect(part(page, 'status')).not.toHaveAttribute('aria-live');
  await expect(announcer(page)).toHaveAttribute('aria-live', 'polite');
  await expect(part(page, 'error')).toHaveAttribute('role', 'alert');
  await expect(part(page, 'error')).toBeHidden();
  await expect(part(page, 'result')).toHaveCount(0);
  await expect(part(page, 'prompt')).toHaveAttribute('placeholder', /Walnut lamp/);
  // A tenant with no styles and one choice of shape, preset and count shows none of them.
  await expect(part(page, 'styles')).toHaveCount(0);
  await expect(part(page, 'options')).toHaveCount(0);

  // No `server` attribute: the socket goes to the origin that served the script.
  await expect.poll(() => sockets.length).toBe(1);
  expect(sockets[0]!.url).toBe(`${site.origin.replace('http', 'ws')}/v1/realtime?key=${KEY}`);
  // Without a shopper session the page says which browser it is: a random id kept in localStorage.
  await expect
    .poll(() => sockets[0]!.received[0])
    .toEqual({ type: 'hello', v: 1, browser: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  const browser = (sockets[0]!.received[0] as { browser: string }).browser;
  expect(await page.evaluate(() => localStorage.getItem('atelier-browser'))).toBe(browser);

  // Themes swap the defaults; a page's own --atelier-* value wins over either.
  const background = () => part(page, 'base').evaluate((element) => getComputedStyle(element).backgroundColor);
  const light = await background();
  await page.locator('atelier-studio').evaluate((element) => element.setAttribute('theme', 'dark'));
  expect(await background()).not.toBe(light);
  await page.addStyleTag({ content: ':root { --atelier-background: rgb(1, 2, 3); }' });
  expect(await background()).toBe('rgb(1, 2, 3)');
});

test("offers the tenant's styles as chips and its shapes, presets and counts under More options, by keyboard", async ({
  page,
}) => {
  const sockets = await scriptSockets(page, {
    ...CONFIG,
    styles: ['Studio White', 'Studio Pastel', 'Loft Interior'],
    defaultStyles: ['Studio Pastel'],
    performances: ['speed', 'quality'],
    aspectRatios: ['1024x1024', '896x1152', '1152x896', '1536x640'],
    maxImages: 2,
  });
  await page.goto(site.page('/options', studioPage(`publishable-key="${KEY}"`)));
  await expect.poll(() => sockets[0]?.received.length).toBe(1);
  await expect(part(page, 'styles')).toBeVisible();
  await expect(page.getByRole('checkbox', { name: 'Studio Pastel' })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'Studio White' })).not.toBeChecked();

  // Keyboard only: from the prompt, Tab reaches the first chip; Space picks it.
  await part(page, 'prompt').fill('a linen armchair');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space');
  await expect(page.getByRole('checkbox', { name: 'Studio White' })).toBeChecked();
  // Unpick the default one with the mouse.
  await page.getByRole('checkbox', { name: 'Studio Pastel' }).click();

  // Shapes only among what the tenant offers and the widget names (no 1536x640 chip).
  const shape = page.getByRole('group', { name: 'Shape' });
  await expect(shape).toBeHidden();
  await page.getByText('More options').click();
  await expect(shape.getByRole('radio')).toHaveCount(3);
  await shape.getByRole('radio', { name: 'Portrait' }).check();
  await page.getByRole('group', { name: 'Speed and quality' }).getByRole('radio', { name: 'Best quality' }).check();
  await page.getByRole('group', { name: 'Pictures' }).getByRole('radio', { name: '2' }).check();
  await part(page, 'generate').click();

  await expect.poll(() => sockets[0]!.received[1]?.type).toBe('generate');
  const request = sockets[0]!.received[1]!;
  if (request.type !== 'generate') throw new Error('expected generate');
  expect(request.params).toEqual({
    prompt: 'a linen armchair',
    styles: ['Studio White'],
    aspectRatio: '896x1152',
    performance: 'quality',
    imageCount: 2,
  });
});

test('refuses empty and over-long prompts and sends nothing', async ({ page }) => {
  const sockets = await scriptSockets(page);
  await page.goto(site.page('/validation', studioPage(`publishable-key="${KEY}"`)));
  await expect.poll(() => sockets[0]?.received.length).toBe(1);
  const prompt = part(page, 'prompt');
  const error = part(page, 'error');

  await part(page, 'generate').click();
  await expect(error).toBeVisible();
  await expect(error).toHaveText('Describe the picture you want first.');
  await expect(prompt).toHaveAttribute('aria-invalid', 'true');

  await prompt.fill('   \n  ');
  await expect(error).toBeHidden(); // typing clears the complaint
  await part(page, 'generate').click();
  await expect(error).toHaveText('Describe the picture you want first.');

  await prompt.fill('x'.repeat(2001));
  await prompt.press('Control+Enter');
  await expect(error).toHaveText(/2,001 characters.*2,000/);

  await page.waitForTimeout(300);
  expect(sockets[0]!.received).toEqual([{ type: 'hello', v: 1, browser: expect.any(String) }]);
  expect(await events(page)).toEqual([]);
  await expect(part(page, 'status')).toHaveText('');
});

test('walks a job through the queue, progress and results, firing its events', async ({ page }) => {
  const sockets = await scriptSockets(page);
  await page.goto(site.page('/flow', studioPage(`publishable-key="${KEY}"`)));
  await expect.poll(() => sockets[0]?.received.length).toBe(1);
  const socket = sockets[0]!;
  const status = part(page, 'status');
  const progress = part(page, 'progress');
  const generate = part(page, 'generate');

  await part(page, 'prompt').fill('  a walnut lamp, morning light ');
  await generate.click();
  await expect.poll(() => socket.received[1]?.type).toBe('generate');
  const request = socket.received[1]!;
  if (request.type !== 'generate') throw new Error('expected generate');
  // The shopper saw no styles and one choice of everything else: the tenant's defaults go.
  expect(request.params).toEqual({
    prompt: 'a walnut lamp, morning light',
    aspectRatio: '1024x1024',
    performance: 'speed',
    imageCount: 1,
  });
  await expect(generate).toHaveAttribute('aria-disabled', 'true');
  // Focus stays on the button the shopper pressed (aria-disabled keeps it focusable).
  expect(await generate.evaluate((button) => (button.getRootNode() as ShadowRoot).activeElement === button)).toBe(true);

  socket.send({ type: 'accepted', ref: request.ref, id: 'job_1', seq: 1, cost: { credits: 2 } });
  socket.send({ type: 'queued', id: 'job_1', seq: 2, position: 1, etaSeconds: null, runners: 0 });
  await expect(announcer(page)).toHaveText('Your request is in the queue.');
  await expect(status).toHaveText('Waiting for a GPU to come online — your request is saved and will start automatically.');
  socket.send({ type: 'queued', id: 'job_1', seq: 3, position: 2, etaSeconds: 30, runners: 1 });
  await expect(status).toHaveText('In queue — position 2 (about 30 seconds)');

  socket.send({ type: 'progress', id: 'job_1', seq: 4, step: 12, steps: 30, stage: 'sampling' });
  await expect(status).toHaveText('Generating… step 12 of 30');
  await expect(announcer(page)).toHaveText('Generating your picture…');
  await expect(progress).toHaveAttribute('aria-valuenow', '12');
  await expect(progress).toHaveAttribute('aria-valuemax', '30');
  await expect(generate).toHaveAttribute('aria-disabled', 'true');
  socket.send({ type: 'progress', id: 'job_1', seq: 5, step: 15, steps: 30, stage: 'sampling' });
  await expect(status).toHaveText('Generating… step 15 of 30');
  await expect(announcer(page)).toHaveText('Halfway there…');

  const image = (id: string) => ({ id, url: '/pixel.png', width: 1152, height: 896, format: 'png' as const });
  socket.send({ type: 'completed', id: 'job_1', seq: 6, images: [image('img_1'), image('img_2')] });
  const results = part(page, 'result');
  await expect(results).toHaveCount(2);
  await expect(results.first()).toHaveAttribute('width', '1152');
  await expect(results.first()).toHaveAttribute('height', '896');
  await expect(results.first()).toHaveAttribute('alt', 'a walnut lamp, morning light (1 of 2)');
  await expect(results.first()).toHaveAttribute('src', `${site.origin}/pixel.png`);
  await expect(progress).toHaveAttribute('aria-valuenow', '30');
  await expect(generate).toHaveAttribute('aria-disabled', 'false');
  await expect(announcer(page)).toHaveText('Done — 2 pictures are ready; pick the one you like.');

  await results.nth(1).click();
  await expect(page.locator('atelier-studio .studio__pick').nth(1)).toHaveAttribute('aria-pressed', 'true');
  await expect(announcer(page)).toHaveText('Picture 2 selected.');

  const fired = await events(page);
  expect(fired.map((event) => event.type)).toEqual([
    'atelier-start',
    'atelier-progress',
    'atelier-progress',
    'atelier-complete',
    'atelier-select',
  ]);
  expect(fired[0]!.detail).toEqual({ jobId: 'job_1', ref: request.ref, prompt: 'a walnut lamp, morning light', credits: 2 });
  expect(fired[1]!.detail).toEqual({ jobId: 'job_1', step: 12, steps: 30, stage: 'sampling' });
  expect(fired[3]!.detail['images']).toHaveLength(2);
  expect(fired[4]!.detail).toEqual({ image: { ...image('img_2'), url: `${site.origin}/pixel.png` } });
  expect(await page.evaluate(() => document.querySelector('atelier-studio')!.selectedImage?.id)).toBe('img_2');
});

test('explains a rejected request in its own words for the code, then lets the shopper retry', async ({ page }) => {
  const sockets = await scriptSockets(page);
  await page.goto(site.page('/rejected', studioPage(`publishable-key="${KEY}"`)));
  await expect.poll(() => sockets[0]?.received.length).toBe(1);
  await part(page, 'prompt').fill('a lamp');
  await part(page, 'generate').click();
  await expect.poll(() => sockets[0]!.received[1]?.type).toBe('generate');
  const request = sockets[0]!.received[1]!;
  if (request.type !== 'generate') throw new Error('expected generate');

  // The registry names the shopper's message for each code; the server's words are English
  // and meant for developers.
  sockets[0]!.send({ type: 'error', ref: request.ref, code: 'rate_limited', message: 'tenant ten_x: 10/min', retryAfter: 5 });
  const shown = 'Too many requests right now. Please try again in a moment.';
  await expect(part(page, 'error')).toHaveText(shown);
  await expect(part(page, 'generate')).toBeEnabled();
  expect(await events(page)).toEqual([{ type: 'atelier-error', detail: { jobId: null, code: 'rate_limited', message: shown } }]);
});

test('says when the studio is unreachable and keeps retrying', async ({ page }) => {
  const port = await closedPort();
  await page.goto(site.page('/unreachable', studioPage(`publishable-key="${KEY}" server="http://127.0.0.1:${port}"`)));
  const status = part(page, 'status');
  await expect(status).toHaveText(/^Can't reach the studio — retrying in \d+ seconds?$/);
  const attempts = () =>
    page.evaluate(() => {
      const state = document.querySelector('atelier-studio')!.connectionState;
      return 'attempt' in state ? state.attempt : 0;
    });
  await expect.poll(attempts, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
  await expect(status).toHaveText(/^(Can't reach the studio — retrying in \d+ seconds?|Reconnecting to the studio…)$/);
  await expect(part(page, 'generate')).toBeEnabled(); // a request made now waits for the connection
});

test('stops and explains when the server refuses the key', async ({ page }) => {
  const sockets: string[] = [];
  await page.routeWebSocket(/\/v1\/realtime/, (route) => {
    sockets.push(route.url());
    route.onMessage(() => {
      route.send(JSON.stringify({ type: 'error', code: 'unauthorized', message: 'This website is not allowed.' }));
      void route.close({ code: 4401, reason: 'unauthorized' });
    });
  });
  await page.goto(site.page('/refused', studioPage(`publishable-key="pk_test_revoked"`)));
  await expect(part(page, 'error')).toHaveText(/not available on this site/);
  await expect(part(page, 'generate')).toBeDisabled();
  await page.waitForTimeout(1500); // longer than the first backoff delay
  expect(sockets).toHaveLength(1);
  expect((await events(page)).map((event) => event.detail['code'])).toEqual(['unauthorized']);
  const state = await page.evaluate(() => document.querySelector('atelier-studio')!.connectionState);
  expect(state).toEqual({ status: 'refused', code: 4401, reason: 'This website is not allowed.' });
});

test('explains a missing publishable key instead of connecting', async ({ page }) => {
  const sockets = await scriptSockets(page);
  await page.goto(site.page('/no-key', studioPage('')));
  await expect(part(page, 'error')).toHaveText(/no publishable key/);
  await expect(part(page, 'generate')).toBeDisabled();
  await page.waitForTimeout(300);
  expect(sockets).toHaveLength(0);
});

/** WCAG contrast ratio of two `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (color: string) => {
    const [r, g, b] = color.match(/\d+/g)!.map((v) => {
      const c = Number(v) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

test("keeps the Generate button's text legible on any accent, unless the page chose its text colour", async ({ page }) => {
  await scriptSockets(page);
  await page.goto(site.page('/contrast', studioPage(`publishable-key="${KEY}"`)));
  const generate = part(page, 'generate');
  // As sRGB bytes, whatever space the browser computes them in (oklch, color(srgb …)): drawn to a canvas.
  const colours = () =>
    generate.evaluate((button) => {
      const context = document.createElement('canvas').getContext('2d')!;
      return [getComputedStyle(button).color, getComputedStyle(button).backgroundColor].map((colour) => {
        context.fillStyle = colour;
        context.fillRect(0, 0, 1, 1);
        const [r, g, b] = context.getImageData(0, 0, 1, 1).data;
        return `rgb(${r}, ${g}, ${b})`;
      });
    });
  // The demo's old accent (white on it was 4.33:1), the defaults, and colours near the black/white boundary.
  for (const accent of [
    '#b5651d',
    '#4f46e5',
    '#818cf8',
    '#767676',
    '#777777',
    '#00ff00',
    'oklch(0.6 0.2 30)',
    'hsl(200 80% 45%)',
  ]) {
    await page
      .locator('atelier-studio')
      .evaluate((element, value) => element.style.setProperty('--atelier-accent', value), accent);
    await expect
      .poll(async () => contrast(...((await colours()) as [string, string])), { message: accent })
      .toBeGreaterThanOrEqual(4.5);
  }
  await page.addStyleTag({ content: ':root { --atelier-accent-contrast: rgb(1, 2, 3); }' });
  await expect.poll(async () => (await colours())[0]).toBe('rgb(1, 2, 3)');
});

import { axeViolations } from '@atelier/testing/axe';
import { expect, test } from '@playwright/test';
import { CONFIG, KEY, part, scriptSockets, studioPage } from './helpers.js';
import { type StaticServer, startStaticServer } from './static-server.js';

let site: StaticServer;

test.beforeAll(async () => {
  site = await startStaticServer();
});

test.afterAll(async () => {
  await site.close();
});

const OPTIONS_CONFIG = {
  ...CONFIG,
  styles: ['Studio White', 'Studio Pastel', 'Loft Interior'],
  defaultStyles: ['Studio Pastel'],
  performances: ['speed', 'quality'],
  aspectRatios: ['1024x1024', '896x1152', '1152x896'],
  maxImages: 4,
};

for (const theme of ['light', 'dark'] as const) {
  test(`axe finds nothing in the ${theme} theme, idle, with options open, waiting, with results and after an error`, async ({
    page,
  }) => {
    const sockets = await scriptSockets(page, OPTIONS_CONFIG);
    await page.goto(
      site.page(`/axe-${theme}`, studioPage(`publishable-key="${KEY}" theme="${theme}" product-title="Walnut lamp"`)),
    );
    await expect.poll(() => sockets[0]?.received.length).toBe(1);
    await expect(part(page, 'styles')).toBeVisible();
    expect(await axeViolations(page), 'idle').toEqual([]);

    await page.getByText('More options').click();
    await expect(page.getByRole('group', { name: 'Shape' })).toBeVisible();
    expect(await axeViolations(page), 'options open').toEqual([]);

    const socket = sockets[0]!;
    await part(page, 'prompt').fill('a walnut lamp');
    await part(page, 'generate').click();
    await expect.poll(() => socket.received[1]?.type).toBe('generate');
    const request = socket.received[1]!;
    if (request.type !== 'generate') throw new Error('expected generate');
    socket.send({ type: 'accepted', ref: request.ref, id: 'job_1', seq: 1, cost: { credits: 2 } });
    socket.send({ type: 'progress', id: 'job_1', seq: 2, step: 3, steps: 8, stage: 'sampling' });
    await expect(part(page, 'status')).toHaveText('Generating… step 3 of 8');
    expect(await axeViolations(page), 'running').toEqual([]);

    const image = (id: string) => ({ id, url: '/pixel.png', width: 1024, height: 1024, format: 'png' as const });
    socket.send({ type: 'completed', id: 'job_1', seq: 3, images: [image('img_1'), image('img_2')] });
    await expect(part(page, 'result')).toHaveCount(2);
    await part(page, 'result').first().click();
    expect(await axeViolations(page), 'results').toEqual([]);

    await part(page, 'prompt').fill('another lamp');
    await part(page, 'generate').click();
    await expect.poll(() => socket.received[2]?.type).toBe('generate');
    const second = socket.received[2]!;
    if (second.type !== 'generate') throw new Error('expected generate');
    socket.send({ type: 'error', ref: second.ref, code: 'content_policy', message: 'refused' });
    await expect(part(page, 'error')).toBeVisible();
    expect(await axeViolations(page), 'error').toEqual([]);
  });
}

test('launcher mode: a floating button opens a modal studio that keeps focus, closes on Esc and gives focus back', async ({
  page,
}) => {
  const sockets = await scriptSockets(page, OPTIONS_CONFIG);
  const before = '<button id="page-before">Before</button>';
  const after = '<button id="page-after">After</button>';
  await page.goto(
    site.page('/launcher', studioPage(`publishable-key="${KEY}" mode="launcher"`).replace('<body>', `<body>${before}${after}`)),
  );
  await expect.poll(() => sockets[0]?.received.length).toBe(1);
  const launcher = part(page, 'launcher');
  await expect(launcher).toBeVisible();
  await expect(part(page, 'base')).toBeHidden();
  // The element itself takes no room on the page: nothing shifts when it appears.
  expect(await page.locator('atelier-studio').evaluate((element) => element.getBoundingClientRect().height)).toBe(0);
  expect(await axeViolations(page), 'closed').toEqual([]);

  await page.locator('#page-after').focus();
  await page.keyboard.press('Tab');
  await expect(launcher).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(part(page, 'dialog')).toBeVisible();
  await expect(part(page, 'prompt')).toBeFocused();
  expect(await axeViolations(page), 'open').toEqual([]);

  // Tabbing round never reaches the page behind the dialog.
  const outside: string[] = [];
  for (let i = 0; i < 25; i += 1) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.id ?? '');
    if (id.startsWith('page-')) outside.push(id);
  }
  expect(outside).toEqual([]);

  await page.keyboard.press('Escape');
  await expect(part(page, 'dialog')).toBeHidden();
  await expect(launcher).toBeFocused();
});

test('axe finds nothing in Japanese with a tenant theme applied, idle, with options open and after an error', async ({
  page,
}) => {
  const sockets = await scriptSockets(page, {
    ...OPTIONS_CONFIG,
    branding: {
      colors: { accent: '#b5651d', accentContrast: '#ffffff', background: '#fdf8f3', text: '#2b1d12', muted: '#6b5a4b' },
      fontFamily: 'Georgia, serif',
      radius: 4,
      density: null,
      logoUrl: null,
      strings: { ja: { generate: 'シーンを作る' } },
    },
  });
  await page.goto(site.page('/axe-ja', studioPage(`publishable-key="${KEY}" locale="ja" product-title="ランプ"`)));
  await expect(part(page, 'generate')).toHaveText('シーンを作る');
  await expect
    .poll(() => part(page, 'generate').evaluate((button) => getComputedStyle(button).backgroundColor))
    .toBe('rgb(181, 101, 29)');
  expect(await axeViolations(page), 'idle').toEqual([]);

  await page.getByText('その他のオプション').click();
  await expect(page.getByRole('group', { name: '縦横比' })).toBeVisible();
  expect(await axeViolations(page), 'options open').toEqual([]);

  const socket = sockets[0]!;
  await part(page, 'prompt').fill('木のテーブルの上のランプ');
  await part(page, 'generate').click();
  await expect.poll(() => socket.received[1]?.type).toBe('generate');
  const request = socket.received[1]!;
  if (request.type !== 'generate') throw new Error('expected generate');
  socket.send({ type: 'error', ref: request.ref, code: 'content_policy', message: 'refused' });
  await expect(part(page, 'error')).toHaveText('この説明はここでは使えません。別の説明をお試しください。');
  expect(await axeViolations(page), 'error').toEqual([]);
});

test('axe finds nothing right to left (dir="rtl" on the element), idle and with options open', async ({ page }) => {
  const sockets = await scriptSockets(page, OPTIONS_CONFIG);
  await page.goto(site.page('/axe-rtl', studioPage(`publishable-key="${KEY}" dir="rtl"`)));
  await expect.poll(() => sockets[0]?.received.length).toBe(1);
  await expect(part(page, 'styles')).toBeVisible();
  expect(await part(page, 'base').evaluate((base) => getComputedStyle(base).direction)).toBe('rtl');
  expect(await axeViolations(page), 'idle').toEqual([]);
  await page.getByText('More options').click();
  await expect(page.getByRole('group', { name: 'Shape' })).toBeVisible();
  expect(await axeViolations(page), 'options open').toEqual([]);
});

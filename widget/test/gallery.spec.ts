import type { ClientMessage, PublicImage } from '@atelier/protocol';
import { expect, test, type Page } from '@playwright/test';
import { KEY, events, part, scriptSockets, studioPage, type ScriptedSocket, useStaticSite } from './helpers.js';

/**
 * The gallery's states, driven through a scripted socket (the real round trips are
 * demo/test/result-actions.spec.ts's): remembered pictures restored, a refused watch
 * forgetting its picture, signed links refreshed before they expire, and "Try again"
 * offered only where trying again can help.
 */
const files = useStaticSite();

/** Where the studio remembers an anonymous shopper's pictures for KEY (recent-results.ts). */
const SLOT = `atelier-recent:${KEY}:anonymous`;
const REMEMBERED = [
  { id: 'gen_lamp', session: 'token-day-1', prompt: 'a walnut lamp' },
  { id: 'gen_vase', session: 'token-day-2', prompt: 'a linen vase' },
];

/** A picture at the static server, its signed link ending `expiresIn` seconds from now. */
function image(id: string, expiresIn: number, version = 1): PublicImage {
  const expires = Math.floor(Date.now() / 1000) + expiresIn;
  return { id, url: `${files.site.origin}/pixel.png?expires=${expires}&v=${version}`, width: 1024, height: 1024, format: 'png' };
}

/** A page whose storage already remembers `entries` (a returning shopper). */
async function returning(page: Page, path: string, entries = REMEMBERED): Promise<ScriptedSocket[]> {
  await page.addInitScript(([slot, list]) => localStorage.setItem(slot, list), [SLOT, JSON.stringify(entries)] as const);
  const sockets = await scriptSockets(page);
  await page.goto(files.site.page(path, studioPage(`publishable-key="${KEY}"`)));
  return sockets;
}

type Watch = Extract<ClientMessage, { type: 'watch' }>;
const watches = (socket: ScriptedSocket | undefined, id: string): Watch[] =>
  (socket?.received ?? []).filter((message): message is Watch => message.type === 'watch' && message.id === id);

const tiles = (page: Page) => page.locator('atelier-studio .studio__tile');
const remembered = (page: Page) =>
  page.evaluate((slot) => (JSON.parse(localStorage.getItem(slot) ?? '[]') as { id: string }[]).map((entry) => entry.id), SLOT);
/** The link the host page was handed with the last `atelier-select`. */
const pickedUrl = async (page: Page) =>
  ((await events(page)).findLast((event) => event.type === 'atelier-select')?.detail['image'] as PublicImage | undefined)?.url;
const galleryHeight = (page: Page) => part(page, 'gallery').evaluate((element) => element.getBoundingClientRect().height);

test('remembered pictures hold their places from the first render and come back with the links watch answers', async ({
  page,
}) => {
  const sockets = await returning(page, '/restored');
  // Placeholders first, one per remembered picture, in the gallery's final height.
  await expect(tiles(page)).toHaveCount(2);
  await expect(page.locator('atelier-studio .studio__tile--loading')).toHaveCount(2);
  const placeholders = await galleryHeight(page);
  const studio = await page.locator('atelier-studio').evaluate((element) => element.getBoundingClientRect().height);

  // Each is asked for with the token of the session that made it.
  await expect
    .poll(() => watches(sockets[0], 'gen_lamp'))
    .toEqual([{ type: 'watch', id: 'gen_lamp', session: 'token-day-1', ref: expect.any(String) }]);
  await expect.poll(() => watches(sockets[0], 'gen_vase')).toHaveLength(1);
  expect(watches(sockets[0], 'gen_vase')[0]).toMatchObject({ session: 'token-day-2' });
  const lamp = image('img_lamp', 900);
  sockets[0]!.send({ type: 'completed', id: 'gen_lamp', seq: 1, images: [lamp] });
  sockets[0]!.send({ type: 'completed', id: 'gen_vase', seq: 2, images: [image('img_vase', 900), image('img_vase2', 900)] });

  await expect(part(page, 'recent')).toHaveCount(3);
  await expect(part(page, 'recent').first()).toHaveAttribute('src', lamp.url);
  await expect(part(page, 'recent').first()).toHaveAttribute('alt', 'a walnut lamp');
  await expect(page.locator('atelier-studio .studio__tile--loading')).toHaveCount(0);
  // Pictures with their actions take the placeholders' room exactly: nothing below moves.
  expect(await galleryHeight(page)).toBe(placeholders);
  expect(await page.locator('atelier-studio').evaluate((element) => element.getBoundingClientRect().height)).toBe(studio);
});

test('a watch the server refuses forgets its picture; one refused for now keeps it for the next page', async ({ page }) => {
  const sockets = await returning(page, '/refused');
  await expect.poll(() => watches(sockets[0], 'gen_vase')).toHaveLength(1);
  await expect.poll(() => watches(sockets[0], 'gen_lamp')).toHaveLength(1);
  const [vase] = watches(sockets[0], 'gen_vase');
  const [lamp] = watches(sockets[0], 'gen_lamp');

  sockets[0]!.send({ type: 'error', ref: vase!.ref!, code: 'not_found', message: 'The generation was not found.' });
  await expect(tiles(page)).toHaveCount(1);
  await expect.poll(() => remembered(page)).toEqual(['gen_lamp']);

  sockets[0]!.send({ type: 'error', ref: lamp!.ref!, code: 'rate_limited', message: 'Too many requests.', retryAfter: 5 });
  await expect(tiles(page)).toHaveCount(0);
  expect(await remembered(page)).toEqual(['gen_lamp']);
});

test('signed links are asked for again before they expire, and the actions use the fresh ones', async ({ page }) => {
  const sockets = await returning(page, '/refresh', [REMEMBERED[0]!]);
  await expect.poll(() => watches(sockets[0], 'gen_lamp')).toHaveLength(1);
  const dying = image('img_lamp', 4);
  sockets[0]!.send({ type: 'completed', id: 'gen_lamp', seq: 1, images: [dying] });
  await expect(part(page, 'recent')).toHaveAttribute('src', dying.url);

  // Halfway through the links' life the studio watches again, with the same proof.
  await expect.poll(() => watches(sockets[0], 'gen_lamp'), { timeout: 10_000 }).toHaveLength(2);
  expect(watches(sockets[0], 'gen_lamp')[1]).toMatchObject({ session: 'token-day-1' });
  const fresh = image('img_lamp', 900, 2);
  sockets[0]!.send({ type: 'completed', id: 'gen_lamp', seq: 2, images: [fresh] });
  await expect(part(page, 'recent')).toHaveAttribute('src', fresh.url);
  await expect(page.locator('atelier-studio .studio__tile a[part~="action"]')).toHaveAttribute('href', fresh.url);

  // "Use this picture" hands the host page the fresh link.
  await page.locator('atelier-studio .studio__tile').getByRole('button', { name: 'Use this picture' }).click();
  expect(await pickedUrl(page)).toBe(fresh.url);
});

test('a picture made on this page gets fresh links too, and picking it on the canvas hands over the fresh one', async ({
  page,
}) => {
  const sockets = await scriptSockets(page);
  await page.goto(files.site.page('/refresh-canvas', studioPage(`publishable-key="${KEY}"`)));
  await part(page, 'prompt').fill('a copper kettle');
  await part(page, 'generate').click();
  await expect.poll(() => sockets[0]?.received.find((message) => message.type === 'generate')).toBeTruthy();
  const { ref } = sockets[0]!.received.find((message) => message.type === 'generate')!;
  sockets[0]!.send({ type: 'accepted', ref, id: 'gen_kettle', seq: 1, cost: { credits: 1 } });
  sockets[0]!.send({ type: 'completed', ref, id: 'gen_kettle', seq: 2, images: [image('img_kettle', 4)] });
  await expect(part(page, 'result')).toHaveCount(1);

  // Watched again with this page's own session token, before the link dies.
  await expect.poll(() => watches(sockets[0], 'gen_kettle'), { timeout: 10_000 }).toHaveLength(1);
  expect(watches(sockets[0], 'gen_kettle')[0]).toMatchObject({ session: 'sess-1' });
  const fresh = image('img_kettle', 900, 2);
  sockets[0]!.send({ type: 'completed', id: 'gen_kettle', seq: 3, images: [fresh] });
  await expect(part(page, 'recent')).toHaveAttribute('src', fresh.url);

  await part(page, 'result').click();
  expect(await pickedUrl(page)).toBe(fresh.url);
});

for (const { code, retry } of [
  { code: 'runner_lost', retry: true },
  { code: 'rate_limited', retry: true },
  { code: 'content_policy', retry: false },
  { code: 'insufficient_credits', retry: false },
] as const) {
  test(`"Try again" ${retry ? 'shows' : 'does not show'} after ${code}`, async ({ page }) => {
    const sockets = await scriptSockets(page);
    await page.goto(files.site.page(`/retry-${code}`, studioPage(`publishable-key="${KEY}"`)));
    await part(page, 'prompt').fill('a teapot on a shelf');
    await part(page, 'generate').click();
    await expect.poll(() => sockets[0]?.received.find((message) => message.type === 'generate')).toBeTruthy();
    const first = sockets[0]!.received.find((message) => message.type === 'generate')!;
    if (code === 'rate_limited') {
      sockets[0]!.send({ type: 'error', ref: first.ref, code, message: 'Too many requests.', retryAfter: 5 });
    } else {
      sockets[0]!.send({ type: 'accepted', ref: first.ref, id: 'gen_tea', seq: 1, cost: { credits: 1 } });
      sockets[0]!.send({ type: 'failed', id: 'gen_tea', seq: 2, code, message: 'It failed.' });
    }
    await expect(part(page, 'error')).toBeVisible();
    if (!retry) {
      // The error is the way on: a refused description marks the field to change.
      await expect(part(page, 'retry')).toHaveCount(0);
      await expect(part(page, 'prompt')).toHaveAttribute('aria-invalid', code === 'content_policy' ? 'true' : 'false');
      return;
    }
    await part(page, 'retry').click();
    await expect
      .poll(() => sockets[0]!.received.filter((message) => message.type === 'generate'))
      .toEqual([first, { type: 'generate', ref: expect.not.stringMatching(`^${first.ref}$`), params: first.params }]);
  });
}

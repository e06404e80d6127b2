import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { ServerMessage } from '@atelier/protocol';
import { startDemoStack, type DemoStack, type DemoTenant } from '@atelier/demo';
import { RealtimeTap, type TapRules } from './realtime-tap.js';
import { generationIds, productPage, studio } from './storefront-helpers.js';

/**
 * Resume never strands a shopper (issue 5, §4), in a real browser on real parts: the
 * widget's socket is cut (or a message lost) at one point of a real generation, and the
 * shopper still ends with the picture on screen, one job, and one `atelier-complete`.
 */
let stack: DemoStack;
let dataDir: string;
let tenant: DemoTenant;
let storefront: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-resume-'));
  stack = await startDemoStack({ dataDir, port: 0, storefrontPort: 0, engine: 'ferretdb' });
  tenant = stack.manifest.tenants[0]!;
  // The first shop's first product page: its studio is inline.
  storefront = productPage(stack);
});

test.afterAll(async () => {
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const jobIdsIn = (messages: ServerMessage[]) => [
  ...new Set(messages.flatMap((message) => ('id' in message ? [message.id] : []))),
];

/**
 * Each case: where the tap interferes, how it shows on the first connection, how often
 * the server got the request (the widget sends it again only when no answer came), and
 * whether `atelier-start` fired (it reports the `accepted`, with the credits in it).
 */
const cases: { name: string; rules: TapRules; check: (tap: RealtimeTap) => void; generates: number; starts?: number }[] = [
  {
    name: 'the connection drops right after generate is sent, before accepted',
    rules: { fromPage: (message) => (message.type === 'generate' ? 'forward-then-cut' : 'forward') },
    check: (tap) => expect(tap.connections[0]!.delivered.map((message) => message.type)).toEqual(['welcome']),
    generates: 2,
  },
  {
    // The job's own events (they carry the ref) answer the request instead.
    name: 'accepted is lost and the connection stays',
    rules: { fromServer: (message) => (message.type === 'accepted' ? 'swallow' : 'forward') },
    check: (tap) => expect(tap.connections.flatMap((c) => c.delivered).map((message) => message.type)).not.toContain('accepted'),
    generates: 1,
    starts: 0,
  },
  {
    name: 'the connection drops right after accepted',
    rules: { fromServer: (message) => (message.type === 'accepted' ? 'forward-then-cut' : 'forward') },
    check: (tap) => expect(tap.connections[0]!.delivered.at(-1)?.type).toBe('accepted'),
    generates: 1,
  },
  {
    name: 'the connection drops after the first progress',
    rules: { fromServer: (message) => (message.type === 'progress' ? 'forward-then-cut' : 'forward') },
    check: (tap) => expect(tap.connections[0]!.delivered.at(-1)?.type).toBe('progress'),
    generates: 1,
  },
  {
    name: 'the connection drops just before completed reaches the page',
    rules: { fromServer: (message) => (message.type === 'completed' ? 'cut' : 'forward') },
    check: (tap) => expect(tap.connections[0]!.delivered.map((message) => message.type)).not.toContain('completed'),
    generates: 1,
  },
];

for (const { name, rules, check, generates, starts = 1 } of cases) {
  test(`${name}: the picture still arrives, from one job, completing once`, async ({ page }) => {
    const ui = studio(page);
    const tap = await RealtimeTap.install(page, rules);
    const before = await generationIds(stack, tenant);
    await page.goto(storefront);
    await ui.prompt.fill('the arc desk lamp on an oak sideboard, evening light');
    await ui.generate.click();

    await expect(ui.results.first()).toBeVisible({ timeout: 90_000 });
    await expect
      .poll(() => ui.results.first().evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0))
      .toBe(true);
    await expect(ui.error).toBeHidden();
    await expect(ui.generate).toBeEnabled();
    check(tap);

    // One job: the server made exactly one, and every message on every socket was about it.
    const after = await generationIds(stack, tenant);
    expect(after.filter((id) => !before.includes(id))).toHaveLength(1);
    expect(after).toHaveLength(before.length + 1);
    const [jobId] = after.filter((id) => !before.includes(id));
    expect(jobIdsIn(tap.connections.flatMap((connection) => connection.delivered))).toEqual([jobId]);

    // Drop once more: the widget resumes and is sent the finished job again. Once it has
    // handled that, it has handled everything before it, and fired nothing twice.
    const sockets = tap.connections.length;
    await tap.connections.at(-1)!.cut();
    await expect
      .poll(
        async () =>
          (await tap.handled()).some(
            ({ socket, message }) => socket > sockets && message.type === 'completed' && message.id === jobId,
          ),
        {
          timeout: 20_000,
        },
      )
      .toBe(true);
    expect(await tap.fired('atelier-complete')).toEqual([jobId]);
    expect(await tap.fired('atelier-start')).toEqual(Array(starts).fill(jobId));
    await expect(ui.results).toHaveCount(1);
    await expect(ui.generate).toBeEnabled();
    expect(await generationIds(stack, tenant)).toHaveLength(before.length + 1);
    const sent = tap.connections.flatMap((connection) => connection.sent);
    expect(sent.filter((message) => message.type === 'generate')).toHaveLength(generates);

    // The widget handled exactly what reached the page on each closed socket.
    const handled = await tap.handled();
    tap.connections.slice(0, -1).forEach((connection, index) => {
      expect(handled.filter(({ socket }) => socket === index + 1).map(({ message }) => message)).toEqual(connection.delivered);
    });
  });
}

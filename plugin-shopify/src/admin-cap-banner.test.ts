import { chromium, type Browser, type Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminRequest, shopperGenerates, startShopifyTestApp, type ShopifyTestApp } from '@atelier/testing';
import { cycleOf } from './billing/usage-charges.js';

/**
 * The embedded admin's cap banner in Chromium: the fake Shopify admin frames the app's
 * page (its App Bridge stand-in hands out session tokens), against the real server.
 */
let app: ShopifyTestApp;
let browser: Browser;
const SHOP = 'cap-banner.myshopify.com';

const api = (path: string, method = 'GET', body?: unknown) =>
  fetch(`${app.server.url}/shopify/api/${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${app.shopify.signer.sessionToken({ shop: SHOP })}`,
      'Content-Type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** The admin page as the merchant sees it, once it has shown the shop's billing. */
async function openAdmin(page: Page) {
  await page.goto(app.shopify.adminUrl(SHOP));
  const frame = page.frameLocator('#app');
  await vi.waitFor(async () => expect(await frame.locator('#billing-used').textContent()).toBe('49.95 of 50'), {
    timeout: 15_000,
  });
  return frame.locator('#cap-banner');
}

beforeAll(async () => {
  app = await startShopifyTestApp({ fakeAppBridge: true });
  // No included credits: every credit a job needs is bought as usage, within the cap.
  for (const plan of ['free', 'basic']) {
    expect((await adminRequest(app.server.url, 'PUT', `/admin/v1/plans/${plan}`, { monthlyCredits: 0 })).status).toBe(200);
  }
  app.shopify.addShop(SHOP, { name: 'Cap Banner Goods' });
  expect((await api('shop')).status).toBe(200);
  const { confirmationUrl } = (await (await api('billing/subscribe', 'POST', { plan: 'basic' })).json()) as {
    confirmationUrl: string;
  };
  expect((await fetch(await app.shopify.billing.approve(confirmationUrl), { redirect: 'manual' })).status).toBe(302);
  const { Subscription, UsageCharge } = app.server.shopify!.models;
  const subscription = (await Subscription.findOne({ shop: SHOP, status: 'ACTIVE' }).lean())!;
  // Earlier usage this period, billed already: 4.95 $ under the 50 $ cap leaves room for one 5-cent credit.
  const cycle = cycleOf(subscription, new Date());
  await UsageCharge.create({
    _id: `${subscription._id}:${cycle}:1`,
    subscriptionId: subscription._id,
    cycle,
    seq: 1,
    shop: SHOP,
    tenantId: subscription.tenantId,
    jobId: 'gen_earlier-usage',
    credits: 999,
    cents: 4995,
    totalCents: 4995,
    entryId: 'earlier-usage-entry',
    status: 'sent',
    usageRecordId: 'gid://shopify/AppUsageRecord/earlier',
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe("the admin's billing figures", () => {
  it("shows when Shopify's billing period ends, when the cap and the plan's credits start again", async () => {
    const { periodEnd } = (await (await api('billing')).json()) as { periodEnd: string | null };
    expect(Date.parse(periodEnd!)).toBeGreaterThan(Date.now());
    const page = await browser.newPage({ locale: 'en-US' });
    try {
      await openAdmin(page);
      const shown = await page.frameLocator('#app').locator('#billing-period-end').textContent();
      expect(shown).toBe(new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(periodEnd!)));
    } finally {
      await page.close();
    }
  });
});

describe("the admin's cap banner", () => {
  it('stays hidden while the cap has room, and appears once a job was refused for it', async () => {
    const page = await browser.newPage();
    try {
      const banner = await openAdmin(page);
      expect(await banner.isHidden()).toBe(true);

      // A shopper's two-credit picture would pass the cap: refused before it exists.
      const refused = await shopperGenerates({
        serverUrl: app.server.url,
        signer: app.shopify.signer,
        shop: SHOP,
        customerId: '42',
        params: { prompt: 'a copper kettle', performance: 'quality' },
      });
      expect(refused).toMatchObject({ code: 'insufficient_credits', reason: 'usage_cap_reached' });

      const after = await openAdmin(page);
      await vi.waitFor(async () => expect(await after.isVisible()).toBe(true));
      expect(await after.getAttribute('role')).toBe('alert');
      expect(await after.textContent()).toMatch(/usage cap for this billing period is reached: new pictures are refused/);
    } finally {
      await page.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsSystem } from '@atelier/server';
import { startShopifyTestApp, TEST_SHOPIFY_API_KEY, type ShopifyTestApp } from '@atelier/testing';

let app: ShopifyTestApp;
const SHOP = 'oauth-test.myshopify.com';
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

beforeAll(async () => {
  app = await startShopifyTestApp();
  app.shopify.addShop(SHOP, { name: 'OAuth Outfitters' });
});

afterAll(async () => {
  await app?.stop();
});

interface Grant {
  /** The callback URL Shopify sent the merchant back to. */
  callback: URL;
  /** The state cookies the app set when the grant began. */
  cookie: string;
}

/** The merchant's browser: starts the grant at the app, approves at Shopify, and is sent back. */
async function approve(shop = SHOP): Promise<Grant> {
  const begin = await fetch(`${app.server.url}/shopify/auth?shop=${shop}`, {
    redirect: 'manual',
    headers: { 'User-Agent': BROWSER },
  });
  expect(begin.status).toBe(302);
  const authorize = new URL(begin.headers.get('location')!);
  expect(authorize.origin).toBe(`https://${shop}`);
  expect(authorize.pathname).toBe('/admin/oauth/authorize');
  const cookie = begin.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
  // Shopify's authorize page, reached at the fake (the browser would go to the shop's domain).
  const approved = await fetch(`${app.shopify.origin}${authorize.pathname}${authorize.search}`, {
    redirect: 'manual',
    headers: { 'X-Forwarded-Host': shop },
  });
  expect(approved.status).toBe(302);
  return { callback: new URL(approved.headers.get('location')!), cookie };
}

const callback = (url: URL | string, cookie: string) =>
  fetch(url, { redirect: 'manual', headers: { 'User-Agent': BROWSER, Cookie: cookie } });

const shopRecord = (shop = SHOP) => app.server.shopify!.models.Shop.findById(shop).lean();

describe('the authorization-code grant', () => {
  it('installs the shop when the merchant comes back with a signed code and the state this browser was given', async () => {
    const grant = await approve();
    expect(grant.callback.searchParams.get('shop')).toBe(SHOP);
    const response = await callback(grant.callback, grant.cookie);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`https://${SHOP}/admin/apps/${TEST_SHOPIFY_API_KEY}`);
    const shop = await shopRecord();
    expect(shop).toMatchObject({ status: 'installed', name: 'OAuth Outfitters' });
    const tenant = await runAsSystem('test: tenant', () => app.server.database.models.Tenant.findById(shop!.tenantId).lean());
    expect(tenant?.status).toBe('active');
    expect(app.shopify.requests.filter((r) => r.detail === 'authorization_code')).toHaveLength(1);
  });

  it('refuses the same callback a second time (the state is spent), asking Shopify nothing', async () => {
    const other = 'oauth-replay.myshopify.com';
    app.shopify.addShop(other);
    const grant = await approve(other);
    expect((await callback(grant.callback, grant.cookie)).status).toBe(302);
    const tenants = await runAsSystem('test: count', () => app.server.database.models.Tenant.countDocuments({}));
    const asked = app.shopify.requests.length;

    const replay = await callback(grant.callback, grant.cookie);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { detail: string }).detail).toContain('already used');
    expect(app.shopify.requests.length).toBe(asked);
    expect(await runAsSystem('test: count', () => app.server.database.models.Tenant.countDocuments({}))).toBe(tenants);
  });

  it('refuses a bad hmac, an unknown state, a state of another shop, another browser and a stale timestamp, with no side effects', async () => {
    const victim = 'oauth-victim.myshopify.com';
    app.shopify.addShop(victim);
    const grant = await approve(victim);
    const params = Object.fromEntries(grant.callback.searchParams);
    const base = `${grant.callback.origin}${grant.callback.pathname}`;
    const { signer } = app.shopify;
    const { hmac: _hmac, ...unsigned } = params;
    const resign = (changes: Record<string, string>) => `${base}?${signer.adminQuery({ ...unsigned, ...changes }).toString()}`;
    const tampered = new URL(grant.callback);
    tampered.searchParams.set('hmac', '0'.repeat(64));
    const otherShopGrant = await approve('oauth-test.myshopify.com');

    const attempts: [string, string, number][] = [
      ['bad hmac', tampered.toString(), 401],
      ['signed with another secret', `${base}?${signer.adminQuery(unsigned, 'not-the-app-secret').toString()}`, 401],
      ['unknown state', resign({ state: 'ab'.repeat(32) }), 401],
      ['stale timestamp', resign({ timestamp: String(Math.floor(Date.now() / 1000) - 3600) }), 401],
      ['evil.com', resign({ shop: 'evil.com' }), 400],
      ['a shop domain inside another host', resign({ shop: `${victim}.evil.com` }), 400],
      ['a shop domain with userinfo', resign({ shop: `${victim}/@evil` }), 400],
    ];
    const asked = app.shopify.requests.length;
    for (const [name, url, status] of attempts) {
      expect((await callback(url, grant.cookie)).status, name).toBe(status);
    }
    // Another shop's grant (its state and its cookie) presented for this shop.
    const foreignState = resign({ state: otherShopGrant.callback.searchParams.get('state')! });
    const foreign = await callback(foreignState, otherShopGrant.cookie);
    expect(foreign.status).toBe(401);
    expect(((await foreign.json()) as { detail: string }).detail).toContain('another shop');
    // The right callback in another browser (no state cookie, or another grant's).
    expect((await callback(grant.callback, '')).status).toBe(401);
    expect((await callback(grant.callback, otherShopGrant.cookie)).status).toBe(401);
    expect(app.shopify.requests.length).toBe(asked);
    expect(await shopRecord(victim)).toBeNull();
    expect(await app.server.shopify!.models.Session.countDocuments({ shop: victim })).toBe(0);

    // None of it spent the merchant's state: their own browser still completes the grant.
    expect((await callback(grant.callback, grant.cookie)).status).toBe(302);
    expect(await shopRecord(victim)).toMatchObject({ status: 'installed' });
  });

  it('refuses to begin for anything but a shop domain', async () => {
    for (const shop of [
      'evil.com',
      'x.myshopify.com.evil.com',
      'x.myshopify.com/@evil',
      'X.MYSHOPIFY.COM',
      '-x.myshopify.com',
      '',
    ]) {
      const response = await fetch(`${app.server.url}/shopify/auth?shop=${encodeURIComponent(shop)}`, {
        redirect: 'manual',
        headers: { 'User-Agent': BROWSER },
      });
      expect(response.status, shop).toBe(400);
    }
    expect(await app.server.shopify!.models.OAuthState.countDocuments({ shop: 'evil.com' })).toBe(0);
  });
});

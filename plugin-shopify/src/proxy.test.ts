import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShopifyTestApp, type ShopifyTestApp } from '@atelier/testing';

let app: ShopifyTestApp;
const SHOP = 'proxy-test.myshopify.com';

beforeAll(async () => {
  app = await startShopifyTestApp();
  app.shopify.addShop(SHOP);
  const token = app.shopify.signer.sessionToken({ shop: SHOP });
  const response = await fetch(`${app.server.url}/shopify/api/shop`, { headers: { Authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`install: ${response.status}`);
});

afterAll(async () => {
  await app?.stop();
});

const proxy = (query: URLSearchParams | string) => fetch(`${app.server.url}/shopify/proxy/session?${query.toString()}`);

describe('the app proxy', () => {
  it('mints a session for a signed request, lists joined with commas as Shopify signs them', async () => {
    const response = await proxy(
      app.shopify.signer.proxyQuery({ shop: SHOP, extra: { variant: ['11', '12'], view: 'product' } }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      token: expect.any(String),
      publishableKey: expect.stringMatching(/^pk_live_/),
    });
  });

  it('believes nothing of a request whose signature does not hold', async () => {
    const { signer } = app.shopify;
    const now = Math.floor(Date.now() / 1000);
    const signed = signer.proxyQuery({ shop: SHOP, loggedInCustomerId: '5' });
    const edit = (name: string, value: string) => {
      const copy = new URLSearchParams(signed);
      copy.set(name, value);
      return copy;
    };
    const unsigned = new URLSearchParams(signed);
    unsigned.delete('signature');
    const attempts: [string, URLSearchParams | string, number][] = [
      ['another customer', edit('logged_in_customer_id', '6'), 401],
      ['another shop', edit('shop', 'bystander.myshopify.com'), 401],
      ['an uppercase signature', edit('signature', signed.get('signature')!.toUpperCase()), 401],
      ['a truncated signature', edit('signature', signed.get('signature')!.slice(0, 32)), 401],
      ['no signature', unsigned, 401],
      ['another secret', signer.proxyQuery({ shop: SHOP, secret: 'someone-elses-secret' }), 401],
      ['91 seconds old', signer.proxyQuery({ shop: SHOP, timestamp: now - 91 }), 401],
      ['from the future', signer.proxyQuery({ shop: SHOP, timestamp: now + 120 }), 401],
      ['evil.com, signed', signer.proxyQuery({ shop: 'evil.com' }), 400],
      ['a shop domain inside another host, signed', signer.proxyQuery({ shop: `${SHOP}.evil.com` }), 400],
      ['a shop domain with userinfo, signed', signer.proxyQuery({ shop: `${SHOP}/@evil` }), 400],
      ['a customer id that is not one, signed', signer.proxyQuery({ shop: SHOP, loggedInCustomerId: '1 OR 1=1' }), 400],
      ['a shop without the app, signed', signer.proxyQuery({ shop: 'not-installed.myshopify.com' }), 404],
    ];
    for (const [name, query, status] of attempts) {
      const response = await proxy(query);
      expect(response.status, name).toBe(status);
      expect(await response.text(), name).not.toContain('token');
    }
  });
});

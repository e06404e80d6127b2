import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REALTIME_PATH, REALTIME_PROTOCOL_VERSION, socketUrl, type ServerMessage } from '@atelier/protocol';
import { serverMessageSchema } from '@atelier/protocol/schemas';
import { SocketProbe, startShopifyTestApp, type ShopifyTestApp } from '@atelier/testing';

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

describe('daily quotas', () => {
  /** A shopper session through the app proxy, as Shopify forwards the storefront's request from `address`. */
  async function session(
    address: string,
    customer?: string,
    shop = SHOP,
  ): Promise<{ token: string; publishableKey: string; shopperId: string; shop: string }> {
    const query = app.shopify.signer.proxyQuery({ shop, ...(customer ? { loggedInCustomerId: customer } : {}) });
    const response = await fetch(`${app.server.url}/shopify/proxy/session?${query.toString()}`, {
      headers: { 'X-Forwarded-For': address },
    });
    expect(response.status).toBe(200);
    return { ...((await response.json()) as { token: string; publishableKey: string; shopperId: string }), shop };
  }

  /** One picture asked for in a new widget socket with that session: `accepted`, or the refusal's code and details. */
  async function generate(
    minted: { token: string; publishableKey: string; shop: string },
    ref: string,
    params: Record<string, unknown> = { prompt: 'a lamp on a desk', performance: 'speed' },
  ) {
    const widget = await SocketProbe.open<ServerMessage>(
      socketUrl(app.server.url, REALTIME_PATH, { key: minted.publishableKey }),
      { Origin: `https://${minted.shop}` },
      serverMessageSchema,
    );
    try {
      widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: minted.token });
      await widget.receive('welcome');
      widget.send({ type: 'generate', ref, params: params as { prompt: string } });
      const answer = await vi.waitFor(() => {
        const [reply] = [...widget.received('accepted'), ...widget.received('error')];
        if (!reply) throw new Error('no answer to the generate yet');
        return reply;
      });
      return answer.type === 'accepted'
        ? 'accepted'
        : { code: answer.code, message: answer.message, retryAfter: answer.retryAfter, reason: answer.reason };
    } finally {
      await widget.close();
    }
  }

  /**
   * A shop of its own for each test, installed, with these quotas: a shop's tenant takes 10
   * requests a minute on the free plan, so no test may run into another's plan limit.
   */
  async function newShop(shop: string, quotas = { guestPerDay: 2, customerPerDay: 1 }): Promise<string> {
    app.shopify.addShop(shop);
    const response = await fetch(`${app.server.url}/shopify/api/quotas`, {
      method: 'PUT',
      headers: {
        Authorization: `Bearer ${app.shopify.signer.sessionToken({ shop })}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(quotas),
    });
    expect(response.status).toBe(200);
    return shop;
  }

  it("counts a guest's pictures per day across sessions: a new session does not start a new quota", async () => {
    const shop = await newShop('quota-guests.myshopify.com');
    const first = await session('203.0.113.7', undefined, shop);
    expect(await generate(first, 'g1')).toBe('accepted');
    expect(await generate(first, 'g2')).toBe('accepted');
    // The guest comes back: a new proxy session and socket, the same guest, the same day.
    const second = await session('203.0.113.7', undefined, shop);
    expect(second.shopperId).toBe(first.shopperId);
    expect(second.shopperId).not.toContain('203.0.113.7');
    const refused = await generate(second, 'g3');
    expect(refused).toEqual({
      code: 'rate_limited',
      message: expect.stringMatching(/today's 2 pictures/),
      retryAfter: expect.any(Number),
      // So the widget says "come back tomorrow", not "a busy moment", and offers no Try again.
      reason: 'daily_quota',
    });
    // Until midnight UTC, when the next day's quota starts.
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    expect((refused as { retryAfter: number }).retryAfter).toBeGreaterThan((midnight.getTime() - Date.now()) / 1000 - 60);
    // Another guest has a quota of their own.
    const other = await session('198.51.100.20', undefined, shop);
    expect(other.shopperId).not.toBe(first.shopperId);
    expect(await generate(other, 'o1')).toBe('accepted');
  });

  it("never passes a guest's quota when sessions generate at the same moment", async () => {
    const shop = await newShop('quota-race.myshopify.com');
    const sessions = await Promise.all([1, 2, 3, 4, 5].map(() => session('192.0.2.50', undefined, shop)));
    const answers = await Promise.all(sessions.map((minted, n) => generate(minted, `race-${n}`)));
    expect(answers.filter((answer) => answer === 'accepted')).toHaveLength(2);
    expect(answers.filter((answer) => answer !== 'accepted')).toEqual(
      Array(3).fill(expect.objectContaining({ code: 'rate_limited', message: expect.stringMatching(/today's 2 pictures/) })),
    );
  });

  it('counts a logged-in customer by customer id, whichever address or session they come with', async () => {
    const shop = await newShop('quota-customers.myshopify.com');
    expect(await generate(await session('203.0.113.7', '4242', shop), 'c1')).toBe('accepted');
    expect(await generate(await session('192.0.2.99', '4242', shop), 'c2')).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/today's 1 pictures/),
    });
    // Another customer at the same address has their own.
    expect(await generate(await session('192.0.2.99', '4343', shop), 'c3')).toBe('accepted');
  });

  it("lets a shopper start a new scene from the shop's product photo on Shopify's CDN", async () => {
    const scene = (url: string) => ({ prompt: 'on a walnut desk', mode: 'background', inputImageUrl: url });
    const shop = await newShop('quota-photos.myshopify.com');
    const minted = await session('192.0.2.77', '6161', shop);
    // The install listed cdn.shopify.com: the server goes to fetch the photo (this machine has
    // no network, so the fetch itself fails), where a host the shop never listed is refused unfetched.
    const cdn = await generate(minted, 'cdn', scene('https://cdn.shopify.com/s/files/1/0001/products/lamp.png'));
    const elsewhere = await generate(minted, 'elsewhere', scene('https://images.elsewhere.example/lamp.png'));
    expect(elsewhere).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/images\.elsewhere\.example is not/),
    });
    expect(cdn).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^The product photo at inputImageUrl could not be fetched .*cdn\.shopify\.com/),
    });
  });
});

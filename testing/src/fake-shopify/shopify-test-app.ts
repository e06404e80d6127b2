import { vi } from 'vitest';
import { startTestServer, type TestServer, type TestServerOptions } from '../test-server.js';
import { FakeShopify, type FakeShop, type FakeShopifyOptions } from './fake-shopify.js';

export const TEST_SHOPIFY_API_KEY = 'atelier-test-client-id';
export const TEST_SHOPIFY_API_SECRET = 'shpss_test-client-secret-0123456789';
export const TEST_SHOPIFY_SCOPES = ['read_products', 'write_products'];
/** 32 bytes, hex: the key shops' tokens are sealed with in tests. */
export const TEST_SHOPIFY_TOKEN_KEY = '9f'.repeat(32);

export interface ShopifyTestApp {
  server: TestServer;
  shopify: FakeShopify;
  /** The Shopify app's variables the server runs with: another process given them (the CLI) reaches the same fake. */
  env: Record<string, string>;
  /** Adds the shop to the fake and installs the app on it (the embedded admin's first request); answers the shop's tenant. */
  install(shop: string, details?: Partial<Omit<FakeShop, 'myshopifyDomain'>>): Promise<string>;
  /** The merchant subscribes to `plan` and approves the charge; answers the subscription's id once the app holds it ACTIVE. */
  subscribe(shop: string, plan: string): Promise<string>;
  /**
   * Closes the server (as a shutdown would) and starts a new one on the same database, data
   * dir and fake; `whileDown` runs in between, with the database's URI.
   */
  restart(whileDown?: (mongodbUri: string) => Promise<void>): Promise<TestServer>;
  stop(): Promise<void>;
}

/**
 * The real server with the Shopify app switched on, talking to a fake Shopify on a
 * port of its own (`ATELIER_SHOPIFY_API_ORIGIN`) that signs with the same app secret.
 */
export async function startShopifyTestApp(
  options: {
    fake?: Partial<FakeShopifyOptions>;
    env?: Record<string, string>;
    server?: TestServerOptions;
    /** The embedded admin loads the fake's App Bridge stand-in (for a browser on `shopify.adminUrl`), not Shopify's CDN. */
    fakeAppBridge?: boolean;
  } = {},
): Promise<ShopifyTestApp> {
  const shopify = await new FakeShopify({
    apiKey: TEST_SHOPIFY_API_KEY,
    apiSecret: TEST_SHOPIFY_API_SECRET,
    scopes: TEST_SHOPIFY_SCOPES,
    ...options.fake,
  }).start();
  const env = {
    SHOPIFY_API_KEY: TEST_SHOPIFY_API_KEY,
    SHOPIFY_API_SECRET: TEST_SHOPIFY_API_SECRET,
    SHOPIFY_SCOPES: TEST_SHOPIFY_SCOPES.join(','),
    ATELIER_SHOPIFY_TOKEN_KEY: TEST_SHOPIFY_TOKEN_KEY,
    ATELIER_SHOPIFY_API_ORIGIN: shopify.origin,
    ...(options.fakeAppBridge ? { SHOPIFY_APP_BRIDGE_URL: `${shopify.origin}/app-bridge.js` } : {}),
    ...options.env,
  };
  const server = await startTestServer(env, options.server);
  shopify.webhookUrl = `${server.url}/shopify/webhooks`;
  shopify.appUrl = `${server.url}/shopify`;
  const adminApi = async (shop: string, path: string, body?: unknown) => {
    const response = await fetch(`${app.server.url}/shopify/api/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        Authorization: `Bearer ${shopify.signer.sessionToken({ shop })}`,
        'Content-Type': 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status !== 200) throw new Error(`${path} for ${shop}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  };
  const app: ShopifyTestApp = {
    server,
    shopify,
    env,
    async install(shop, details) {
      shopify.addShop(shop, details);
      return (await adminApi(shop, 'shop')).tenantId as string;
    },
    async subscribe(shop, plan) {
      const { confirmationUrl } = (await adminApi(shop, 'billing/subscribe', { plan })) as { confirmationUrl: string };
      const approved = await fetch(await shopify.billing.approve(confirmationUrl), { redirect: 'manual' });
      if (approved.status !== 302) throw new Error(`approving ${shop}'s charge: ${approved.status}`);
      return vi.waitFor(async () => {
        const active = await app.server.shopify!.models.Subscription.findOne({ shop, status: 'ACTIVE' }).lean();
        if (!active) throw new Error(`${shop} has no ACTIVE subscription yet`);
        return active._id;
      });
    },
    async restart(whileDown) {
      const { mongodbUri, dataDir } = app.server;
      await app.server.close();
      await whileDown?.(mongodbUri);
      app.server = await startTestServer(env, { ...options.server, reuse: { mongodbUri, dataDir } });
      shopify.webhookUrl = `${app.server.url}/shopify/webhooks`;
      shopify.appUrl = `${app.server.url}/shopify`;
      return app.server;
    },
    async stop() {
      await app.server.stop();
      await shopify.stop();
    },
  };
  return app;
}

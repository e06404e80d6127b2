import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoStack, type DemoStack } from '@atelier/demo';
import {
  FakeShopify,
  TEST_SHOPIFY_API_KEY,
  TEST_SHOPIFY_API_SECRET,
  TEST_SHOPIFY_SCOPES,
  TEST_SHOPIFY_TOKEN_KEY,
} from '@atelier/testing';
import { startThemeHost, type ThemeHost } from './theme-host.js';

/** One shop's world for the Chromium specs: the fake Shopify, the shop's storefront and the app on real parts. */
export interface ShopifyStack {
  shopify: FakeShopify;
  /** The storefront, with an app proxy that signs as Shopify does. */
  host: ThemeHost;
  /** The real server (the Shopify app on, against the fake), runner and database. */
  stack: DemoStack;
  stop(): Promise<void>;
}

/**
 * Starts the fake Shopify with `shop` on it, whose primary domain is the theme host's
 * origin (so the shop's tenant allows the storefront), and the demo stack with the app's
 * settings pointing at the fake. The shop is not installed yet.
 */
export async function startShopifyStack(shop: string, name: string): Promise<ShopifyStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'atelier-shopify-'));
  const shopify = await new FakeShopify({
    apiKey: TEST_SHOPIFY_API_KEY,
    apiSecret: TEST_SHOPIFY_API_SECRET,
    scopes: TEST_SHOPIFY_SCOPES,
  }).start();
  let server = '';
  const host = await startThemeHost({
    appProxy: {
      get target() {
        return `${server}/shopify/proxy`;
      },
      shop,
      sign: (input) => shopify.signer.proxyQuery(input),
    },
  });
  shopify.addShop(shop, { name, primaryDomain: { url: host.origin, host: host.host } });
  const stack = await startDemoStack({
    dataDir,
    port: 0,
    storefrontPort: 0,
    engine: 'ferretdb',
    serverEnv: {
      SHOPIFY_API_KEY: TEST_SHOPIFY_API_KEY,
      SHOPIFY_API_SECRET: TEST_SHOPIFY_API_SECRET,
      SHOPIFY_SCOPES: TEST_SHOPIFY_SCOPES.join(','),
      ATELIER_SHOPIFY_TOKEN_KEY: TEST_SHOPIFY_TOKEN_KEY,
      ATELIER_SHOPIFY_API_ORIGIN: shopify.origin,
      SHOPIFY_APP_BRIDGE_URL: `${shopify.origin}/app-bridge.js`,
    },
  });
  server = stack.manifest.server;
  shopify.appUrl = `${server}/shopify`;
  return {
    shopify,
    host,
    stack,
    async stop() {
      await stack.stop();
      await host.close();
      await shopify.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

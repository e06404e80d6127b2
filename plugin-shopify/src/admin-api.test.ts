import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphqlQueryError } from '@shopify/shopify-api';
import { startShopifyTestApp, type ShopifyTestApp } from '@atelier/testing';
import { readShopInfo } from './shop-info.js';

let app: ShopifyTestApp;
const SHOP = 'graphql-test.myshopify.com';

beforeAll(async () => {
  app = await startShopifyTestApp({ fake: { bucketSize: 50, restoreRate: 1 } });
  app.shopify.addShop(SHOP, { name: 'Graph Goods', currencyCode: 'CAD' });
  const token = app.shopify.signer.sessionToken({ shop: SHOP });
  const response = await fetch(`${app.server.url}/shopify/api/shop`, { headers: { Authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`install: ${response.status}`);
});

afterAll(async () => {
  await app?.stop();
});

const offline = async () => (await app.server.shopify!.sessions.loadSession(`offline_${SHOP}`))!;

describe('the Admin GraphQL API through the library', () => {
  it('answers the shop query with its calculated cost and the bucket it leaves', async () => {
    const { shopify } = app.server.shopify!;
    const client = new shopify.clients.Graphql({ session: await offline() });
    const response = await client.request<{ shop: { name: string; currencyCode: string } }>(
      '{ shop { name currencyCode primaryDomain { url } } }',
    );
    expect(response.data?.shop).toEqual({ name: 'Graph Goods', currencyCode: 'CAD', primaryDomain: { url: `https://${SHOP}` } });
    expect(response.extensions).toMatchObject({
      cost: { requestedQueryCost: 2, actualQueryCost: 2, throttleStatus: { maximumAvailable: 50, restoreRate: 1 } },
    });
  });

  it('is throttled when the bucket is empty, as Shopify throttles', async () => {
    app.shopify.drainBucket(SHOP);
    const error = await readShopInfo(app.server.shopify!.shopify, await offline()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphqlQueryError);
    expect((error as GraphqlQueryError).body).toMatchObject({
      errors: { graphQLErrors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }] },
    });
  });

  it('refuses a token Shopify revoked', async () => {
    app.shopify.uninstall(SHOP);
    const error = await readShopInfo(app.server.shopify!.shopify, await offline()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(/401|Unauthorized|Invalid API key/i);
  });
});

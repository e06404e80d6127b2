import { describe, expect, it } from 'vitest';
import { ConfigError } from '@atelier/runtime';
import { loadShopifyConfig } from './config.js';

const VALID = {
  SHOPIFY_API_KEY: 'client-id-1234',
  SHOPIFY_API_SECRET: 'shpss_0123456789abcdef',
  SHOPIFY_SCOPES: 'read_products, write_products',
  ATELIER_SHOPIFY_TOKEN_KEY: 'ab'.repeat(32),
};

describe('loadShopifyConfig', () => {
  it('leaves the app off without SHOPIFY_API_KEY', () => {
    expect(loadShopifyConfig({})).toBeUndefined();
  });

  it('reads the app, its scopes and its token key (hex or base64)', () => {
    expect(loadShopifyConfig(VALID)).toMatchObject({
      apiKey: 'client-id-1234',
      scopes: ['read_products', 'write_products'],
      appUrl: undefined,
      apiOrigin: undefined,
    });
    const base64 = loadShopifyConfig({ ...VALID, ATELIER_SHOPIFY_TOKEN_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(base64?.tokenKey).toEqual(Buffer.alloc(32, 7));
    expect(loadShopifyConfig({ ...VALID, SHOPIFY_APP_URL: 'https://app.example/shopify/' })?.appUrl).toBe(
      'https://app.example/shopify',
    );
  });

  it.each([
    [{ SHOPIFY_API_SECRET: 'shpss_0123456789abcdef' }, 'SHOPIFY_API_KEY'],
    [{ ...VALID, SHOPIFY_API_SECRET: undefined }, 'SHOPIFY_API_SECRET'],
    [{ ...VALID, SHOPIFY_API_SECRET: 'short' }, 'SHOPIFY_API_SECRET'],
    [{ ...VALID, SHOPIFY_API_KEY: 'has spaces in it' }, 'SHOPIFY_API_KEY'],
    [{ ...VALID, SHOPIFY_SCOPES: undefined }, 'SHOPIFY_SCOPES'],
    [{ ...VALID, SHOPIFY_SCOPES: 'read_products,everything' }, 'SHOPIFY_SCOPES'],
    [{ ...VALID, ATELIER_SHOPIFY_TOKEN_KEY: undefined }, 'ATELIER_SHOPIFY_TOKEN_KEY'],
    [{ ...VALID, ATELIER_SHOPIFY_TOKEN_KEY: 'ab'.repeat(16) }, 'ATELIER_SHOPIFY_TOKEN_KEY'],
    [{ ...VALID, SHOPIFY_APP_URL: 'ftp://app.example' }, 'SHOPIFY_APP_URL'],
    [{ ...VALID, ATELIER_SHOPIFY_API_ORIGIN: 'not a url' }, 'ATELIER_SHOPIFY_API_ORIGIN'],
  ])('stops start-up naming the variable (%#)', (env, variable) => {
    expect(() => loadShopifyConfig(env)).toThrow(ConfigError);
    expect(() => loadShopifyConfig(env)).toThrow(new RegExp(`^${variable}: `));
  });
});

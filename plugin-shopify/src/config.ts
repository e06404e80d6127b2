import { ConfigError, httpUrl, optional, type Env } from '@atelier/runtime';

/** The app's Shopify side, from the environment; absent when `SHOPIFY_API_KEY` is unset. */
export interface ShopifyConfig {
  /** The app's client id (Partner dashboard / `shopify.app.toml`). */
  apiKey: string;
  /** Its client secret: signs session tokens, webhooks, app-proxy requests and OAuth callbacks. */
  apiSecret: string;
  /** Access scopes, comma-separated as Shopify writes them. */
  scopes: string[];
  /** Where Shopify reaches the app (its `application_url`); unset: `<PUBLIC_URL>/shopify`. */
  appUrl: string | undefined;
  /** 32 bytes: encrypts shops' access tokens at rest (AES-256-GCM). */
  tokenKey: Buffer;
  /**
   * Sends the calls meant for `https://<shop>` to this origin instead: a local fake of
   * Shopify in tests and development. Never set in production.
   */
  apiOrigin: string | undefined;
  /** The App Bridge script the embedded admin page loads (Shopify's CDN; a stand-in in tests). */
  appBridgeUrl: string;
}

/** Where Shopify serves App Bridge; the admin page must load it first, from there. */
export const APP_BRIDGE_URL = 'https://cdn.shopify.com/shopifycloud/app-bridge.js';

/**
 * Reads the Shopify app's variables (every one is in README.md's configuration table).
 * The app is off unless `SHOPIFY_API_KEY` is set; once it is, the secret and the token
 * key are required, so a half-configured app stops start-up instead of half working.
 */
export function loadShopifyConfig(env: Env): ShopifyConfig | undefined {
  const apiKey = optional(env, 'SHOPIFY_API_KEY');
  const apiSecret = optional(env, 'SHOPIFY_API_SECRET');
  const scopes = optional(env, 'SHOPIFY_SCOPES');
  const appUrl = httpUrl(env, 'SHOPIFY_APP_URL');
  const rawKey = optional(env, 'ATELIER_SHOPIFY_TOKEN_KEY');
  const apiOrigin = httpUrl(env, 'ATELIER_SHOPIFY_API_ORIGIN');
  const appBridgeUrl = httpUrl(env, 'SHOPIFY_APP_BRIDGE_URL') ?? APP_BRIDGE_URL;
  if (apiKey === undefined) {
    if (apiSecret !== undefined) throw new ConfigError('SHOPIFY_API_KEY', 'is required when SHOPIFY_API_SECRET is set');
    return undefined;
  }
  if (!/^[A-Za-z0-9_-]{8,128}$/.test(apiKey)) {
    throw new ConfigError('SHOPIFY_API_KEY', 'must be the app\'s client id (8-128 letters, digits, "-" or "_")');
  }
  if (apiSecret === undefined || apiSecret.length < 16) {
    throw new ConfigError('SHOPIFY_API_SECRET', "must be the app's client secret (16+ characters) when SHOPIFY_API_KEY is set");
  }
  if (rawKey === undefined) {
    throw new ConfigError(
      'ATELIER_SHOPIFY_TOKEN_KEY',
      'is required when SHOPIFY_API_KEY is set (32 bytes, base64 or 64 hex digits)',
    );
  }
  return {
    apiKey,
    apiSecret,
    scopes: parseScopes(scopes),
    appUrl,
    tokenKey: parseKey(rawKey),
    apiOrigin,
    appBridgeUrl,
  };
}

function parseScopes(raw: string | undefined): string[] {
  if (raw === undefined) throw new ConfigError('SHOPIFY_SCOPES', 'is required when SHOPIFY_API_KEY is set (e.g. read_products)');
  const scopes = raw.split(',').map((scope) => scope.trim());
  const bad = scopes.find((scope) => !/^(unauthenticated_)?(read|write)_[a-z_]+$/.test(scope));
  if (bad !== undefined) throw new ConfigError('SHOPIFY_SCOPES', `"${bad}" is not an access scope (read_… or write_…)`);
  return scopes;
}

function parseKey(raw: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) {
    throw new ConfigError('ATELIER_SHOPIFY_TOKEN_KEY', 'must be 32 bytes, written as base64 or as 64 hex digits');
  }
  return key;
}

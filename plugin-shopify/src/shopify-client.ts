import '@shopify/shopify-api/adapters/node';
import { ApiVersion, LogSeverity, shopifyApi, type Shopify } from '@shopify/shopify-api';
import { setAbstractFetchFunc } from '@shopify/shopify-api/runtime';
import { createLogger } from '@atelier/runtime';
import type { ShopifyConfig } from './config.js';
import { SHOP_DOMAIN_PATTERN } from './shop-domain.js';

const log = createLogger('shopify-api');

/** The Admin API version every call names (and the one `shopify.app.toml` subscribes webhooks with). */
export const SHOPIFY_API_VERSION = ApiVersion.October25;

/**
 * The one configured `shopifyApi()` instance. `appUrl` is where Shopify reaches the app;
 * everything the library logs goes to our logger.
 */
export function createShopifyClient(config: ShopifyConfig, appUrl: string): Shopify {
  const url = new URL(appUrl);
  if (config.apiOrigin !== undefined) redirectShopCalls(config.apiOrigin);
  return shopifyApi({
    apiKey: config.apiKey,
    apiSecretKey: config.apiSecret,
    scopes: config.scopes,
    hostName: url.host,
    hostScheme: url.protocol === 'http:' ? 'http' : 'https',
    apiVersion: SHOPIFY_API_VERSION,
    isEmbeddedApp: true,
    logger: {
      level: LogSeverity.Warning,
      log: (severity, message) => {
        if (severity <= LogSeverity.Error) log.error({ source: 'shopify-api' }, message);
        else log.warn({ source: 'shopify-api' }, message);
        return Promise.resolve();
      },
    },
  });
}

/**
 * The library reaches a shop at `https://<shop>/…` and nothing in its configuration
 * changes that host (custom shop domains and domain transformations still end in
 * `https://`), so a local fake of Shopify is reached through the library's own runtime
 * seam: its fetch function. Calls to a shop domain go to `origin` with the same path
 * and query; `X-Forwarded-Host` names the shop, as a forwarding proxy in front of the
 * real Shopify would. Anything else is fetched as asked. The seam is process-wide (the
 * library keeps one fetch), so the last app configured with an origin decides it.
 */
function redirectShopCalls(origin: string): void {
  log.warn({ origin }, 'ATELIER_SHOPIFY_API_ORIGIN is set: calls meant for Shopify go to this origin');
  setAbstractFetchFunc(async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const target = new URL(input instanceof Request ? input.url : input.toString());
    if (target.protocol !== 'https:' || !SHOP_DOMAIN_PATTERN.test(target.hostname)) return fetch(input, init);
    const headers = new Headers(init?.headers);
    headers.set('X-Forwarded-Host', target.host);
    return fetch(new URL(`${target.pathname}${target.search}`, origin), { ...init, headers });
  });
}
